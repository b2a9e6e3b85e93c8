import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Harness } from '../support/bot-harness';
import { cardText, TestConnector } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';
import { startBotProcess, startSimulatorProcess, type BotProcess, type SimulatorProcess, processHarness } from '../support/processes';
import { sqliteRecords } from '../support/quiescence';

/**
 * A bot process killed (SIGKILL) in the middle of a fix and started again on the same data:
 * the job is reported as interrupted to the requester and the approvers, and nothing runs twice.
 * The simulator runs as its own process, so Azure's state outlives the bot, as it would.
 */
const endUser: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000a1', name: 'Alex User', conversationId: 'a:end-user' };
const approver: User = { userId: '29:approver', aadObjectId: '00000000-0000-0000-0000-0000000000a2', name: 'Helpdesk Hana', conversationId: 'a:approver' };

let sim: SimulatorProcess;
let bot: BotProcess;
const connector = new TestConnector();
const dataDir = mkdtempSync(join(tmpdir(), 'rdp-restart-'));

const harness = (port: number): Harness => processHarness(port, connector);

beforeAll(async () => {
  await connector.start();
  // Run Command takes 1.5 s here: long enough to kill the bot while the fix runs
  sim = await startSimulatorProcess({ latencyMs: 1500 });
});
afterAll(async () => {
  await bot?.stop();
  await sim?.stop();
  await connector.stop();
});

const env = () => ({ DATA_DIR: dataDir, AZURE_ARM_ENDPOINT: sim.endpoint, AZURE_ARM_CA_FILE: sim.caFile, APPROVER_IDS: approver.aadObjectId });

it('reports a job interrupted by a crash and never runs it again', async () => {
  bot = await startBotProcess(env());
  let h = harness(bot.port);
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-tlsoff-06');
  const mark = h.mark();
  await h.post(activity(h, endUser, invoke('fix.request', { incidentId, fixId: 'enable-tls' })));
  const copy = await connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
  const { approvalId } = actionData(cardOf(copy), 'approval.refresh');
  await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));

  // wait until the fix script has been sent to the VM, then kill the bot mid-job
  await connector.waitFor(async () => (await sim.operations()).some((o) => o.scriptId === 'fix-enable-tls'), 20000);
  await bot.kill();
  const before = await sim.operations();

  const m2 = connector.captured.length;
  bot = await startBotProcess(env());
  h = harness(bot.port);
  await connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === endUser.conversationId && /interrupted by a restart of RDP Doctor and was not run again/.test(c.activity.text ?? '')), 20000);
  await connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === approver.conversationId && /interrupted/.test(c.activity.text ?? '')), 20000);
  const card = await connector.waitFor((all) => all.slice(m2).find((c) => c.kind === 'update' && /interrupted by a restart/.test(cardText(cardOf(c)))));
  expect(cardText(cardOf(card))).toMatch(/✖/);

  // the restarted bot's recovery ran before it became ready; once no job of its store is queued
  // or running, nothing is left that could run the fix again
  const records = sqliteRecords(dataDir);
  await records.settled();
  expect(records.jobStates().map((j) => j.state)).toEqual(['interrupted']);
  expect(records.audit('job.interrupted')).toHaveLength(1);
  const after = await sim.operations();
  expect(after.filter((o) => o.scriptId === 'fix-enable-tls')).toHaveLength(1);
  expect(after.filter((o) => o.vm === 'vm-tlsoff-06' && o.kind === 'restart')).toHaveLength(before.filter((o) => o.vm === 'vm-tlsoff-06' && o.kind === 'restart').length);

  // a second start does not report it again
  const m3 = connector.captured.length;
  await bot.stop();
  bot = await startBotProcess(env());
  // recovery is done before /readyz answers: a second report would be a second audit entry by now
  await records.settled();
  expect(records.audit('job.interrupted')).toHaveLength(1);
  expect(records.jobStates().map((j) => j.state)).toEqual(['interrupted']);
  expect(connector.captured.slice(m3).filter((c) => /interrupted/.test(c.activity.text ?? ''))).toEqual([]);
}, 120000);
