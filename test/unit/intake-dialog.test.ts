import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Activity } from 'botbuilder';
import { DialogTestClient } from 'botbuilder-testing';
import { IntakeDialog } from '../../dialogs/intake-dialog';
import { MainDialog } from '../../dialogs/main-dialog';
import type { AzureGateway, VmDetails, VmSummary } from '../../services/azure/gateway';
import { graphQueryForName } from '../../services/azure/graph-query';
import { DomainError } from '../../services/errors';
import { IncidentService } from '../../services/incidents/incident-service';
import { JobRunner } from '../../services/incidents/jobs';
import { silentLogger } from '../../services/log';
import { SqliteStore } from '../../services/store/sqlite';
import { cardText } from '../support/connector';

/**
 * Transcript tests of the intake flow with botbuilder-testing: (user says, bot answers) pairs,
 * against a small in-memory fleet. The full journey through HTTP and the simulator is in
 * test/integration/diagnosis-chat.test.ts.
 */
const sub = '00000000-0000-0000-0000-000000000001';
const vm = (name: string): VmSummary => ({
  id: `/subscriptions/${sub}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${name}`,
  name,
  resourceGroup: 'rg',
  subscriptionId: sub,
  location: 'westeurope',
});
const FLEET = [vm('web-01'), vm('web-02'), vm('db-01')];

const gateway: AzureGateway = {
  async findVms(q) {
    graphQueryForName(q); // what the SDK gateway does first: refuses text no VM name can match
    return FLEET.filter((v) => v.name.includes(q.toLowerCase()));
  },
  async getVm(id) {
    const v = FLEET.find((x) => x.id.toLowerCase() === id.toLowerCase());
    if (!v) throw new DomainError('out-of-scope', 'outside', { params: {} });
    return { ...v, osType: 'Windows', powerState: 'running', provisioningState: 'Succeeded', agentStatus: 'Ready', bootDiagnosticsEnabled: false } as VmDetails;
  },
  getEffectiveNsgRules: () => Promise.reject(new Error('not used')),
  runScript: () => Promise.reject(new Error('no Run Command in the intake')),
  startVm: () => Promise.reject(new Error('not used')),
  restartVm: () => Promise.reject(new Error('not used')),
  snapshotOsDisk: () => Promise.reject(new Error('not used')),
  upsertNsgRule: () => Promise.reject(new Error('not used')),
  getNsg: () => Promise.reject(new Error('not used')),
  deleteNsgRule: () => Promise.reject(new Error('not used')),
};

let dir: string;
let store: SqliteStore;
let client: DialogTestClient;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rdp-intake-'));
  store = SqliteStore.open(dir);
  const incidents = new IncidentService({ store, gateway, jobs: new JobRunner(silentLogger), logger: silentLogger });
  const main = new MainDialog({ demoMode: true, intake: new IntakeDialog(incidents, true, () => 'http://localhost:3978'), commands: {} });
  client = new DialogTestClient('msteams', main);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const say = async (text: string, locale = 'en-US') => {
  const activity = { type: 'message', text, locale, from: { id: '29:u', name: 'U' }, recipient: { id: 'bot' } } as Partial<Activity>;
  return (await client.sendActivity(activity)) as Partial<Activity>;
};
const shown = (a: Partial<Activity> | undefined) =>
  `${a?.text ?? ''}\n${(a?.attachments ?? []).map((x) => (x.contentType === 'application/vnd.microsoft.card.adaptive' ? cardText(x.content) : JSON.stringify(x.content))).join('\n')}`;

it('one message with symptom and VM goes straight to the consent card', async () => {
  expect(shown(await say("I can't RDP to db-01, internal error"))).toMatch(/Check db-01\?[\s\S]*\[Run the diagnosis\]/);
  expect((await store.incidents.listOpen()).map((i) => [i.vmName, i.state, i.symptom])).toEqual([['db-01', 'awaiting-consent', 'internal-error']]);
});

it('asks for the symptom, then the VM, then offers a choice of two', async () => {
  expect(shown(await say('RDP is broken'))).toMatch(/What do you see when you connect\?/);
  expect(shown(await say('Hangs at "Configuring remote session"'))).toMatch(/Which VM do you connect to\?/);
  expect(shown(await say('web'))).toMatch(/2 VMs match "web"[\s\S]*web-01[\s\S]*web-02/);
  expect((await store.incidents.listOpen())[0]).toMatchObject({ state: 'picking', symptom: 'configuring-session', candidates: [FLEET[0].id, FLEET[1].id] });
});

it('a full complaint as the answer to "What do you see?" is taken whole: the VM it names is not asked for again', async () => {
  expect(shown(await say('RDP is broken'))).toMatch(/What do you see when you connect\?/);
  expect(shown(await say("I can't RDP to db-01: An internal error has occurred"))).toMatch(/Check db-01\?[\s\S]*\[Run the diagnosis\]/);
  expect((await store.incidents.listOpen()).map((i) => [i.vmName, i.symptom])).toEqual([['db-01', 'internal-error']]);
});

it('in Russian, an answer to "What do you see?" that is no choice but names a VM goes on to the consent card', async () => {
  expect(shown(await say('не работает RDP', 'ru-RU'))).toMatch(/Что вы видите при подключении\?/);
  expect(shown(await say('db-01 не пускает', 'ru-RU'))).toMatch(/Проверить db-01\?/);
  expect((await store.incidents.listOpen()).map((i) => [i.vmName, i.symptom])).toEqual([['db-01', 'not-stated']]);
});

it('an answer that is neither a choice nor a VM still gets the choice again', async () => {
  await say('RDP is broken');
  expect(shown(await say('hello there'))).toMatch(/Please choose one of the options|choose/i);
  expect(await store.incidents.listOpen()).toEqual([]);
});

it('in Russian, says when nothing matches and asks again, three times at most', async () => {
  const turn = async (text: string) => {
    const replies = [shown(await say(text, 'ru-RU'))];
    for (let r = client.getNextReply(); r; r = client.getNextReply()) replies.push(shown(r as Partial<Activity>));
    return replies.join('\n');
  };
  expect(await turn('внутренняя ошибка на vm-net-99')).toMatch(/Среди доступных мне ВМ нет подходящих под «vm-net-99»[\s\S]*Какая это ВМ\?/);
  expect(await turn('nothing-1')).toMatch(/Какая это ВМ\?/);
  expect(await turn('nothing-2')).toMatch(/Мне так и не удалось найти ВМ/);
  expect(await store.incidents.listOpen()).toEqual([]);
});

it('cancel ends the intake at any point, and help keeps it waiting', async () => {
  await say('RDP is broken');
  expect(shown(await say('help'))).toMatch(/What I can do/);
  expect(shown(await say('cancel'))).toMatch(/Cancelled/);
  expect(shown(await say('cancel'))).toMatch(/nothing to cancel/);
});

it('a resource id outside the scope gets a clear answer', async () => {
  const text = `internal error on /subscriptions/${sub}/resourceGroups/other/providers/Microsoft.Compute/virtualMachines/x-1`;
  expect(shown(await say(text))).toMatch(/outside the subscriptions and resource groups I am allowed to manage/);
});

/** Every reply of one turn, as the user reads them. */
const turn = async (text: string, locale = 'en-US') => {
  const replies = [shown(await say(text, locale))];
  for (let r = client.getNextReply(); r; r = client.getNextReply()) replies.push(shown(r as Partial<Activity>));
  return replies.join('\n');
};

describe('input that cannot be a VM name gets what was wrong and what is accepted (issue #13, item 2)', () => {
  it('en: diagnose vm-нет-99', async () => {
    const reply = await turn('diagnose vm-нет-99');
    expect(reply).toMatch(/That input is not valid: "vm-нет-99" is not a VM name\. Azure VM names are 1 to 64 Latin letters, digits, hyphens/);
    expect(reply).toMatch(/Which VM is it\?/);
    expect(reply).not.toMatch(/:\s*$/m);
    expect(await store.incidents.listOpen()).toEqual([]);
  });

  it('ru: diagnose vm-нет-99', async () => {
    const reply = await turn('диагностика vm-нет-99', 'ru-RU');
    expect(reply).toMatch(/Недопустимые данные: «vm-нет-99» — не имя ВМ\. Имя ВМ в Azure — от 1 до 64 латинских букв, цифр, дефисов/);
    expect(reply).toMatch(/Какая это ВМ\?/);
    expect(reply).not.toMatch(/:\s*$/m);
  });

  it('en: a sentence as the answer to "Which VM?"', async () => {
    expect(await turn('internal error')).toMatch(/Which VM do you connect to\?/);
    const reply = await turn('the one in the accounting department');
    expect(reply).toMatch(/That input is not valid: I see no VM name in "the one in the accounting department"\. Azure VM names are/);
    expect(reply).toMatch(/Which VM is it\?/);
    // the flow goes on: a real name now gets its consent card
    expect(await turn('db-01')).toMatch(/Check db-01\?/);
  });

  it('ru: a sentence as the answer to "Which VM?"', async () => {
    expect(await turn('внутренняя ошибка', 'ru-RU')).toMatch(/К какой ВМ вы подключаетесь\?/);
    const reply = await turn('та, что в бухгалтерии', 'ru-RU');
    expect(reply).toMatch(/Недопустимые данные: в «та, что в бухгалтерии» нет имени ВМ\. Имя ВМ в Azure/);
    expect(reply).toMatch(/Какая это ВМ\?/);
  });
});

describe('the whole family, en and ru (issue #14 item 5)', () => {
  it.each([
    ['en-US', "I can't RDP to db-01", /Check db-01\?[\s\S]*Symptom: Can't connect over RDP/, 'generic'],
    ['ru-RU', 'Не могу подключиться по RDP к db-01', /Проверить db-01\?[\s\S]*Симптом: Не удаётся подключиться по RDP/, 'generic'],
    ['en-US', 'db-01 does not work', /Check db-01\?[\s\S]*Symptom: not stated/, 'not-stated'],
    ['ru-RU', 'Чёрный экран на db-01', /Проверить db-01\?[\s\S]*Симптом: Чёрный экран после подключения/, 'black-screen'],
  ])('%s: a first message naming the VM goes straight to consent: %p', async (locale, text, consent, symptom) => {
    const reply = shown(await say(text, locale));
    expect(reply).toMatch(consent);
    expect(reply).not.toMatch(/What do you see|Что вы видите/);
    expect((await store.incidents.listOpen()).map((i) => [i.vmName, i.state, i.symptom])).toEqual([['db-01', 'awaiting-consent', symptom]]);
  });

  it.each([
    ['en-US', 'An authentication error has occurred. The function requested is not supported. This could be due to CredSSP encryption oracle remediation.', /Which VM do you connect to\?/, 'credssp'],
    ['ru-RU', 'Произошла ошибка проверки подлинности. Указанная функция не поддерживается. Причиной ошибки может быть исправление шифрования CredSSP.', /К какой ВМ вы подключаетесь\?/, 'credssp'],
    ['en-US', 'Error code: 0x204 Extended error code: 0x0', /Which VM do you connect to\?/, 'cannot-connect'],
    ['ru-RU', 'Отказано в доступе', /К какой ВМ вы подключаетесь\?/, 'access-denied'],
  ])('%s: pasted error text without a VM gets the VM question, and the symptom is kept: %p', async (locale, text, question, symptom) => {
    const reply = shown(await say(text, locale));
    expect(reply).toMatch(question);
    expect(reply).not.toMatch(/What do you see|Что вы видите/);
    expect(shown(await say('db-01', locale))).toMatch(/db-01/);
    expect((await store.incidents.listOpen()).map((i) => [i.vmName, i.symptom])).toEqual([['db-01', symptom]]);
  });
});

describe('the symptom question is a card with short Action.Submit buttons (issue #13, item 4)', () => {
  const actionsOf = (a: Partial<Activity>) => {
    const card = a.attachments?.[0]?.content as { actions?: Array<{ type: string; title: string; data?: { intakeReply?: string } }> };
    return card?.actions ?? [];
  };

  it.each([
    ['en-US', 'RDP is broken', 'An internal error has occurred'],
    ['ru-RU', 'RDP не работает', 'Произошла внутренняя ошибка'],
  ])('%s: buttons post their label back, the full messages are in the body', async (locale, text, full) => {
    const prompt = await say(text, locale);
    expect(prompt.attachments?.[0]?.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(JSON.stringify(prompt)).not.toMatch(/imBack/i);
    const actions = actionsOf(prompt);
    expect(actions).toHaveLength(4);
    for (const a of actions) {
      expect(a.type).toBe('Action.Submit');
      expect(a.title.length).toBeLessThanOrEqual(20);
      expect(a.data?.intakeReply).toBe(a.title);
    }
    expect(shown(prompt)).toContain(full);
    // in a personal chat there is nothing to @mention
    expect(shown(prompt)).not.toMatch(/@RDP Doctor/);
    // a click sends the button's label as the reply (bot.ts puts intakeReply into the text)
    const next = await say(actions[1].data?.intakeReply ?? '', locale);
    expect(shown(next)).toMatch(locale === 'en-US' ? /Which VM do you connect to\?/ : /К какой ВМ вы подключаетесь\?/);
    expect(shown(await say('db-01', locale))).toMatch(/db-01/);
    expect((await store.incidents.listOpen())[0]).toMatchObject({ symptom: 'configuring-session' });
  });
});

describe('diagnose <vm> says nothing about the symptom (issue #13, item 14)', () => {
  it.each([
    ['en-US', 'diagnose db-01', /Symptom: not stated/, /Something else/],
    ['ru-RU', 'диагностика db-01', /Симптом: не указан/, /Другое/],
  ])('%s: the consent card shows the symptom as not stated', async (locale, text, want, not) => {
    const reply = shown(await say(text, locale));
    expect(reply).toMatch(want);
    expect(reply).not.toMatch(not);
    expect((await store.incidents.listOpen())[0]).toMatchObject({ vmName: 'db-01', symptom: 'not-stated' });
  });
});
