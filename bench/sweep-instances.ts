import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createAzureGateway } from '../services/azure/factory';
import { createLogger } from '../services/log';
import { fleetSubscriptions } from '../services/simulator/fleet';
import { generateFleet } from '../services/simulator/fleet-generator';
import { createInterior } from '../services/simulator/pwsh-interior';
import { startSimulator } from '../services/simulator/server';
import { createVmInterior } from '../services/simulator/vm-interior';
import { AzureStore } from '../services/store/azure/store';
import { azuriteConnectionString } from '../services/store/azure/connection';
import { createSweeps } from '../services/sweeps/service';
import { createSpread, type Spread } from '../services/sweeps/spread';
import type { SweepDigest } from '../services/sweeps/types';
import { freePort, sleep, spawnNode } from './procs';
import { row, type Row } from './report';

/**
 * Figure 9 (issue #16 item 3, docs/sweeps.md "Across instances"): the deep sweep of figure 7 spread
 * over 2 instances sharing one Azure Storage (Azurite) and one simulated Azure (Azure's throttling
 * on), beside the same sweep on 1 instance on the same storage, in the same run: Run Commands made,
 * duplicates (VMs with more than one Run Command in the operation log: must be 0), calls over budget
 * (429s: 0) and wall time. Each instance is what a bot process builds (its own store clients,
 * gateway, budget at SWEEP_ARM_BUDGET_PERCENT / SWEEP_INSTANCES, sweep service and worker), here in
 * this process: the sweep waits on Run Commands and budget, not on CPU.
 */

const LATENCY_MS = 2000;
const POLL_MS = 1000;
const CONCURRENCY = 50;
/** figure 7's share (bench/sweep.ts: 50 Run Commands in flight over 4 subscriptions read ~15.6/s per subscription) */
const BUDGET_PERCENT = 70;

async function startAzuriteChild(repo: string): Promise<{ connectionString: string; stop(): Promise<void> }> {
  const [blob, queue, table] = [await freePort(), await freePort(), await freePort()];
  const child = spawnNode({
    name: 'azurite',
    script: join(repo, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js'),
    port: table,
    env: {},
    args: ['--silent', '--inMemoryPersistence', '--disableTelemetry', '--blobHost', '127.0.0.1', '--queueHost', '127.0.0.1', '--tableHost', '127.0.0.1', '--blobPort', String(blob), '--queuePort', String(queue), '--tablePort', String(table)],
  });
  const connectionString = azuriteConnectionString('127.0.0.1', { blob, queue, table });
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`azurite exited: ${child.stderr()}`);
    try {
      const probe = await AzureStore.open({ target: { connectionString }, prefix: 'benchprobe' });
      await probe.ping();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`azurite did not start: ${child.stderr()}`);
      await sleep(200);
    }
  }
  return { connectionString, stop: () => child.stop() };
}

interface Run {
  ms: number;
  digest: SweepDigest;
  runCommands: number;
  duplicates: number;
  throttled: number;
}

export async function sweepInstancesFigures(repo: string, quick: boolean, log: (s: string) => void): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  const vms = quick ? 200 : 1000;
  const fleet = generateFleet({ vms, seed: 17, subscriptions: 4 });
  for (const v of fleet.vms) Object.assign(v, { powerState: 'running', agentStatus: 'Ready', faults: { runCommand: 'none', arm: 'none' } });
  const azurite = await startAzuriteChild(repo);
  const sim = await startSimulator({ fleet, port: 0, interior: createInterior('emulate', createVmInterior()).interior, runCommandLatencyMs: LATENCY_MS, throttling: true });
  const logger = createLogger('silent');
  const subscriptions = fleetSubscriptions(fleet);

  /** One deep sweep of the whole fleet over `n` instances (a fresh storage prefix each time); started on the first. */
  async function sweepOver(n: number): Promise<Run> {
    const prefix = `bench${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    const opsBefore = sim.operations().length;
    const instances: Array<{ store: AzureStore; spread: Spread; sweeps: ReturnType<typeof createSweeps> }> = [];
    for (let i = 0; i < n; i++) {
      const store = await AzureStore.open({ target: { connectionString: azurite.connectionString }, prefix, instanceId: `bench-${i}` });
      const gateway = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: subscriptions, timings: { pollIntervalInMs: POLL_MS, conflictRetries: 0 } });
      const spread = createSpread({ spread: store.sweepSpread, store, logger, leaseSeconds: 60 });
      const sweeps = createSweeps({
        store: { audit: store.audit, sweeps: spread.repo(store.sweeps) },
        gateway,
        logger,
        scope: { subscriptions },
        isApprover: () => true,
        // SWEEP_CONCURRENCY is the sweep's: each of n instances runs its share (services/sweeps/wiring.ts)
        concurrency: Math.ceil(CONCURRENCY / n),
        // SWEEP_INSTANCES = n: each instance spends its share of the budget
        budgetPercent: BUDGET_PERCENT / n,
        busyRetryDelayMs: 1000,
        spread: spread.hook,
      });
      spread.startWorker();
      instances.push({ store, spread, sweeps });
    }
    try {
      const started = Date.now();
      const first = await instances[0].sweeps.start({ kind: 'deep', scope: {}, startedBy: 'bench' });
      let digest: SweepDigest | null = null;
      for (;;) {
        digest = await instances[0].store.sweeps.get(first.id);
        if (digest && digest.state !== 'running') break;
        if (Date.now() - started > 6 * 60_000) throw new Error(`the deep sweep over ${n} instance(s) did not end in 6 min`);
        await sleep(100);
      }
      const ms = Date.now() - started;
      const ops = sim.operations().slice(opsBefore);
      const perVm = new Map<string, number>();
      for (const o of ops.filter((x) => x.kind === 'runCommand')) perVm.set(o.path.toLowerCase(), (perVm.get(o.path.toLowerCase()) ?? 0) + 1);
      return {
        ms,
        digest,
        runCommands: [...perVm.values()].reduce((a, b) => a + b, 0),
        duplicates: [...perVm.values()].reduce((a, x) => a + Math.max(0, x - 1), 0),
        throttled: ops.filter((o) => o.kind === 'throttled').length,
      };
    } finally {
      await Promise.all(instances.map((i) => i.spread.stop(5000)));
      await Promise.all(instances.map((i) => i.sweeps.stop(5000)));
      await instances[0]?.store.destroy().catch(() => undefined);
    }
  }

  try {
    log(`figure 9: deep sweep of ${vms} VMs (4 subscriptions, L = ${LATENCY_MS} ms, concurrency ${CONCURRENCY} split over the instances, budget ${BUDGET_PERCENT} %) on 1 instance, then spread over 2 (one Azurite, one simulator)`);
    const one = await sweepOver(1);
    log(`figure 9: 1 instance: ${one.ms} ms, ${one.runCommands} Run Commands, ${one.duplicates} duplicates, ${one.throttled} 429s`);
    const two = await sweepOver(2);
    log(`figure 9: 2 instances: ${two.ms} ms, ${two.runCommands} Run Commands, ${two.duplicates} duplicates, ${two.throttled} 429s`);
    const rows = [
      row({ figure: '9', metric: `deep sweep of ${vms} VMs over 2 instances (Azure Storage): wall time`, unit: 'ms', value: two.ms, baseline: one.ms, target: '', pass: null, note: `baseline: the same sweep on 1 instance, same storage; budget ${BUDGET_PERCENT} % split over the instances; ${two.digest.state}, ${two.digest.done}/${two.digest.total}` }),
      row({ figure: '9', metric: 'deep sweep over 2 instances: Run Commands (operation log)', unit: '', value: two.runCommands, baseline: vms, target: '= one per VM', pass: two.runCommands === vms }),
      row({ figure: '9', metric: 'deep sweep over 2 instances: duplicate Run Commands', unit: '', value: two.duplicates, baseline: null, target: '0', pass: two.duplicates === 0 }),
      row({ figure: '9', metric: 'deep sweep over 2 instances: calls over budget (429s)', unit: '', value: two.throttled, baseline: null, target: '0', pass: two.throttled === 0 }),
      row({ figure: '9', metric: 'deep sweep on 1 instance (Azure Storage): Run Commands / duplicates / 429s', unit: '', value: one.runCommands, baseline: vms, target: '= one per VM, 0, 0', pass: one.runCommands === vms && one.duplicates === 0 && one.throttled === 0, note: `${one.duplicates} duplicates, ${one.throttled} 429s` }),
    ];
    const brief = (r: Run) => ({ ms: r.ms, runCommands: r.runCommands, duplicates: r.duplicates, throttled: r.throttled, digest: { ...r.digest, vms: r.digest.vms.length } });
    return { rows, raw: { oneInstance: brief(one), twoInstances: brief(two) } };
  } finally {
    await sim.close();
    await azurite.stop();
  }
}
