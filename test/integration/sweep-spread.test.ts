import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueClient } from '@azure/storage-queue';
import { generateFleet } from '../../services/simulator/fleet-generator';
import { AzureStore } from '../../services/store/azure/store';
import type { SweepDigest } from '../../services/sweeps/types';
import type { Harness } from '../support/bot-harness';
import { startAzurite, type Azurite } from '../support/azurite';
import { cardText, TestConnector } from '../support/connector';
import { activity, cardOf, type User } from '../support/journey';
import { processHarness, startBotProcess, startSimulatorProcess, type BotProcess, type SimulatorProcess } from '../support/processes';
import { until } from '../support/quiescence';

/**
 * Issue #16 item 3: a deep sweep's VMs spread over two bot processes sharing one Azure Storage
 * (Azurite) and one simulated Azure, and the instance that started it killed hard (SIGKILL, no
 * drain) in the middle. What ran is read from the simulator's operation log once the sweep has
 * ended and its queue is empty. Needs `npm run build` (dist/).
 */
const approver: User = { userId: '29:ss-approver', aadObjectId: '00000000-0000-0000-0000-0000000000c2', name: 'Helpdesk Hana', conversationId: 'a:ss-approver' };

const VMS = 300;
const CONCURRENCY = 20;
let azurite: Azurite;
let sim: SimulatorProcess;
let botA: BotProcess;
let botB: BotProcess;
let A: Harness;
let store: AzureStore;
const connector = new TestConnector();
const prefix = `ss${randomUUID().replace(/-/g, '').slice(0, 10)}`;
// a generated fleet (its mix of stopped, agent-less and broken VMs), with no injected Run Command or ARM fault
const fleet = generateFleet({ vms: VMS, seed: 24, subscriptions: 4 });
for (const v of fleet.vms) Object.assign(v, { faults: { runCommand: 'none', arm: 'none' } });
const eligible = new Set(fleet.vms.filter((v) => v.powerState === 'running' && v.agentStatus === 'Ready' && v.osType === 'Windows').map((v) => v.name.toLowerCase()));

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rdp-sweep-spread-'));
  const fleetFile = join(dir, 'fleet.json');
  writeFileSync(fleetFile, JSON.stringify(fleet));
  await connector.start();
  azurite = await startAzurite();
  // hundreds of Run Commands: the VMs' insides emulated (one PowerShell worker would be the bottleneck, not the bot)
  const scripts = process.env.SIM_SCRIPTS;
  process.env.SIM_SCRIPTS = 'emulate';
  try {
    // a Run Command takes 2 s: long enough that the instance is killed while its VMs are in flight
    sim = await startSimulatorProcess({ fleet: fleetFile, latencyMs: 2000 });
  } finally {
    if (scripts === undefined) delete process.env.SIM_SCRIPTS;
    else process.env.SIM_SCRIPTS = scripts;
  }
  const env = {
    STORAGE: 'azure',
    AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString,
    AZURE_STORAGE_PREFIX: prefix,
    AZURE_ARM_ENDPOINT: sim.endpoint,
    AZURE_ARM_CA_FILE: sim.caFile,
    SIM_FLEET: fleetFile,
    APPROVER_IDS: approver.aadObjectId!,
    SWEEP_CONCURRENCY: String(CONCURRENCY),
    SWEEP_INSTANCES: '2',
    // the lease of a chunk: a killed instance's chunks come back to the other within seconds (long
    // enough that a live instance on the loaded machine renews it in time)
    JOB_LEASE_SECONDS: '15',
    SWEEP_INTERVAL_SECONDS: '1',
  };
  [botA, botB] = await Promise.all([startBotProcess(env), startBotProcess(env)]);
  A = processHarness(botA.port, connector);
  store = await AzureStore.open({ target: { connectionString: azurite.connectionString }, prefix });
}, 240_000); // Azurite, the simulator and two bots: each may take 20 s to start on the loaded 2-core machine

afterAll(async () => {
  await Promise.all([botA?.stop(), botB?.stop()]);
  await sim?.stop();
  await azurite?.stop();
  await connector.stop();
});

const runCommandsPerVm = async (): Promise<Map<string, number>> => {
  const perVm = new Map<string, number>();
  for (const o of await sim.operations()) {
    if (o.kind !== 'runCommand') continue;
    const vm = (o.vm ?? /virtualMachines\/([^/]+)/i.exec(o.path)?.[1] ?? o.path).toLowerCase();
    perVm.set(vm, (perVm.get(vm) ?? 0) + 1);
  }
  return perVm;
};

it('a deep sweep spread over two instances, its starter killed mid-sweep: every eligible VM checked once (resumed where its Run Command was sent), the digest complete and ended once', async () => {
  const mark = connector.captured.length;
  const r = await A.post(activity(A, approver, { type: 'message', text: 'sweep deep' }));
  expect(r.status).toBe(200);
  const [{ id }] = await until(async () => {
    const l = await store.sweeps.list(1);
    return l.length > 0 && l;
  }, 'the sweep to be stored');

  // the starter has paged the fleet and queued every chunk, and both instances' workers are at it
  await until(async () => (await store.sweepSpread.get(id))?.spread?.starterFinal, 'the starter to hand every chunk off', 120_000, 200);
  await until(async () => [...(await runCommandsPerVm()).values()].reduce((a, b) => a + b, 0) >= eligible.size / 3, 'a third of the Run Commands', 120_000, 200);
  await botA.kill();

  const digest = await until(async () => {
    const d = await store.sweeps.get(id);
    return d?.state !== 'running' && d;
  }, 'the sweep to end on the surviving instance', 240_000, 500) as SweepDigest;
  // nothing left on the queue that any instance could still take
  const queue = new QueueClient(azurite.connectionString, `${prefix}-sweeps`);
  await until(async () => ((await queue.getProperties()).approximateMessagesCount ?? 0) === 0, 'the sweep queue to empty', 60_000, 500);

  expect(digest).toMatchObject({ state: 'done', total: VMS, done: VMS });
  const perVm = await runCommandsPerVm();
  // 0 duplicates: no VM got a second Run Command, whoever died
  expect([...perVm.entries()].filter(([, n]) => n > 1)).toEqual([]);
  expect([...perVm.keys()].filter((vm) => !eligible.has(vm))).toEqual([]);

  // every VM has one stored result
  const results = [];
  for (let after: string | undefined, first = true; first || after; first = false) {
    const page = await store.sweeps.results(id, 1000, after);
    results.push(...page.results);
    after = page.next;
  }
  expect(results).toHaveLength(VMS);
  const resultOf = new Map(results.map((x) => [x.vmName.toLowerCase(), x]));
  // sweep-resume: the VMs the killed instance was checking are taken over by their slot's phase:
  // `claimed` (nothing sent) checked by the survivor, `sent` polled to its end from the token (no
  // second POST), `sending` (the POST in flight at the kill) the only ones left interrupted
  const interrupted = [...eligible].filter((vm) => resultOf.get(vm)?.skipped === 'error:interrupted');
  const unsent = interrupted.filter((vm) => !perVm.has(vm));
  const takeovers = { checked: 0, resumed: 0, interrupted: 0 };
  for (const line of botB.output().split('\n')) {
    const m = /"took":"(checked|resumed|interrupted)"/.exec(line);
    if (m && line.includes(id)) takeovers[m[1] as keyof typeof takeovers]++;
  }
  process.stdout.write(
    `sweep-spread: ${eligible.size} eligible VMs; taken over from the killed instance: ${takeovers.checked} claimed (checked), ${takeovers.resumed} sent (resumed), ${interrupted.length} sending (interrupted; ${unsent.length} of them never reached Azure)\n`,
  );
  const slotPhases = await Promise.all(interrupted.map(async (vm) => (await store.sweeps.runCommandSlot!(resultOf.get(vm)!.vmId))?.phase));
  expect(slotPhases.filter((p) => p !== 'sending')).toEqual([]);
  expect(interrupted.length).toBe(takeovers.interrupted);
  expect(interrupted.length).toBeLessThanOrEqual(CONCURRENCY);
  // every other eligible VM: exactly one Run Command, and a result that is not an error
  expect([...eligible].filter((vm) => !interrupted.includes(vm) && perVm.get(vm) !== 1).map((vm) => `${vm}: ${perVm.get(vm) ?? 0} (${resultOf.get(vm)?.skipped ?? 'checked'})`)).toEqual([]);
  expect([...eligible].filter((vm) => !interrupted.includes(vm) && resultOf.get(vm)?.skipped?.startsWith('error:')).map((vm) => `${vm}: ${resultOf.get(vm)?.skipped}`)).toEqual([]);
  expect(digest.runCommands + interrupted.length).toBe(eligible.size);

  // ended once: one sweep.ended in the audit log, and the digest card shows the end once, updated by the survivor
  const ends = (await store.audit.list({ limit: 1000 })).filter((e) => e.action === 'sweep.ended' && (e.details as { sweepId?: string } | undefined)?.sweepId === id);
  expect(ends).toHaveLength(1);
  const doneCards = await until(() => {
    const c = connector.captured.slice(mark).filter((x) => x.conversationId === approver.conversationId && /Done: \d+ VMs? checked/.test(cardText(cardOf(x))));
    return c.length > 0 && c;
  }, 'the digest card to show the end');
  expect(doneCards).toHaveLength(1);
  expect(botB.child.exitCode).toBeNull();
}, 600_000);
