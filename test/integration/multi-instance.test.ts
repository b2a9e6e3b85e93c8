import { randomUUID } from 'node:crypto';
import { odata, TableClient } from '@azure/data-tables';
import type { Harness } from '../support/bot-harness';
import { startAzurite, type Azurite } from '../support/azurite';
import { cardText, TestConnector } from '../support/connector';
import { actionData, activity, cardOf, invoke, type User } from '../support/journey';
import { startBotProcess, startSimulatorProcess, type BotProcess, type SimulatorProcess, processHarness } from '../support/processes';
import { azureJobsSettled } from '../support/quiescence';

/**
 * Two bot processes behind one imagined load balancer, sharing one Azure Storage (Azurite) and
 * one simulated Azure: whichever instance gets a message or a click, the workflow holds. What
 * ran is counted with the simulator's operation log. Needs `npm run build` (dist/).
 */
const endUser: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000b1', name: 'Alex User', conversationId: 'a:mi-end-user' };
const approver: User = { userId: '29:approver', aadObjectId: '00000000-0000-0000-0000-0000000000b2', name: 'Helpdesk Hana', conversationId: 'a:mi-approver' };
const approver2: User = { userId: '29:approver-2', aadObjectId: '00000000-0000-0000-0000-0000000000b3', name: 'Helpdesk Ivan', conversationId: 'a:mi-approver-2' };

let azurite: Azurite;
let sim: SimulatorProcess;
let botA: BotProcess;
let botB: BotProcess;
let A: Harness;
let B: Harness;
const connector = new TestConnector();
const prefix = `mi${randomUUID().replace(/-/g, '').slice(0, 10)}`;

const harness = (port: number): Harness => processHarness(port, connector);

const env = () => ({
  STORAGE: 'azure',
  AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
  AZURE_STORAGE_PREFIX: prefix,
  AZURE_ARM_ENDPOINT: sim.endpoint,
  AZURE_ARM_CA_FILE: sim.caFile,
  APPROVER_IDS: `${approver.aadObjectId},${approver2.aadObjectId}`,
  // a short lease and sweep so that a killed instance's job is noticed within seconds
  JOB_LEASE_SECONDS: '4',
  SWEEP_INTERVAL_SECONDS: '1',
});

const scriptRuns = async (scriptId: string) => (await sim.operations()).filter((o) => o.scriptId === scriptId).length;

async function say(h: Harness, user: User, text: string) {
  const r = await h.post(activity(h, user, { type: 'message', text }));
  expect(r.status).toBe(200);
}

async function approvalCard(user: User, mark: number) {
  return connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === user.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))), 20000);
}

/** Reports `vm` to A, consents on B, and waits for the findings card. */
async function diagnosed(vm: string): Promise<string> {
  const mark = connector.captured.length;
  await say(A, endUser, `internal error on ${vm}`);
  const consent = await connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
  expect((await B.post(activity(B, endUser, invoke('diagnose.start', { incidentId }, consent.activityId)))).status).toBe(200);
  await connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'update' && c.activityId === consent.activityId && /fix\.request/.test(JSON.stringify(cardOf(c) ?? ''))), 30000);
  return incidentId;
}

beforeAll(async () => {
  await connector.start();
  azurite = await startAzurite();
  // Run Command takes 1.5 s: long enough to kill an instance while a fix runs
  sim = await startSimulatorProcess({ latencyMs: 1500 });
  [botA, botB] = await Promise.all([startBotProcess(env()), startBotProcess(env())]);
  A = harness(botA.port);
  B = harness(botB.port);
  // each approver has talked to a different instance once: both are known to both
  await say(A, approver, 'help');
  await say(B, approver2, 'help');
}, 240_000); // Azurite, the simulator and two bots: each may take 20 s to start on the loaded 2-core machine

afterAll(async () => {
  await Promise.all([botA?.stop(), botB?.stop()]);
  await sim?.stop();
  await azurite?.stop();
  await connector.stop();
});

it('a whole incident with every turn on the other instance finishes correctly', async () => {
  // the intake dialog asks for the symptom on A, for the VM on B and ends on A: its state is in Blob storage
  // (a first message naming the VM would go straight to consent: issue #14 item 5)
  const m0 = connector.captured.length;
  await say(A, endUser, 'RDP does not work');
  await connector.waitFor((all) => all.slice(m0).find((c) => c.conversationId === endUser.conversationId && /What do you see when you connect\?/.test(JSON.stringify(c.activity))));
  const mVm = connector.captured.length;
  await say(B, endUser, 'An internal error has occurred');
  await connector.waitFor((all) => all.slice(mVm).find((c) => c.conversationId === endUser.conversationId && /Which VM do you connect to\?/.test(c.activity.text ?? '')));
  const m1 = connector.captured.length;
  await say(A, endUser, 'vm-tlsoff-06');
  const consent = await connector.waitFor((all) => all.slice(m1).find((c) => c.conversationId === endUser.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
  expect(cardText(cardOf(consent))).toMatch(/Check vm-tlsoff-06\?/);
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');

  expect((await A.post(activity(A, endUser, invoke('diagnose.start', { incidentId }, consent.activityId)))).status).toBe(200);
  const findings = await connector.waitFor((all) => all.slice(m1).find((c) => c.kind === 'update' && c.activityId === consent.activityId && /fix\.request/.test(JSON.stringify(cardOf(c) ?? ''))), 30000);
  expect(cardText(cardOf(findings))).toMatch(/TLS 1.2 is disabled for servers/);

  const m2 = connector.captured.length;
  const request = await B.post(activity(B, endUser, invoke('fix.request', { incidentId, fixId: 'enable-tls' })));
  expect(request.status).toBe(200);
  expect(JSON.stringify(request.body)).toMatch(/sent your request to the helpdesk approvers/);
  // the approver who only ever talked to A gets the card, sent by B
  const card = await approvalCard(approver, m2);
  const { approvalId } = actionData(cardOf(card), 'approval.refresh');

  const m3 = connector.captured.length;
  expect((await A.post(activity(A, approver, invoke('approval.approve', { approvalId }, card.activityId)))).status).toBe(200);
  await connector.waitFor((all) => all.slice(m3).find((c) => c.conversationId === endUser.conversationId && /was approved by Helpdesk Hana/.test(c.activity.text ?? '')), 20000);
  await connector.waitFor((all) => all.slice(m3).find((c) => c.conversationId === endUser.conversationId && /has finished: the problem is gone/.test(c.activity.text ?? '')), 60000);
  expect(await scriptRuns('fix-enable-tls')).toBe(1);
}, 120000);

it('Approve sent 25 times to each instance at once runs the fix once', async () => {
  const incidentId = await diagnosed('vm-certexpired-04');
  const mark = connector.captured.length;
  expect((await A.post(activity(A, endUser, invoke('fix.request', { incidentId, fixId: 'renew-rdp-cert' })))).status).toBe(200);
  const { approvalId } = actionData(cardOf(await approvalCard(approver, mark)), 'approval.refresh');

  const m2 = connector.captured.length;
  const clicks = await Promise.all(
    Array.from({ length: 50 }, (_, i) => {
      const h = i % 2 ? A : B;
      return h.post(activity(h, i % 4 < 2 ? approver : approver2, invoke('approval.approve', { approvalId })));
    }),
  );
  expect(clicks.map((c) => c.status)).toEqual(Array.from({ length: 50 }, () => 200));
  await connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === endUser.conversationId && /has finished/.test(c.activity.text ?? '')), 60000);
  await azureJobsSettled(azurite.connectionString, prefix); // no job left queued or running, no message left to take
  expect(await scriptRuns('fix-renew-rdp-cert')).toBe(1);
  expect(connector.captured.slice(m2).filter((c) => c.conversationId === endUser.conversationId && /was approved by/.test(c.activity.text ?? ''))).toHaveLength(1);
}, 120000);

it('an instance killed in the middle of a job: the other reports it interrupted and nothing runs twice', async () => {
  const incidentId = await diagnosed('vm-machinekeys-05');
  const mark = connector.captured.length;
  expect((await B.post(activity(B, endUser, invoke('fix.request', { incidentId, fixId: 'reset-machinekeys-acl', scope: 'rdpkey' })))).status).toBe(200);
  const { approvalId } = actionData(cardOf(await approvalCard(approver2, mark)), 'approval.refresh');
  expect((await A.post(activity(A, approver2, invoke('approval.approve', { approvalId })))).status).toBe(200);

  await connector.waitFor(async () => (await scriptRuns('fix-reset-machinekeys-acl')) > 0, 30000);
  // the job entity names the process that claimed it
  const fixes = TableClient.fromConnectionString(azurite.connectionString, `${prefix}fixes`, { allowInsecureConnection: true });
  let owner = '';
  for await (const e of fixes.listEntities<{ owner: string }>({ queryOptions: { filter: odata`kind eq 'job' and state eq ${'running'}` } })) owner = e.owner;
  const pid = Number(owner.split('/').pop());
  const [victim, survivor] = pid === botA.child.pid ? [botA, botB] : [botB, botA];
  expect(victim.child.pid).toBe(pid);

  const m2 = connector.captured.length;
  await victim.kill();
  await connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === endUser.conversationId && /was interrupted .* and was not run again/.test(c.activity.text ?? '')), 30000);
  await azureJobsSettled(azurite.connectionString, prefix); // the interrupted job is terminal and no message could resume it
  expect(await scriptRuns('fix-reset-machinekeys-acl')).toBe(1);
  expect(connector.captured.slice(m2).filter((c) => c.conversationId === endUser.conversationId && /interrupted/.test(c.activity.text ?? ''))).toHaveLength(1);
  expect(survivor.child.exitCode).toBeNull();
}, 120000);
