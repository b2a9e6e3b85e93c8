import { parseCommand } from '../../dialogs/commands';
import { detectSymptom, extractVmQuery } from '../../dialogs/intake-text';

describe('symptom and VM from free text', () => {
  it.each([
    ["I can't RDP to vm-certexpired-04, internal error", 'internal-error', 'vm-certexpired-04'],
    ['An internal error has occurred when connecting to web01', 'internal-error', 'web01'],
    ['Не могу подключиться по RDP к vm-tlsoff-06: произошла внутренняя ошибка', 'internal-error', 'vm-tlsoff-06'],
    ['RDP hangs at Configuring remote session on app-srv-2', 'configuring-session', 'app-srv-2'],
    ['Зависает на «Настройка удалённого сеанса», машина db-7', 'configuring-session', 'db-7'],
    ["This computer can't connect to the remote computer", 'cannot-connect', null],
    ['hello', null, null],
    ['port 3389 on 10.0.0.4 is dead', null, null],
  ])('%p', (text, symptom, vm) => {
    expect(detectSymptom(text)).toBe(symptom);
    expect(extractVmQuery(text)).toBe(vm);
  });

  it('takes a full resource id as it is', () => {
    const id = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-web-01';
    expect(extractVmQuery(`please check ${id} thanks`)).toBe(id);
  });
});

describe('chat commands', () => {
  it.each([
    ['help', { kind: 'help' }],
    ['  HELP ', { kind: 'help' }],
    ['помощь', { kind: 'help' }],
    ['Отмена', { kind: 'cancel' }],
    ['status', { kind: 'status' }],
    ['статус', { kind: 'status' }],
    ['approvals', { kind: 'approvals' }],
    ['approvals here', { kind: 'approvalsHere' }],
    ['Согласования здесь', { kind: 'approvalsHere' }],
    ['history vm-web-01', { kind: 'history', vm: 'vm-web-01' }],
    ['история vm-web-01', { kind: 'history', vm: 'vm-web-01' }],
    ['diagnose VM-Web-01', { kind: 'diagnose', vm: 'VM-Web-01' }],
    ['help me with vm-web-01', null],
  ])('%p', (text, want) => {
    expect(parseCommand(text)).toEqual(want);
  });
});
