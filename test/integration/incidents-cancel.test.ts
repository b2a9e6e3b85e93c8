import { startHarness, type Harness } from '../support/bot-harness';
import { cardText, type Captured } from '../support/connector';
import { actionData, activity, cardOf, invoke, refusal, type User } from '../support/journey';

/**
 * `cancel` (issue #13.5) stops what is going on: a consent that was not given yet, a diagnosis
 * still before its Run Command, or a diagnosis whose Run Command is already inside the VM (it
 * cannot be recalled: said so, and its result is dropped). Old consent cards refuse afterwards.
 * What ran is read from the simulator's operation log once the background work has drained.
 * Run Commands take 3 s here, so a cancel sent after the log shows the Run Command lands during it.
 */
const en: User = { userId: '29:cancel-en', aadObjectId: '00000000-0000-0000-0000-0000000000c1', name: 'Alex User', conversationId: 'a:cancel-en' };
const ru: User = { userId: '29:cancel-ru', aadObjectId: '00000000-0000-0000-0000-0000000000c2', name: 'Иван Петров', conversationId: 'a:cancel-ru', locale: 'ru-RU' };

// several diagnoses per test on a shared 2-core machine (real scripts under pwsh when installed)
jest.setTimeout(180_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ SIM_RUN_COMMAND_LATENCY_MS: '3000' });
});
afterAll(async () => {
  await h.close();
});

const runCommands = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind === 'runCommand');
const textsTo = (u: User, mark: number) => h.since(mark).filter((c) => c.conversationId === u.conversationId && c.activity.text).map((c) => c.activity.text ?? '');

async function consentCard(u: User, text: string): Promise<{ consent: Captured; incidentId: string }> {
  const mark = h.mark();
  await h.post(activity(h, u, { type: 'message', text }));
  const consent = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === u.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
  return { consent, incidentId: actionData(cardOf(consent), 'diagnose.start').incidentId };
}

/** Everything the bot started in the background has ended (diagnoses, card updates). */
async function drained(): Promise<void> {
  expect(await h.app.jobs.drain(30000)).toBe(true);
}

/** The live card's latest content. */
const latest = (activityId: string) => [...h.connector.captured].reverse().find((c) => c.activityId === activityId && c.kind === 'update');

describe.each([
  ['en', en, 'cancel', 'vm-certexpired-04', /cannot be recalled/, /^Cancelled/, /Nothing was run on vm-tlsoff-06/, /There is nothing to cancel/],
  ['ru', ru, 'отмена', 'vm-machinekeys-05', /нельзя отозвать/, /^Отменено/, /На vm-exposed-02 ничего не запускалось/, /Отменять нечего/],
] as const)('cancel in %s', (lang, user, word, vm, recalled, cancelledTitle, nothingRan, nothing) => {
  // written in the user's language: the bot answers in the language of the text (issue #13.15)
  const ask = lang === 'ru' ? 'внутренняя ошибка на' : 'internal error on';
  it('during the Run Command: says it cannot be recalled, drops the result, the old consent card refuses', async () => {
    const before = runCommands(vm).length;
    const { consent, incidentId } = await consentCard(user, `${ask} ${vm}`);
    const started = await h.post(activity(h, user, invoke('diagnose.start', { incidentId }, consent.activityId)));
    expect(started.status).toBe(200);
    await h.connector.waitFor(() => runCommands(vm).length > before);
    const mark = h.mark();
    await h.post(activity(h, user, { type: 'message', text: word }));
    await drained();

    expect(textsTo(user, mark)[0]).toMatch(recalled);
    expect(textsTo(user, mark).join('\n')).not.toMatch(/is ready|готова/);
    expect(cardText(cardOf(latest(consent.activityId)!))).toMatch(cancelledTitle);
    expect(cardText(cardOf(latest(consent.activityId)!))).toMatch(recalled);
    expect(h.since(mark).some((c) => /fix\.request|findings/.test(JSON.stringify(cardOf(c) ?? '')))).toBe(false);
    expect(await h.app.store.incidents.get(incidentId)).toMatchObject({ state: 'cancelled' });
    const actions = (await h.app.store.audit.list({ incidentId })).map((a) => a.action);
    expect(actions).toEqual(['incident.opened', 'diagnosis.started', 'incident.cancelled', 'diagnosis.discarded']);

    // the consent card from before the cancel starts nothing
    const again = await h.post(activity(h, user, invoke('diagnose.start', { incidentId }, consent.activityId)));
    expect(cardText((again.body as { value: unknown }).value)).toMatch(cancelledTitle);
    await drained();
    expect(runCommands(vm).length).toBe(before + 1);
    expect((await h.app.store.incidents.get(incidentId))?.state).toBe('cancelled');
  });

  it('before consent: nothing runs, the consent card refuses; a second cancel has nothing to stop', async () => {
    const other = user === en ? 'vm-tlsoff-06' : 'vm-exposed-02';
    const before = runCommands(other).length;
    const { consent, incidentId } = await consentCard(user, `${ask} ${other}`);
    const mark = h.mark();
    await h.post(activity(h, user, { type: 'message', text: word }));
    await drained();
    expect(textsTo(user, mark)[0]).toMatch(user === en ? /Cancelled: the diagnosis of vm-tlsoff-06\. Nothing was run/ : /Отменено: диагностика vm-exposed-02/);
    expect(cardText(cardOf(latest(consent.activityId)!))).toMatch(nothingRan);

    const click = await h.post(activity(h, user, invoke('diagnose.start', { incidentId }, consent.activityId)));
    expect(cardText((click.body as { value: unknown }).value)).toMatch(nothingRan);
    const m2 = h.mark();
    await h.post(activity(h, user, { type: 'message', text: word }));
    await h.connector.waitFor(() => textsTo(user, m2).length > 0);
    expect(textsTo(user, m2)[0]).toMatch(nothing);
    await drained();
    expect(runCommands(other).length).toBe(before);
  });
});

describe('the consent card\'s Cancel button (incident.cancel)', () => {
  it('cancels, and the card\'s Check button then refuses; nothing runs', async () => {
    const before = runCommands('vm-portclash-03').length;
    const { consent, incidentId } = await consentCard(en, 'internal error on vm-portclash-03');
    const r = await h.post(activity(h, en, invoke('incident.cancel', { incidentId }, consent.activityId)));
    expect(cardText((r.body as { value: unknown }).value)).toMatch(/Cancelled[\s\S]*Nothing was run on vm-portclash-03/);
    const twice = await h.post(activity(h, en, invoke('incident.cancel', { incidentId }, consent.activityId)));
    expect(cardText((twice.body as { value: unknown }).value)).toMatch(/Cancelled/);
    const start = await h.post(activity(h, en, invoke('diagnose.start', { incidentId }, consent.activityId)));
    expect(cardText((start.body as { value: unknown }).value)).toMatch(/Nothing was run on vm-portclash-03/);
    await drained();
    expect(runCommands('vm-portclash-03').length).toBe(before);
    expect((await h.app.store.audit.list({ incidentId })).filter((a) => a.action === 'incident.cancelled')).toHaveLength(1);
  });

  it('is refused for anyone but the requester', async () => {
    const { incidentId } = await consentCard(en, 'internal error on vm-healthy-01');
    const r = await h.post(activity(h, ru, invoke('incident.cancel', { incidentId })));
    expect(refusal(r)).toMatch(/только|only/);
    expect((await h.app.store.incidents.get(incidentId))?.state).toBe('awaiting-consent');
  });
});

describe('a fix request of a cancelled incident', () => {
  it('is withdrawn: its card says so, an approval click changes nothing, nothing runs', async () => {
    const vm = 'vm-exposed-02';
    const { consent, incidentId } = await consentCard(en, `internal error on ${vm}`);
    await h.post(activity(h, en, invoke('diagnose.start', { incidentId }, consent.activityId)));
    await h.connector.waitFor(async () => (await h.app.store.incidents.get(incidentId))?.state === 'diagnosed');
    const req = await h.post(activity(h, en, invoke('fix.request', { incidentId, fixId: 'restrict-rdp-source', source: '198.51.100.0/24' })));
    expect(req.status).toBe(200);
    const [pending] = await h.app.store.approvals.listByIncident(incidentId);
    expect(pending.state).toBe('pending');
    // "Diagnose again" on the findings card, then cancel while its Run Command runs
    const before = runCommands(vm).length;
    await h.post(activity(h, en, invoke('diagnose.start', { incidentId }, consent.activityId)));
    await h.connector.waitFor(() => runCommands(vm).length > before);
    const mark = h.mark();
    await h.post(activity(h, en, { type: 'message', text: 'cancel' }));
    await drained();
    expect(textsTo(en, mark)[0]).toMatch(/cannot be recalled[\s\S]*Pending fix requests withdrawn: 1/);
    expect((await h.app.store.approvals.get(pending.id))?.state).toBe('withdrawn');
    const click = await h.post(activity(h, en, invoke('approval.approve', { approvalId: pending.id })));
    expect(cardText((click.body as { value: unknown }).value)).toMatch(/Withdrawn: the incident was cancelled/);
    await drained();
    expect(h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read' && o.scriptId !== 'diagnose')).toEqual([]);
    expect((await h.app.store.audit.list({ incidentId })).map((a) => a.action)).toEqual(expect.arrayContaining(['approval.withdrawn', 'incident.cancelled', 'diagnosis.discarded']));
  });
});
