import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createAzureGateway } from '../services/azure/factory';
import type { SdkAzureGateway } from '../services/azure/sdk-gateway';
import { createLogger } from '../services/log';
import { DIAGNOSE_SCRIPT, diagnoseParameters } from '../services/runbook/scripts';
import { vmIdOf } from '../services/simulator/arm-shapes';
import { fleetSubscriptions, type Fleet } from '../services/simulator/fleet';
import { generateFleet } from '../services/simulator/fleet-generator';
import { createInterior } from '../services/simulator/pwsh-interior';
import { startSimulator, type SimulatorHandle } from '../services/simulator/server';
import { createVmInterior } from '../services/simulator/vm-interior';
import { SqliteStore } from '../services/store/sqlite';
import { createSweeps } from '../services/sweeps/service';
import { createSweepMeter, type SweepMeter } from '../services/sweeps/meter';
import type { SweepDigest } from '../services/sweeps/types';
import { row, type Row } from './report';

/**
 * Figures 6 and 7 (issue #16, docs/sweeps.md): the fast sweep of a generated 10,000-VM fleet
 * beside its floor (the same Resource Graph and status pages replayed alone, through the same
 * gateway, in the same run), the heap while it runs, and a deep sweep of 1,000 VMs at a Run
 * Command latency of 2 s and concurrency 50 beside ceil(1000/50) x 2 s. In process: the
 * simulator (Azure's throttling on) and the sweep service share this process, so the heap figure
 * includes the simulator's fleet (measured before the sweep and subtracted).
 * (sweep-sim's bench/sweep-floor.ts, once on main, can replace `floor` below.)
 */

const LATENCY_MS = 2000;
/**
 * A Run Command's status polls are ARM reads: 50 at once polled every second are 50 reads/s, 12.5
 * per subscription over 4, half of Azure's refill; polled every 250 ms they would be twice the refill.
 */
const POLL_MS = 1000;
/**
 * SWEEP_ARM_BUDGET_PERCENT for figure 7: 70, what an operator sets for a deep sweep that must
 * keep 50 Run Commands in flight. The arithmetic: 1,000 Run Commands of ~2.5 reads each (the
 * paced polls and the result) in ceil(1000/50) x 2 s = 40 s over 4 subscriptions are ~15.6 reads/s
 * per subscription; the default 50 % gives 12.5/s (and a burst of 125), so the budget, not the
 * Run Commands, would set the pace (measured: 1.16x with 58 s of budget waits). 70 % gives 17.5/s
 * and leaves 30 % of Azure's limits to everything else. docs/sweeps.md "Budget".
 */
const BUDGET_PERCENT = Number(process.env.BENCH_SWEEP_BUDGET_PERCENT ?? 70);
/** sweep-pace: `BENCH_SWEEP_PACE=off` polls every Run Command on the fixed interval, as before the pacing (the comparison) */
const PACE = process.env.BENCH_SWEEP_PACE !== 'off';

async function withSimulator<T>(fleet: Fleet, latencyMs: number, work: (sim: SimulatorHandle, gateway: SdkAzureGateway) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ fleet, port: 0, interior: createInterior('emulate', createVmInterior()).interior, runCommandLatencyMs: latencyMs, throttling: true });
  try {
    const gateway = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: fleetSubscriptions(fleet), timings: { pollIntervalInMs: POLL_MS, conflictRetries: 0 } });
    return await work(sim, gateway);
  } finally {
    await sim.close();
  }
}

/** The calls a fast sweep cannot avoid, replayed alone: every page of NSGs, NICs and VMs, each subscription's status pages. */
async function floor(gateway: SdkAzureGateway, subscriptions: string[]): Promise<{ ms: number; calls: number }> {
  const started = Date.now();
  let calls = 0;
  const filter = { subscriptionIds: subscriptions };
  for (const list of [gateway.listNsgsPage.bind(gateway), gateway.listNicsPage.bind(gateway), gateway.listVmsPage.bind(gateway)] as Array<(f: typeof filter, t?: string) => Promise<{ skipToken?: string }>>) {
    for (let token: string | undefined, first = true; first || token; first = false) {
      calls++;
      token = (await list(filter, token)).skipToken;
    }
  }
  for (const sub of subscriptions) {
    for (let link: string | undefined, first = true; first || link; first = false) {
      calls++;
      link = (await gateway.listVmStatusPage(sub, link)).nextLink;
    }
  }
  return { ms: Date.now() - started, calls };
}

/**
 * sweep-pace: figure 7's measured floor: the same Run Commands (the diagnostic script, one per VM)
 * alone, `concurrency` at once through the same gateway against a fresh simulator in this process,
 * each polled first at L (the schedule that knows the latency): no bulk reads, no budget, no store,
 * no diagnosis. What this machine allows for the Run Commands themselves, beside ceil(N/50) x L.
 */
async function runCommandFloor(gateway: SdkAzureGateway, fleet: Fleet, concurrency: number): Promise<{ ms: number; cpuMs: number; failed: number }> {
  const ids = fleet.vms.map((v) => vmIdOf(fleet, v));
  let next = 0;
  let failed = 0;
  const started = Date.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < ids.length; i = next++) {
        await gateway
          .runScript(ids[i] as string, { scriptId: DIAGNOSE_SCRIPT.id, script: DIAGNOSE_SCRIPT.source, parameters: diagnoseParameters(), polling: { firstPollInMs: LATENCY_MS } })
          .catch(() => void failed++);
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { ms: Date.now() - started, cpuMs: (used.user + used.system) / 1000, failed };
}

async function sweep(gateway: SdkAzureGateway, fleet: Fleet, kind: 'fast' | 'deep', dir: string, concurrency: number, onSample?: () => void, meter?: SweepMeter): Promise<{ digest: SweepDigest; ms: number; cpuMs: number }> {
  const store = SqliteStore.open(dir);
  const sampler = onSample ? setInterval(onSample, 100) : undefined;
  try {
    const sweeps = createSweeps({ store, gateway, logger: createLogger('silent'), scope: { subscriptions: fleetSubscriptions(fleet) }, isApprover: () => true, concurrency, busyRetryDelayMs: 1000, budgetPercent: BUDGET_PERCENT, meter, ...(PACE ? {} : { runCommandPace: false }) });
    const started = Date.now();
    const cpu = process.cpuUsage();
    const digest = await sweeps.whenDone((await sweeps.start({ kind, scope: {}, startedBy: 'bench' })).id);
    const used = process.cpuUsage(cpu);
    return { digest, ms: Date.now() - started, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    if (sampler) clearInterval(sampler);
    await store.close();
  }
}

export async function sweepFigures(tmp: string, quick: boolean, log: (s: string) => void, which: { fast: boolean; deep: boolean } = { fast: true, deep: true }): Promise<{ rows: Row[]; raw: Record<string, unknown> }> {
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const dir = mkdtempSync(join(tmp, 'sweep-'));
  const gc = (globalThis as { gc?: () => void }).gc;
  try {
    if (which.fast) await fastFigure();
    if (which.deep) await deepFigure();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, raw };

  async function fastFigure(): Promise<void> {
    const vms = quick ? 2000 : 10_000;
    const fleet = generateFleet({ vms, seed: 16, subscriptions: 4 });
    log(`figure 6: fast sweep of ${vms} generated VMs (4 subscriptions, Azure's throttling on)`);
    await withSimulator(fleet, 0, async (sim, gateway) => {
      const f = await floor(gateway, fleetSubscriptions(fleet));
      gc?.();
      const before = process.memoryUsage().heapUsed;
      const heap: number[] = [];
      const s = await sweep(gateway, fleet, 'fast', join(dir, 'fast'), 10, () => heap.push(process.memoryUsage().heapUsed));
      const throttled = sim.operations().filter((o) => o.kind === 'throttled').length;
      const peakMiB = (Math.max(before, ...heap) - before) / 2 ** 20;
      gc?.();
      const retainedMiB = (process.memoryUsage().heapUsed - before) / 2 ** 20;
      rows.push(
        row({ figure: '6', metric: `fast sweep of ${vms} VMs: wall time`, unit: 'ms', value: s.ms, baseline: f.ms, target: '<= 1.5x the floor', pass: s.ms <= 1.5 * f.ms, note: `floor: the ${f.calls} page reads alone; ${s.digest.done} VMs, ${s.digest.state}` }),
        row({ figure: '6', metric: 'fast sweep: ARM and Resource Graph calls', unit: '', value: s.digest.armCalls, baseline: f.calls, target: '= the floor', pass: s.digest.armCalls === f.calls, note: `${throttled} answered 429` }),
        row({ figure: '6', metric: 'fast sweep: heap kept after it (per-VM state left in memory)', unit: 'MiB', value: gc ? retainedMiB : null, baseline: null, target: gc ? 'flat: < 8 MiB' : 'needs node --expose-gc', pass: gc ? retainedMiB < 8 : null }),
        row({ figure: '6', metric: 'fast sweep: heap peak above its start while it runs (bulk pages, network view)', unit: 'MiB', value: peakMiB, baseline: null, target: '', pass: null, note: `${heap.length} samples every 100 ms, simulator in the same process` }),
      );
      raw.fast = { ms: s.ms, floor: f, digest: { ...s.digest, vms: s.digest.vms.length }, throttled, heap: { before, samples: heap } };
    });
  }

  async function deepFigure(): Promise<void> {
    const deepVms = quick ? 200 : 1000;
    const concurrency = 50;
    log(`figure 7: deep sweep of ${deepVms} VMs, Run Command latency ${LATENCY_MS} ms, concurrency ${concurrency}`);
    const deepFleet = generateFleet({ vms: deepVms, seed: 17, subscriptions: 4 });
    // every VM running with a ready agent and no injected fault: each must get exactly one Run Command
    for (const v of deepFleet.vms) Object.assign(v, { powerState: 'running', agentStatus: 'Ready', faults: { runCommand: 'none', arm: 'none' } });
    const floorFleet = generateFleet({ vms: deepVms, seed: 17, subscriptions: 4 });
    for (const v of floorFleet.vms) Object.assign(v, { powerState: 'running', agentStatus: 'Ready', faults: { runCommand: 'none', arm: 'none' } });
    const floorRun = await withSimulator(floorFleet, LATENCY_MS, async (_sim, gateway) => runCommandFloor(gateway, floorFleet, concurrency));
    log(`figure 7: the ${deepVms} Run Commands alone, ${concurrency} at once, first poll at L: ${floorRun.ms} ms, ${(floorRun.cpuMs / deepVms).toFixed(1)} ms CPU per Run Command${floorRun.failed ? `, ${floorRun.failed} failed` : ''}`);
    await withSimulator(deepFleet, LATENCY_MS, async (sim, gateway) => {
      const meter = createSweepMeter(concurrency);
      const s = await sweep(gateway, deepFleet, 'deep', join(dir, 'deep'), concurrency, undefined, meter);
      const ops = sim.operations();
      const perVm = new Map<string, number>();
      for (const o of ops.filter((x) => x.kind === 'runCommand')) perVm.set(o.path.toLowerCase(), (perVm.get(o.path.toLowerCase()) ?? 0) + 1);
      const runCommands = [...perVm.values()].reduce((a, b) => a + b, 0);
      const duplicates = [...perVm.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
      const throttled = ops.filter((o) => o.kind === 'throttled').length;
      const ideal = Math.ceil(deepVms / concurrency) * LATENCY_MS;
      // sweep-pace: the reads of the Run Commands themselves (status polls and results: GETs the operation log leaves out)
      const pageReads = ops.filter((o) => o.kind === 'read' && o.method === 'GET').length;
      const lroReads = (sim.served?.().reads ?? pageReads) - pageReads;
      const m = meter.summary();
      const waits = Object.entries(m.budgetWaits).map(([k, w]) => `${k.startsWith('w:') ? 'writes' : 'reads'} ${k.replace(/^w:/, '').slice(-4)}: ${(w.totalMs / 1000).toFixed(1)} s over ${w.waits} VMs (longest ${(w.maxMs / 1000).toFixed(1)} s)`);
      log(`figure 7: ${s.ms} ms (${(s.ms / ideal).toFixed(2)}x), ${runCommands} Run Commands, ${lroReads} status/result reads (${(lroReads / Math.max(1, runCommands)).toFixed(2)} per Run Command), ${throttled} 429s`);
      log(`figure 7: Run Command POST to result mean ${m.runCommandMs.mean.toFixed(0)} ms, p50 ${m.runCommandMs.p50} ms, p90 ${m.runCommandMs.p90} ms, max ${m.runCommandMs.max} ms; first poll found it done: ${m.firstPollHits} of ${m.runCommands}`);
      log(`figure 7: CPU of this process (sweep, SDK and simulator) ${(s.cpuMs / 1000).toFixed(1)} s, ${(s.cpuMs / Math.max(1, runCommands)).toFixed(1)} ms per Run Command (${((s.cpuMs / s.ms) * 100).toFixed(0)} % of a core over the sweep); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
      log(`figure 7: places idle while VMs remained ${m.idlePlaceSeconds.toFixed(1)} place-s, mean in flight ${m.meanInFlight.toFixed(1)} of ${concurrency}; budget waits: ${waits.length ? waits.join('; ') : 'none'}`);
      rows.push(
        row({ figure: '7', metric: `deep sweep of ${deepVms} VMs at L = 2 s, concurrency ${concurrency}: wall time`, unit: 'ms', value: s.ms, baseline: ideal, target: '<= 1.15x ceil(N/50) x L', pass: s.ms <= 1.15 * ideal, note: `${s.digest.state}` }),
        row({ figure: '7', metric: `deep sweep of ${deepVms} VMs: wall time beside its measured floor (the Run Commands alone, ${concurrency} at once, first poll at L)`, unit: 'ms', value: s.ms, baseline: floorRun.ms, target: '', pass: null, note: `floor ${(floorRun.ms / ideal).toFixed(2)}x ceil(N/50) x L on this machine now` }),
        row({ figure: '7', metric: 'deep sweep: Run Commands (operation log)', unit: '', value: runCommands, baseline: deepVms, target: '= one per VM', pass: runCommands === deepVms }),
        row({ figure: '7', metric: 'deep sweep: calls over budget (429s)', unit: '', value: throttled, baseline: null, target: '0', pass: throttled === 0 }),
        row({ figure: '7', metric: 'deep sweep: duplicate Run Commands', unit: '', value: duplicates, baseline: null, target: '0 (one instance; across instances not measured)', pass: duplicates === 0 }),
        row({ figure: '7', metric: 'deep sweep: ARM reads per Run Command (status polls and result, simulator-side)', unit: '', value: lroReads / Math.max(1, runCommands), baseline: null, target: '', pass: null, note: `${lroReads} reads; budget ${BUDGET_PERCENT} %; polls ${PACE ? 'paced' : `every ${POLL_MS} ms`}; mean in flight ${m.meanInFlight.toFixed(1)} of ${concurrency}` }),
      );
      raw.deep = { ms: s.ms, cpuMs: s.cpuMs, floor: floorRun, ideal, runCommands, duplicates, throttled, lroReads, budgetPercent: BUDGET_PERCENT, paced: PACE, meter: m, digest: { ...s.digest, vms: s.digest.vms.length } };
    });
  }
}
