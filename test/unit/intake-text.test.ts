import { parseCommand } from '../../dialogs/commands';
import fc from 'fast-check';
import { detectSymptom, extractVmQuery, SYMPTOMS, VM_PATTERNS } from '../../dialogs/intake-text';

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

describe('the intake patterns stay linear on long messages (issue #12.11)', () => {
  // An unbounded repetition of a class that does not stop at a space (\S*, .*, [..]*) rescans
  // the rest of the message from every start: 'внутренн' x 3,500 cost ~250 ms of CPU. Each
  // such repetition must be bounded; \s+ is fine (what follows it is never a space).
  const unbounded = /(\\S|(?<!\\)\.|\[[^\]]*\]|\\w|\\W|\\d|\\D)(\*|\+|\{\d+,\})/;
  it.each([...SYMPTOMS.map(([s, re]) => [s, re] as const), ...VM_PATTERNS.map((re, i) => [`vm pattern ${i}`, re] as const)])('%s has no unbounded repetition of a class', (_name, re) => {
    expect(re.source).not.toMatch(unbounded);
  });

  it('the check itself catches the old patterns', () => {
    expect(/внутренн\S*\s+ошибк/.source).toMatch(unbounded);
    expect(/\s+["'«]?([A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9])/.source).toMatch(unbounded);
  });

  it('still finds the symptom and the VM in a long message of any shape', () => {
    const stem = fc.constantFrom('внутренн', 'настройк', 'internal', 'to ', 'к ', 'a-', 'x', ' ', '-', 'удалённ');
    fc.assert(
      fc.property(fc.array(stem, { maxLength: 400 }), fc.constantFrom('яя', 'ей', 'ая'), (noise, ending) => {
        const text = `${noise.join('')} внутренн${ending} ошибка на vm-web-01`;
        expect(detectSymptom(text)).toBe('internal-error');
        expect(extractVmQuery(text)).not.toBeNull();
      }),
      { numRuns: 200 },
    );
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
