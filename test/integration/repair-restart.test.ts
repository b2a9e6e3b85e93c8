import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAzureGateway } from '../../services/azure/factory';
import type { Job } from '../../services/incidents/model';
import { isRepairGateway } from '../../services/incidents/planner';
import { loadFleetFile } from '../../services/simulator/fleet';
import type { OperationLogEntry } from '../../services/simulator/operation-log';
import { defaultFleetPath } from '../../services/wiring/azure';
import type { Harness } from '../support/bot-harness';
import { TestConnector } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';
import { processHarness, startBotProcess, startSimulatorProcess, type BotProcess, type SimulatorProcess } from '../support/processes';
import { sqliteRecords } from '../support/quiescence';

/**
 * Issue #15: the bot process killed (SIGKILL) in the middle of an offline repair and started
 * again on the same data. The simulator runs as its own process, so Azure's state outlives the
 * bot as it would. The restarted bot takes the repair over: before the OS disk swap it rolls
 * back, after it it finishes; no operation runs twice. Judged from the simulator's operation log
 * and Azure's state (read through a gateway of the test's own) once every job has ended.
 */
const endUser: User = { userId: '29:rr-user', aadObjectId: '00000000-0000-0000-0000-0000000000f1', name: 'Alex User', conversationId: 'a:rr-user' };
const approver: User = { userId: '29:rr-approver', aadObjectId: '00000000-0000-0000-0000-0000000000f2', name: 'Helpdesk Hana', conversationId: 'a:rr-approver' };

let sim: SimulatorProcess;
let bot: BotProcess | undefined;
const connector = new TestConnector();
const dataDir = mkdtempSync(join(tmpdir(), 'rdp-repair-restart-'));

beforeAll(async () => {
  await connector.start();
  // Run Command takes 1.5 s here: each offline script and the re-diagnosis are long enough to kill the bot in
  sim = await startSimulatorProcess({ latencyMs: 1500 });
}, 120000);
afterAll(async () => {
  await bot?.stop();
  await sim?.stop();
  await connector.stop();
});

const env = () => ({ DATA_DIR: dataDir, AZURE_ARM_ENDPOINT: sim.endpoint, AZURE_ARM_CA_FILE: sim.caFile, APPROVER_IDS: approver.aadObjectId });
const azure = () => {
  const g = createAzureGateway({ endpoint: sim.endpoint, caPem: readFileSync(sim.caFile, 'utf8'), subscriptionIds: [loadFleetFile(defaultFleetPath()).subscriptionId] });
  if (!isRepairGateway(g)) throw new Error('the gateway does not implement RepairGateway');
  return g;
};

function jobOf(incidentId: string): Job {
  const db = new Database(join(dataDir, 'rdp-doctor.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const jobs = (db.prepare('SELECT doc FROM jobs').all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as Job);
    const job = jobs.find((j) => j.incidentId === incidentId);
    if (!job) throw new Error(`no job for incident ${incidentId}`);
    return job;
  } finally {
    db.close();
  }
}

/** Starts the repair of `vmName` and kills the bot when `when` first holds of the operation log. */
async function repairAndKill(vmName: string, when: (ops: OperationLogEntry[]) => boolean): Promise<{ incidentId: string; before: OperationLogEntry[] }> {
  bot = await startBotProcess(env());
  const h: Harness = processHarness(bot.port, connector);
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  const { incidentId } = await diagnoseAs(h, endUser, `internal error on ${vmName}`);
  const mark = h.mark();
  await h.post(activity(h, endUser, invoke('fix.request', { incidentId, fixId: 'offline-repair' })));
  const copy = await connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
  const { approvalId } = actionData(cardOf(copy), 'approval.refresh');
  const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
  if (r.status !== 200) throw new Error(`approve failed: ${JSON.stringify(r.body)}`);
  await connector.waitFor(async () => when(await sim.operations()), 120000);
  await bot.kill();
  const before = await sim.operations();
  bot = await startBotProcess(env());
  await sqliteRecords(dataDir).settled(240000);
  return { incidentId, before };
}

/** Every operation that changes something, once per target (a roll-back's inverse operations have other targets). */
function repeated(ops: OperationLogEntry[]): string[] {
  const keys = ops.filter((o) => o.kind !== 'read' && o.kind !== 'runCommand').map((o) => `${o.method} ${o.path.split('?')[0].toLowerCase()} ${o.kind}`);
  return keys.filter((k, i) => keys.indexOf(k) !== i && !/\/(start|deallocate)$/.test(k.split(' ')[1]));
}

it('killed while the offline scripts run (before the swap): the restarted bot rolls the repair back', async () => {
  const vm = 'vm-noagent-08';
  const { incidentId } = await repairAndKill(vm, (ops) => ops.some((o) => o.kind === 'runCommand' && /-rescue$/.test(o.vm ?? '')));
  await bot!.stop();
  const job = jobOf(incidentId);
  expect(job.state).toBe('failed');
  expect(job.error).toMatchObject({ code: 'interrupted', step: 'run-offline-scripts' });
  expect(job.error?.params).toMatchObject({ rollback: 'done' });
  const g = azure();
  const model = await g.getVmModel(job.vmId);
  expect(model.osDiskId.toLowerCase()).toBe(job.plan!.repair!.keepsOriginalDisk.id.toLowerCase());
  expect(await g.listTaggedResources(model.subscriptionId, model.resourceGroup, 'rdp-doctor-incident', incidentId)).toEqual([]);
  const ops = await sim.operations();
  // the steps done before the crash never ran again: one snapshot, one rescue VM
  expect(ops.filter((o) => String(o.kind) === 'vmCreate')).toHaveLength(1);
  expect(repeated(ops)).toEqual([]);
}, 600000);

it('killed just after the swap was sent (Gen2): the restarted bot sees the copy as the OS disk and finishes the repair', async () => {
  const vm = 'vm-bootmenu-37';
  const { incidentId } = await repairAndKill(vm, (ops) => ops.some((o) => String(o.kind) === 'swapOsDisk' && o.vm === vm));
  await bot!.stop();
  const job = jobOf(incidentId);
  expect(job.state).toBe('succeeded');
  expect(job.steps.filter((s) => s.state !== 'done').map((s) => s.name)).toEqual([]);
  const rescue = job.plan!.repair!.creates.find((c) => c.kind === 'vm')!.name;
  const ops = (await sim.operations()).filter((o) => o.vm === vm || o.vm === rescue);
  expect(ops.filter((o) => String(o.kind) === 'swapOsDisk' && o.vm === vm)).toHaveLength(1);
  expect(ops.filter((o) => String(o.kind) === 'vmCreate')).toHaveLength(1);
  expect(ops.filter((o) => String(o.kind) === 'vmDelete')).toHaveLength(1);
  expect(repeated(ops)).toEqual([]);
  const g = azure();
  const now = await g.getVm(job.vmId);
  expect([now.powerState, now.agentStatus]).toEqual(['running', 'Ready']);
  expect(await g.getDisk(job.plan!.repair!.keepsOriginalDisk.id)).not.toBeNull();
}, 600000);

it('killed during the re-diagnosis (Trusted Launch): resumed, the repair ends with a clean diagnosis and nothing twice', async () => {
  const vm = 'vm-trusted-38';
  const { incidentId } = await repairAndKill(vm, (ops) => ops.some((o) => o.kind === 'runCommand' && o.vm === vm));
  await bot!.stop();
  bot = undefined;
  const job = jobOf(incidentId);
  expect(job.state).toBe('succeeded');
  expect(job.result?.remaining).toEqual([]);
  const rescue = job.plan!.repair!.creates.find((c) => c.kind === 'vm')!.name;
  const ops = (await sim.operations()).filter((o) => o.vm === vm || o.vm === rescue);
  expect(ops.filter((o) => String(o.kind) === 'swapOsDisk' && o.vm === vm)).toHaveLength(1);
  expect(ops.filter((o) => o.kind === 'start' && o.vm === vm)).toHaveLength(1);
  expect(repeated(ops)).toEqual([]);
}, 600000);
