import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAzureGateway } from '../services/azure/factory';
import type { SweepScopeFilter } from '../services/azure/gateway';
import type { OperationLogEntry } from '../services/simulator/operation-log';
import type { BenchPaths } from './bots';
import { freePort, sleep, spawnNode, type Child } from './procs';
import { row, type Row } from './report';
import { simulatorOperations } from './simulator';

/**
 * The fast sweep's floor (issue #16): the calls a fast sweep of the generated fleet cannot avoid,
 * replayed alone against the simulator: every Resource Graph page of VMs, NICs and NSGs and every
 * `listAll statusOnly=true` page of each subscription, through the product's own SweepGateway
 * (the real SDKs), under the simulator's ARM and Resource Graph throttling. sweep-core's fast-sweep
 * figure is compared with `replaySweepFloor` run in the same bench on the same simulator.
 */
export interface SweepSimulator {
  child: Child;
  endpoint: string;
  caFile: string;
  caPem: string;
  subscriptionIds: string[];
  vms: number;
  operations(): Promise<OperationLogEntry[]>;
}

export interface SweepSimulatorOptions {
  /** default 10,000 */
  vms?: number;
  /** default 42 */
  seed?: number;
  /** default 4 */
  subscriptions?: number;
  /** Run Command latency, ms (default 0) */
  latencyMs?: number;
  /** Azure's throttling (default true) */
  throttle?: boolean;
}

/** `npm run simulator -- --generate N --seed S --subscriptions K` in its own process. */
export async function startSweepSimulator(repo: string, certDir: string, o: SweepSimulatorOptions = {}): Promise<SweepSimulator> {
  const vms = o.vms ?? 10_000;
  const port = await freePort();
  const child = spawnNode({
    name: `simulator(generated ${vms})`,
    script: join(repo, 'dist', 'services', 'simulator', 'cli.js'),
    port,
    env: {},
    args: [
      '--generate', String(vms), '--seed', String(o.seed ?? 42), '--subscriptions', String(o.subscriptions ?? 4),
      '--port', String(port), '--latency-ms', String(o.latencyMs ?? 0), '--cert-dir', certDir, '--scripts', 'emulate',
      o.throttle === false ? '--no-throttle' : '--throttle',
    ],
  });
  let out = '';
  child.proc.stdout?.on('data', (b: Buffer) => {
    out += b.toString('utf8');
  });
  const caFile = join(certDir, 'arm-simulator-ca.pem');
  const deadline = Date.now() + 120_000;
  let subscriptionIds: string[] | undefined;
  while (!subscriptionIds) {
    if (child.proc.exitCode !== null) throw new Error(`simulator exited: ${child.stderr()}`);
    const m = /subscriptions: ([0-9a-f,-]+);/i.exec(out);
    if (m && existsSync(caFile)) subscriptionIds = (m[1] as string).split(',');
    else if (Date.now() > deadline) throw new Error(`simulator did not start: ${child.stderr()}`);
    else await sleep(50);
  }
  const caPem = readFileSync(caFile, 'utf8');
  return { child, endpoint: `https://127.0.0.1:${port}`, caFile, caPem, subscriptionIds, vms, operations: () => simulatorOperations(port, caPem, 30_000) };
}

/** Resource Graph's quota window (5 s, docs/simulator.md) and a margin: wait this long between runs that must not share a budget. */
export const QUOTA_RESET_MS = 6000;

export interface SweepFloorResult {
  wallMs: number;
  /** ARM calls the gateway made (one per page) */
  calls: number;
  graphPages: number;
  statusPages: number;
  /** 429s the gateway waited out */
  throttled: number;
  vms: number;
  nics: number;
  nsgs: number;
  statuses: number;
}

/**
 * Reads every page a fast sweep needs, the three Resource Graph streams and the subscriptions'
 * status streams side by side (each stream is sequential: a page's token comes from the one before).
 */
export async function replaySweepFloor(sim: { endpoint: string; caPem: string; subscriptionIds: readonly string[] }, filter: SweepScopeFilter = {}): Promise<SweepFloorResult> {
  const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: sim.subscriptionIds });
  const started = process.hrtime.bigint();
  let graphPages = 0;
  let statusPages = 0;
  const drain = async <T>(page: (token?: string) => Promise<{ items: T[]; next?: string }>, count: () => void): Promise<number> => {
    let n = 0;
    let token: string | undefined;
    do {
      const p = await page(token);
      count();
      n += p.items.length;
      token = p.next;
    } while (token);
    return n;
  };
  const graph = (): void => {
    graphPages++;
  };
  const status = (): void => {
    statusPages++;
  };
  const subs = filter.subscriptionIds && filter.subscriptionIds.length > 0 ? filter.subscriptionIds : sim.subscriptionIds;
  const [vms, nics, nsgs, ...perSub] = await Promise.all([
    drain(async (t) => { const p = await gw.listVmsPage(filter, t); return { items: p.vms, next: p.skipToken }; }, graph),
    drain(async (t) => { const p = await gw.listNicsPage(filter, t); return { items: p.nics, next: p.skipToken }; }, graph),
    drain(async (t) => { const p = await gw.listNsgsPage(filter, t); return { items: p.nsgs, next: p.skipToken }; }, graph),
    ...subs.map((s) => drain(async (t) => { const p = await gw.listVmStatusPage(s, t); return { items: p.statuses, next: p.nextLink }; }, status)),
  ]);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  return { wallMs, calls: gw.callCounts().armReads, graphPages, statusPages, throttled: gw.throttledCount(), vms: vms as number, nics: nics as number, nsgs: nsgs as number, statuses: perSub.reduce((a, b) => a + b, 0) };
}

/** Bench figure 6: the floor on its own (wall time and ARM calls), into the table and results.json (`raw.sweepFloor`). */
export async function sweepFloorFigure(paths: BenchPaths, quick: boolean, rows: Row[], raw: Record<string, unknown>, log: (s: string) => void): Promise<void> {
  log('figure 6: the fast sweep\'s floor (10,000 generated VMs, 4 subscriptions, Azure\'s throttling)');
  const r = await sweepFloorFigures(paths.repo, join(paths.tmp, 'sim-sweep'), quick, log);
  rows.push(...r.rows);
  raw.sweepFloor = r.raw;
}

export async function sweepFloorFigures(repo: string, certDir: string, quick: boolean, log: (s: string) => void): Promise<{ rows: Row[]; raw: unknown }> {
  const sim = await startSweepSimulator(repo, certDir, { vms: 10_000 });
  try {
    const runs: SweepFloorResult[] = [];
    for (let i = 0; i < (quick ? 1 : 2); i++) {
      // each run starts with Resource Graph's quota window reset, as a sweep started on its own would
      if (i > 0) await sleep(QUOTA_RESET_MS);
      const r = await replaySweepFloor(sim);
      log(`sweep floor: ${r.vms} VMs, ${r.calls} ARM calls (${r.graphPages} Resource Graph pages, ${r.statusPages} status pages), ${r.throttled} 429s waited out, ${r.wallMs.toFixed(0)} ms`);
      runs.push(r);
    }
    const best = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    const ops = await sim.operations();
    return {
      rows: [
        row({ figure: '6', metric: 'fast-sweep floor: wall time to read every page of a 10,000-VM fleet (Resource Graph + status pages, throttled as Azure)', unit: 'ms', value: best.wallMs, baseline: null, target: '', pass: null, note: `${best.throttled} 429s waited out` }),
        row({ figure: '6', metric: 'fast-sweep floor: ARM calls', unit: '', value: best.calls, baseline: null, target: '', pass: null, note: `${best.graphPages} Resource Graph + ${best.statusPages} status pages` }),
      ],
      raw: { runs, operations: { reads: ops.filter((o) => o.kind === 'read').length, throttled: ops.filter((o) => o.kind === 'throttled').length } },
    };
  } finally {
    await sim.child.stop();
  }
}

