import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestAdapter, TurnContext, type Activity, type ConversationReference } from 'botbuilder';
import { sweepCard, SWEEP_CARD_MAX_VMS } from '../../cards/sweep';
import type { CardJson } from '../../cards/render';
import { parseCommand } from '../../dialogs/commands';
import type { WaterfallStepContext } from 'botbuilder-dialogs';
import { registerSweepVerbs, sweepCommands } from '../../dialogs/sweep-commands';
import { SweepPresenter } from '../../dialogs/sweep-presenter';
import { VerbRouter } from '../../dialogs/verbs';
import { APPROVALS_CHANNEL_KEY } from '../../dialogs/fix-presenter';
import { LANGS, translator } from '../../services/i18n';
import type { ApprovalService } from '../../services/incidents/approvals';
import type { DiagnosisObserver, IncidentService } from '../../services/incidents/incident-service';
import { silentLogger } from '../../services/log';
import { FINDING_IDS, SEVERITY } from '../../services/runbook/findings';
import { SqliteStore } from '../../services/store/sqlite';
import type { SweepDigest, SweepRequest, Sweeps, SweepVmResult } from '../../services/sweeps/types';
import { cardLint } from '../support/card-lint';
import { cardProblems } from '../support/card-validation';
import { activity } from '../support/card-catalogue';
import { cardText } from '../support/connector';
import { actionData } from '../support/journey';
import { TEAMS_MAX_ACTIVITY_BYTES, utf16Bytes } from '../support/teams-limits';

/**
 * The digest card of a fleet sweep (issue #16 item 2), its commands' strict parsing, the
 * presenter that keeps the card current, and "Request fix" refusing data it did not put there.
 * The sweep service is a small in-memory double here; test/integration/sweep-chat.test.ts runs
 * the real one against the simulator.
 */
const SUB = '00000000-0000-0000-0000-000000000001';
const vmId = (name: string, rg = 'rg-demo') => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;
const vm = (name: string, findings: string[], extra: Partial<SweepVmResult> = {}): SweepVmResult => {
  const worst = findings.map((f) => SEVERITY[f as keyof typeof SEVERITY]).sort((a, b) => ['blocker', 'critical', 'warning', 'info'].indexOf(a) - ['blocker', 'critical', 'warning', 'info'].indexOf(b))[0] ?? null;
  return { vmId: vmId(name), vmName: name, resourceGroup: 'rg-demo', subscriptionId: SUB, findings, worst, ...extra };
};
const countsOf = (vms: SweepVmResult[]) => {
  const c: Record<string, number> = {};
  for (const v of vms) for (const f of v.findings) c[f] = (c[f] ?? 0) + 1;
  return c;
};
const SWEEP_ID = '5b7e3a52-8c1d-4f0e-9a3b-2d6c4e8f1a01';
const digestOf = (vms: SweepVmResult[], extra: Partial<SweepDigest> = {}): SweepDigest => ({
  id: SWEEP_ID,
  kind: 'fast',
  state: 'done',
  scope: {},
  startedAt: '2026-12-01T02:00:00.000Z',
  endedAt: '2026-12-01T02:00:42.000Z',
  startedBy: '00000000-0000-4000-8000-0000000000a1',
  total: 20,
  done: 20,
  counts: countsOf(vms),
  vms,
  armCalls: 57,
  runCommands: 0,
  ...extra,
});
const NOW = new Date('2026-12-01T02:01:00.000Z');
// listed best first, to see the card put the worst first
const MIXED = [
  vm('vm-warn', ['nla-disabled']),
  vm('vm-clean', []),
  vm('vm-crit', ['rdp-exposed-to-internet', 'brute-force-suspected']),
  vm('vm-block', ['vm-not-running']),
  vm('vm-crit-1', ['tls-disabled']),
];

/** The VM names in the order the card lists them (each VM's name is a bold TextBlock before its Request fix). */
const listedVms = (card: CardJson) => [...JSON.stringify(card).matchAll(/"vmId":"[^"]*\/virtualMachines\/([^"]+)"/g)].map((m) => m[1]).filter((_, i) => i % 2 === 0);

describe.each(LANGS)('the sweep digest card (%s)', (lang) => {
  const t = translator(lang);
  const render = (d: SweepDigest, maxVms?: number) => sweepCard(t, { digest: d, now: NOW, startedByName: 'Helpdesk Hana', maxVms });

  it('validates, has nothing a phone would cut, and takes the full width', () => {
    const card = render(digestOf(MIXED));
    expect(cardProblems(card)).toEqual([]);
    expect(cardLint(card)).toEqual([]);
    expect(card.msteams).toEqual({ width: 'Full' });
  });

  it('counts the VMs per finding, by the catalogue titles, the most severe first', () => {
    const text = cardText(render(digestOf(MIXED)));
    const line = (id: string) => `${t(`severity.${SEVERITY[id as keyof typeof SEVERITY]}`)}: ${t(`findings.${id}.title`)}`;
    for (const id of ['vm-not-running', 'rdp-exposed-to-internet', 'brute-force-suspected', 'tls-disabled', 'nla-disabled']) expect(text).toContain(line(id));
    // blocker, then critical, then warning
    const at = (id: string) => text.indexOf(line(id));
    expect(at('vm-not-running')).toBeLessThan(at('tls-disabled'));
    expect(at('tls-disabled')).toBeLessThan(at('nla-disabled'));
    // the count stands beside its title (one fact per finding)
    const twice = render(digestOf([...MIXED, vm('vm-warn-2', ['nla-disabled'])]));
    expect(text).toContain(`1: ${line('nla-disabled')}`);
    expect(cardText(twice)).toContain(`2: ${line('nla-disabled')}`);
  });

  it('lists the worst VMs first, each with Request fix carrying the sweep and the VM', () => {
    const card = render(digestOf(MIXED));
    expect(listedVms(card)).toEqual(['vm-block', 'vm-crit', 'vm-crit-1', 'vm-warn']);
    expect(actionData(card, 'sweep.fix')).toEqual({ sweepId: SWEEP_ID, vmId: vmId('vm-block') });
    expect(cardText(card)).toContain(`[${t('sweepUi.requestFix')}]`);
    // a clean VM is not offered a fix
    expect(JSON.stringify(card)).not.toContain('vm-clean');
  });

  it(`lists at most ${SWEEP_CARD_MAX_VMS} VMs and counts the rest`, () => {
    const many = Array.from({ length: 25 }, (_, i) => vm(`vm-${String(i).padStart(2, '0')}`, ['rdp-exposed-to-internet']));
    const card = render(digestOf(many));
    expect(listedVms(card)).toHaveLength(SWEEP_CARD_MAX_VMS);
    expect(cardText(card)).toContain(t('sweepUi.more', { count: 15 }).slice(0, 20));
    expect(cardText(card)).toMatch(lang === 'en' ? /and 15 more VMs with findings/ : /ещё 15 ВМ с находками/);
    // the service may keep only the worst VMs: `affected` counts them all
    expect(cardText(render(digestOf(many, { affected: 40 })))).toMatch(lang === 'en' ? /and 30 more VMs/ : /ещё 30 ВМ/);
    expect(cardText(render(digestOf(MIXED)))).not.toMatch(lang === 'en' ? /more VM/ : /ещё/);
  });

  it('shows progress while running: done of total, then the time left at the rate so far', () => {
    const running = (done: number, total: number, startedAt: string) => cardText(render(digestOf([], { state: 'running', done, total, startedAt, endedAt: undefined, counts: {} })));
    // the VM pages not read yet: no "0 of 0"
    expect(running(0, 0, '2026-12-01T02:00:50.000Z')).toContain(t('sweepUi.state.listing'));
    expect(running(0, 0, '2026-12-01T02:00:50.000Z')).not.toContain(t('sweepUi.eta.unknown'));
    expect(running(0, 20, '2026-12-01T02:00:50.000Z')).toContain(t('sweepUi.state.running', { done: 0, total: 20 }));
    expect(running(0, 20, '2026-12-01T02:00:50.000Z')).toContain(t('sweepUi.eta.unknown'));
    // 10 of 20 in 30 s: 30 s to go
    expect(running(10, 20, '2026-12-01T02:00:30.000Z')).toContain(t('sweepUi.eta.underMinute'));
    // 1 of 100 in a minute: 99 minutes to go
    expect(running(1, 100, '2026-12-01T02:00:00.000Z')).toContain(t('sweepUi.eta.minutes', { count: 99 }));
    // the service's own estimate of the end wins when it gives one
    const withEta = digestOf([], { state: 'running', done: 1, total: 100, startedAt: '2026-12-01T02:00:00.000Z', endedAt: undefined, counts: {} });
    expect(cardText(render({ ...withEta, eta: '2026-12-01T02:05:30.000Z' } as SweepDigest))).toContain(t('sweepUi.eta.minutes', { count: 5 }));
    // no ETA and no "clean" verdict once it is over
    const done = cardText(render(digestOf([], { counts: {} })));
    expect(done).not.toContain(t('sweepUi.eta.unknown'));
    expect(done).toContain(t('sweepUi.clean'));
    expect(done).toContain(t('sweepUi.state.done', { total: 20, seconds: 42 }));
  });

  it('has the footer with ARM calls and Run Commands, and who started it', () => {
    const text = cardText(render(digestOf(MIXED, { kind: 'deep', armCalls: 123, runCommands: 17 })));
    expect(text).toMatch(lang === 'en' ? /123 Azure calls, 17 Run Commands\. Started .* by Helpdesk Hana\./ : /123 обращения к Azure, 17 вызовов Run Command\. Запущена .*, кто запустил: Helpdesk Hana\./);
    expect(text).toContain(t('sweepUi.title.deep'));
    expect(cardText(sweepCard(t, { digest: digestOf(MIXED, { startedBy: 'schedule' }), now: NOW }))).toContain(t('sweepUi.bySchedule'));
  });

  it('says which VMs it did not check, and why', () => {
    const text = cardText(render(digestOf([...MIXED, vm('vm-busy', [], { skipped: 'busy' }), vm('vm-b2', [], { skipped: 'busy' }), vm('vm-e', [], { skipped: 'error:throttled' })])));
    expect(text).toMatch(lang === 'en' ? /3 VMs were not checked: busy with another Run Command \(2\), an error \(1\)\./ : /Не проверены 3 ВМ: занята другим Run Command \(2\), ошибка \(1\)\./);
  });

  it('takes the service\'s counts of VMs not checked when it gives them (its VM list is bounded)', () => {
    const text = cardText(render({ ...digestOf(MIXED), skipped: { 'not-running': 4, 'checked-recently': 1000 } } as SweepDigest));
    expect(text).toMatch(lang === 'en' ? /1,?004 VMs were not checked: not running \(4\), already checked in the last 24 hours \(1,?000\)\./ : /Не проверены 1\s?004 ВМ: не запущена \(4\), уже проверялась за последние 24 часа \(1\s?000\)\./);
  });

  it('escapes names from Azure: a resource group cannot make a link', () => {
    const text = JSON.stringify(render(digestOf([vm('vm-x', ['tls-disabled'], { resourceGroup: '[click](https://evil.example)' })])));
    expect(text).toContain('\\\\[click\\\\]');
  });

  it(`stays under Teams' ${TEAMS_MAX_ACTIVITY_BYTES} bytes at its worst: the longest names, every finding on every VM`, () => {
    const long = (i: number) => `vm-${String(i).padStart(61, 'x')}`;
    const all = Array.from({ length: 500 }, (_, i) => ({
      ...vm(long(i), [...FINDING_IDS]),
      vmId: vmId(long(i), 'rg'.repeat(45)),
      resourceGroup: 'rg'.repeat(45),
    }));
    const card = render(digestOf(all, { total: 10000, done: 10000, armCalls: 123456, runCommands: 9999, affected: 10000, scope: { subscriptionIds: [SUB], resourceGroup: 'rg'.repeat(45) } }));
    expect(utf16Bytes(activity(card))).toBeLessThan(TEAMS_MAX_ACTIVITY_BYTES);
    expect(listedVms(card).length).toBeGreaterThanOrEqual(5);
    process.stdout.write(`sweep card at its worst (${lang}): ${utf16Bytes(activity(card))} bytes, ${listedVms(card).length} VMs listed\n`);
    expect(cardProblems(card)).toEqual([]);
  });
});

describe('sweep commands are parsed strictly, in English and Russian', () => {
  it.each([
    ['sweep', { kind: 'sweep', deep: false, scope: {} }],
    ['Sweep deep', { kind: 'sweep', deep: true, scope: {} }],
    ['проверка парка', { kind: 'sweep', deep: false, scope: {} }],
    ['Проверка  парка глубокая', { kind: 'sweep', deep: true, scope: {} }],
    [`sweep subscription ${SUB.toUpperCase()}`, { kind: 'sweep', deep: false, scope: { subscriptionIds: [SUB] } }],
    ['sweep deep resource group RG-Prod_01(eu)', { kind: 'sweep', deep: true, scope: { resourceGroup: 'RG-Prod_01(eu)' } }],
    [`проверка парка подписка ${SUB} группа ресурсов rg-демо`, { kind: 'sweep', deep: false, scope: { subscriptionIds: [SUB], resourceGroup: 'rg-демо' } }],
    ['sweeps', { kind: 'sweeps' }],
    ['Проверки', { kind: 'sweeps' }],
  ])('%p', (text, want) => {
    expect(parseCommand(text)).toEqual(want);
  });

  it.each([
    ['sweep everything', 'unknownWord', { word: 'everything' }],
    ['sweep subscription', 'missingValue', { word: 'subscription' }],
    ['sweep subscription 1234', 'subscriptionId', { value: '1234' }],
    ['проверка парка подписка abc', 'subscriptionId', { value: 'abc' }],
    ['sweep resource group', 'missingValue', { word: 'resource group' }],
    ['sweep resource group rg;drop', 'resourceGroup', { value: 'rg;drop' }],
    ['sweep resource group rg-a resource group rg-b', 'twice', { word: 'resource group' }],
    ['sweep deep deep', 'twice', { word: 'deep' }],
    ['sweep vm-tlsoff-06', 'unknownWord', { word: 'vm-tlsoff-06' }],
  ])('%p is refused: %s', (text, key, params) => {
    expect(parseCommand(text)).toMatchObject({ kind: 'sweep', error: { key, params } });
  });

  it('is not taken from free text or from other commands', () => {
    expect(parseCommand('sweeping the floor')).toBeNull();
    expect(parseCommand('проверить vm-tlsoff-06')).toEqual({ kind: 'diagnose', vm: 'vm-tlsoff-06' });
    expect(parseCommand('проверка не работает')).toBeNull();
  });
});

/** A small in-memory Sweeps: what the service would report is pushed by the test. */
class SweepsDouble implements Sweeps {
  readonly digests = new Map<string, SweepDigest>();
  readonly started: SweepRequest[] = [];
  async start(request: SweepRequest): Promise<SweepDigest> {
    this.started.push(request);
    const d = digestOf([], { state: 'running', done: 0, total: 20, counts: {}, endedAt: undefined, kind: request.kind, scope: request.scope, startedBy: request.startedBy });
    this.digests.set(d.id, d);
    return d;
  }
  async get(id: string): Promise<SweepDigest | null> {
    return this.digests.get(id) ?? null;
  }
  async list(limit: number): Promise<SweepDigest[]> {
    return [...this.digests.values()].slice(0, limit);
  }
}

const APPROVER = '00000000-0000-4000-8000-0000000000a1';
const approvals = { approverIds: () => [APPROVER], isApprover: (p: { aadObjectId?: string }) => p.aadObjectId === APPROVER } as unknown as ApprovalService;
const address = (id: string): Partial<ConversationReference> => ({ conversation: { id, isGroup: false, conversationType: 'personal', name: '' }, serviceUrl: 'http://127.0.0.1/' });

describe('the sweep presenter keeps each digest card current', () => {
  let dir: string;
  let store: SqliteStore;
  let sent: Array<{ conversationId: string; card: unknown }>;
  let updated: Array<{ activityId: string; card: unknown }>;
  let clock: number;
  const presenter = (minIntervalInMs = 60_000) =>
    new SweepPresenter({
      store,
      logger: silentLogger,
      approverIds: () => [APPROVER],
      minIntervalInMs,
      now: () => new Date(clock),
      notifier: {
        send: async (c, a: Partial<Activity>) => {
          sent.push({ conversationId: String((c as Partial<ConversationReference>).conversation?.id), card: a.attachments?.[0]?.content });
          return `act-${sent.length}`;
        },
        update: async (_c, activityId, a: Partial<Activity>) => {
          updated.push({ activityId, card: a.attachments?.[0]?.content });
          return 'updated' as const;
        },
      },
    });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-sweep-card-'));
    store = SqliteStore.open(dir);
    sent = [];
    updated = [];
    clock = NOW.getTime();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const running = (done: number) => digestOf([], { state: 'running', done, counts: {}, endedAt: undefined });

  it('updates a placed card in place, at most once per interval while running, and the end at once', async () => {
    const p = presenter();
    await p.place(SWEEP_ID, { conversation: address('a:hana'), activityId: 'act-card', lang: 'en' }, 'Hana');
    await p.progress(running(3));
    await p.progress(running(7)); // within the interval: held back
    await p.finished(digestOf(MIXED));
    expect(updated.map((u) => u.activityId)).toEqual(['act-card', 'act-card']);
    expect(cardText(updated[0].card)).toContain('Checked 3 of 20 VMs');
    expect(cardText(updated[1].card)).toContain('Done: 20 VMs checked');
    expect(sent).toEqual([]);
  });

  it('lets progress through again once the interval is over', async () => {
    const p = presenter(4000);
    await p.place(SWEEP_ID, { conversation: address('a:hana'), activityId: 'act-card', lang: 'ru' });
    await p.progress(running(3));
    clock += 4000;
    await p.progress(running(9));
    expect(updated.map((u) => cardText(u.card).match(/Проверено \d+/)?.[0])).toEqual(['Проверено 3', 'Проверено 9']);
  });

  it('never takes a card back to an older state', async () => {
    const p = presenter(0);
    await p.place(SWEEP_ID, { conversation: address('a:hana'), activityId: 'act-card', lang: 'en' });
    await p.progress(running(9));
    await p.progress(running(4));
    await p.finished(digestOf(MIXED));
    await p.progress(running(15));
    await p.show(running(16));
    expect(updated.map((u) => cardText(u.card).match(/Checked \d+|Done/)?.[0])).toEqual(['Checked 9', 'Done']);
  });

  it('leaves a chat sweep whose card is not placed yet to its command (no second card)', async () => {
    const p = presenter(0);
    await p.progress(running(2));
    await p.finished(digestOf(MIXED));
    expect(sent).toEqual([]);
    expect(updated).toEqual([]);
  });

  it('posts a scheduled sweep to the approvals channel once, then updates that card', async () => {
    await store.settings.set(APPROVALS_CHANNEL_KEY, { ...address('19:helpdesk@thread.tacv2'), locale: 'ru-RU' });
    const p = presenter(0);
    const scheduled = (d: SweepDigest) => ({ ...d, startedBy: 'schedule' });
    await p.progress(scheduled(running(0)));
    await p.progress(scheduled(running(5)));
    await p.finished(scheduled(digestOf(MIXED)));
    expect(sent.map((s) => s.conversationId)).toEqual(['19:helpdesk@thread.tacv2']);
    expect(cardText(sent[0].card)).toContain('кто запустил: расписание');
    expect(updated.map((u) => u.activityId)).toEqual(['act-1', 'act-1']);
    expect(cardText(updated[1].card)).toContain('Готово');
    // a second presenter (another instance, a restart) finds the card: not posted again
    await presenter(0).finished(scheduled(digestOf(MIXED)));
    expect(sent).toHaveLength(1);
  });

  it('without an approvals channel, a scheduled sweep goes to the approvers\' personal chats', async () => {
    await store.users.upsert({ id: '29:hana', aadObjectId: APPROVER, name: 'Hana', personal: address('a:hana'), lang: 'en', updatedAt: NOW.toISOString() });
    await presenter(0).progress({ ...running(0), startedBy: 'schedule' });
    expect(sent.map((s) => s.conversationId)).toEqual(['a:hana']);
  });
});

describe('Request fix on a sweep card refuses data it did not put there', () => {
  let dir: string;
  let store: SqliteStore;
  const sweeps = new SweepsDouble();
  const opened: string[] = [];
  const incidents = {
    resolveVm: async (id: string) => [{ id, name: id.split('/').pop()!, resourceGroup: 'rg-demo', subscriptionId: SUB }],
    open: async () => {
      opened.push('incident');
      throw new Error('the test stops here');
    },
  } as unknown as IncidentService;
  let router: VerbRouter;
  beforeAll(() => {
    sweeps.digests.set(SWEEP_ID, digestOf(MIXED));
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-sweep-verb-'));
    store = SqliteStore.open(dir);
    opened.length = 0;
    router = new VerbRouter(silentLogger);
    const presenter = new SweepPresenter({ store, logger: silentLogger, approverIds: () => [APPROVER], notifier: { send: async () => 'x', update: async () => 'updated' } });
    registerSweepVerbs(router, { sweeps: () => sweeps, approvals, presenter, store, incidents, diagnosisObserver: {} as DiagnosisObserver });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const click = async (data: Record<string, unknown>, aadObjectId = APPROVER) => {
    const context = new TurnContext(new TestAdapter(), {
      type: 'invoke',
      name: 'adaptiveCard/action',
      channelId: 'msteams',
      from: { id: '29:someone', name: 'Someone', aadObjectId },
      conversation: { id: 'a:someone', conversationType: 'personal' },
      locale: 'en-US',
      value: { action: { type: 'Action.Execute', verb: 'sweep.fix', data } },
    } as Partial<Activity>);
    return router.handleExecute(context, context.activity.value);
  };
  const message = (r: { type?: string; value?: unknown }) => String(r.value);

  it.each([
    ['a sweep id that is no id', { sweepId: 'x y', vmId: vmId('vm-block') }],
    ['a VM id that is not a VM resource id', { sweepId: SWEEP_ID, vmId: '/subscriptions/x/resourceGroups/y' }],
    ['a missing VM', { sweepId: SWEEP_ID }],
  ])('%s: a bad request, nothing opened', async (_what, data) => {
    const r = await click(data);
    expect(r.statusCode).toBe(400);
    expect(opened).toEqual([]);
  });

  it('a VM the sweep did not find anything on: refused, said why, nothing opened', async () => {
    for (const other of [vmId('vm-clean'), vmId('vm-elsewhere'), vmId('vm-block', 'rg-other')]) {
      const r = await click({ sweepId: SWEEP_ID, vmId: other });
      expect(r).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
      expect(message(r)).toMatch(/not among this sweep's findings/);
    }
    expect(opened).toEqual([]);
  });

  it('a sweep it does not know: refused', async () => {
    const r = await click({ sweepId: '11111111-2222-4333-8444-555555555555', vmId: vmId('vm-block') });
    expect(message(r)).toMatch(/no longer know this sweep/);
    expect(opened).toEqual([]);
  });

  it('a non-approver: refused before anything is looked up', async () => {
    const r = await click({ sweepId: SWEEP_ID, vmId: vmId('vm-block') }, '00000000-0000-4000-8000-0000000000d9');
    expect(message(r)).toMatch(/Only helpdesk approvers/);
    expect(opened).toEqual([]);
  });

  it('a VM the sweep listed (the id in any case): goes on to open the incident', async () => {
    await expect(click({ sweepId: SWEEP_ID, vmId: vmId('vm-block').toUpperCase() })).rejects.toThrow('the test stops here');
    expect(opened).toEqual(['incident']);
  });
});

describe('the sweep command starts a sweep only for an approver, in a personal chat or the approvals channel', () => {
  let dir: string;
  let store: SqliteStore;
  let sweeps: SweepsDouble;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-sweep-cmd-'));
    store = SqliteStore.open(dir);
    sweeps = new SweepsDouble();
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Types `text` as `aadObjectId` in a conversation; returns what the bot sent. */
  const type = async (text: string, aadObjectId = APPROVER, conversation: Record<string, unknown> = { id: 'a:hana', conversationType: 'personal' }) => {
    const presenter = new SweepPresenter({ store, logger: silentLogger, approverIds: () => [APPROVER], notifier: { send: async () => 'x', update: async () => 'updated' } });
    const commands = sweepCommands({ sweeps: () => sweeps, approvals, presenter, store });
    const context = new TurnContext(new TestAdapter(), {
      type: 'message', text, channelId: 'msteams', serviceUrl: 'http://127.0.0.1/', locale: 'en-US',
      from: { id: '29:hana', name: 'Hana', aadObjectId }, recipient: { id: '28:bot', name: 'RDP Doctor' }, conversation,
    } as unknown as Partial<Activity>);
    const out: Array<Partial<Activity>> = [];
    context.onSendActivities(async (_c, activities) => {
      out.push(...activities);
      return activities.map((_, i) => ({ id: `act-${out.length + i}` }));
    });
    const cmd = parseCommand(text)!;
    await commands[cmd.kind]!({ context } as unknown as WaterfallStepContext, cmd);
    return out;
  };

  it('an approver in a personal chat: started as them, and its card posted at once and kept current', async () => {
    const out = await type('sweep deep resource group rg-demo');
    expect(sweeps.started).toEqual([{ kind: 'deep', scope: { resourceGroup: 'rg-demo' }, startedBy: APPROVER, replyTo: 'a:hana' }]);
    expect(out).toHaveLength(1);
    expect(cardText(out[0].attachments?.[0]?.content)).toContain('Fleet sweep: deep');
    expect(await store.settings.get(`sweep.cards:${SWEEP_ID}`)).toMatchObject({ places: [{ activityId: 'act-1', lang: 'en' }], startedByName: 'Hana' });
  });

  it('a non-approver: refused politely, nothing started', async () => {
    const out = await type('sweep', '00000000-0000-4000-8000-0000000000d9');
    expect(out.map((a) => a.text)).toEqual([expect.stringMatching(/Only helpdesk approvers can start a fleet sweep/)]);
    expect(sweeps.started).toEqual([]);
  });

  it('a malformed command: said what is wrong and how to write it, nothing started', async () => {
    const out = await type('sweep subscription nope');
    expect(out.map((a) => a.text)).toEqual([expect.stringMatching(/"nope" is not a subscription id .* Write it like this: sweep \[deep\]/)]);
    expect(sweeps.started).toEqual([]);
  });

  it('a group chat or another channel: refused; the approvals channel: started', async () => {
    expect((await type('sweep', APPROVER, { id: '19:group@thread.v2', conversationType: 'groupChat' }))[0].text).toMatch(/approvals channel or in your personal chat/);
    expect((await type('sweep', APPROVER, { id: '19:other@thread.tacv2;messageid=1', conversationType: 'channel' }))[0].text).toMatch(/approvals channel/);
    expect(sweeps.started).toEqual([]);
    await store.settings.set(APPROVALS_CHANNEL_KEY, { conversation: { id: '19:helpdesk@thread.tacv2' } });
    await type('sweep', APPROVER, { id: '19:helpdesk@thread.tacv2;messageid=7', conversationType: 'channel' });
    expect(sweeps.started).toHaveLength(1);
  });

  it('sweeps lists them for an approver', async () => {
    await type('sweep');
    const out = await type('sweeps');
    expect(cardText(out[0].attachments?.[0]?.content)).toMatch(/The last fleet sweep[\s\S]*fast, the whole scope\. Checked 0 of 20 VMs; 0 VMs with findings\./);
  });
});
