import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cardText, TestConnector } from '../support/connector';
import { actionData, activity, cardOf, invoke, type User } from '../support/journey';
import { processHarness, startBotProcess, startSimulatorProcess, type BotProcess, type SimulatorProcess } from '../support/processes';

/**
 * Issue #12.6: diagnoses are jobs like fixes. A bot process killed (SIGKILL) while the diagnostic
 * Run Command runs, started again on the same data: the requester is told the diagnosis was
 * interrupted, the incident is no longer "diagnosing", and "Try again" runs it once more.
 */
const user: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000f1', name: 'Alex User', conversationId: 'a:diag-crash' };

let sim: SimulatorProcess;
let bot: BotProcess | undefined;
const connector = new TestConnector();
const dataDir = mkdtempSync(join(tmpdir(), 'rdp-diag-restart-'));

beforeAll(async () => {
  await connector.start();
  sim = await startSimulatorProcess({ latencyMs: 2500 });
});
afterAll(async () => {
  await bot?.stop();
  await sim?.stop();
  await connector.stop();
});

const env = () => ({ DATA_DIR: dataDir, AZURE_ARM_ENDPOINT: sim.endpoint, AZURE_ARM_CA_FILE: sim.caFile });
const diagnoses = async () => (await sim.operations()).filter((o) => o.vm === 'vm-certexpired-04' && o.scriptId === 'diagnose').length;

it('a diagnosis killed mid-run is reported interrupted after the restart and can be started again', async () => {
  bot = await startBotProcess(env());
  let h = processHarness(bot.port, connector);
  let mark = h.mark();
  await h.post(activity(h, user, { type: 'message', text: 'internal error on vm-certexpired-04' }));
  const consent = await connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === user.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
  expect((await h.post(activity(h, user, invoke('diagnose.start', { incidentId }, consent.activityId)))).status).toBe(200);
  await connector.waitFor(async () => ((await diagnoses()) === 1 ? true : undefined), 20000);
  await bot.kill();

  mark = connector.captured.length;
  bot = await startBotProcess(env());
  h = processHarness(bot.port, connector);
  const told = await connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === user.conversationId && /interrupted by a restart/.test(cardText(cardOf(c)))), 20000);
  expect(told.activityId).toBe(consent.activityId); // the live card, updated in place
  // "status" no longer shows it running
  const m2 = connector.captured.length;
  await h.post(activity(h, user, { type: 'message', text: 'status' }));
  const status = await connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === user.conversationId));
  expect(cardText(cardOf(status))).not.toMatch(/Diagnosing/i);
  await new Promise((r) => setTimeout(r, 3000));
  expect(await diagnoses()).toBe(1); // nothing re-ran by itself

  // "Try again" runs it, once
  const m3 = connector.captured.length;
  const retry = actionData(cardOf(told), 'diagnose.start');
  expect(retry.incidentId).toBe(incidentId);
  expect((await h.post(activity(h, user, invoke('diagnose.start', retry, consent.activityId)))).status).toBe(200);
  await connector.waitFor((all) => all.slice(m3).find((c) => c.kind === 'update' && c.activityId === consent.activityId && /fix\.request/.test(JSON.stringify(cardOf(c) ?? ''))), 30000);
  expect(await diagnoses()).toBe(2);

  // a second restart does not report it again
  const m4 = connector.captured.length;
  await bot.stop();
  bot = await startBotProcess(env());
  await new Promise((r) => setTimeout(r, 1000));
  expect(connector.captured.slice(m4).filter((c) => /interrupted/.test(cardText(cardOf(c)) + (c.activity.text ?? '')))).toEqual([]);
}, 120000);
