import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AzureGateway, RunScriptOptions, SweepGateway, SweepNic, SweepNsg, SweepVmStatus, VmSummary } from '../../services/azure/gateway';
import { DomainError } from '../../services/errors';
import { createLogger } from '../../services/log';
import { loadFleetFile } from '../../services/simulator/fleet';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { SqliteStore } from '../../services/store/sqlite';
import { Budget, TokenBucket } from '../../services/sweeps/budget';
import { createSweeps, type SweepsDeps } from '../../services/sweeps/service';
import type { SweepDigest, SweepObserver } from '../../services/sweeps/types';
import { defaultFleetPath } from '../../services/wiring/azure';

/**
 * The sweep service's rules over a gateway double: bounded concurrency, 429 and 409 handling,
 * progress cadence, the bounded worst list, failures. No real time passes: `sleep` advances a
 * fake clock and resolves at once.
 */

const SUB = '00000000-0000-4000-8000-000000000001';
const APPROVER = 'approver-1';
const vmId = (i: number) => `/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm-${String(i).padStart(4, '0')}`;
const nsgId = (i: number) => `/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.Network/networkSecurityGroups/nsg-${i}`;

// a healthy VM's diagnostic output, as the emulated interior prints it
const healthy = loadFleetFile(defaultFleetPath()).vms.find((v) => v.name === 'vm-healthy-01');
const STDOUT = createVmInterior().run(healthy!, 'diagnose', [], new Date()).stdout;

interface Fake {
  gateway: AzureGateway & SweepGateway;
  runs: string[];
  maxInFlight: number;
}

/** `n` running VMs; `exposed(i)`: RDP open to the Internet; `onRun`: what the Run Command does (default: the healthy output). */
function fakeGateway(n: number, opts: { exposed?: (i: number) => boolean; publicIp?: (i: number) => boolean; onRun?: (vmId: string, attempt: number) => Promise<void> | void; pageSize?: number } = {}): Fake {
  const pageSize = opts.pageSize ?? 10;
  const page = <T>(all: T[], token?: string) => {
    const at = Number(token ?? 0);
    return { items: all.slice(at, at + pageSize), next: at + pageSize < all.length ? String(at + pageSize) : undefined };
  };
  const idx = [...Array(n).keys()];
  const attempts = new Map<string, number>();
  let inFlight = 0;
  const fake: Fake = {
    runs: [],
    maxInFlight: 0,
    gateway: {
      async listVmsPage(_f, token) {
        const p = page(idx, token);
        return { vms: p.items.map((i): VmSummary => ({ id: vmId(i), name: `vm-${String(i).padStart(4, '0')}`, resourceGroup: 'rg-a', subscriptionId: SUB, location: 'westeurope', osType: 'Windows' })), skipToken: p.next };
      },
      async listNicsPage(_f, token) {
        const p = page(idx, token);
        return { nics: p.items.map((i): SweepNic => ({ id: `${vmId(i)}-nic`, vmId: vmId(i), nsgId: nsgId(i), hasPublicIp: opts.publicIp?.(i) ?? true })), skipToken: p.next };
      },
      async listNsgsPage(_f, token) {
        const p = page(idx, token);
        return {
          nsgs: p.items.map(
            (i): SweepNsg => ({
              id: nsgId(i),
              name: `nsg-${i}`,
              subscriptionId: SUB,
              resourceGroup: 'rg-a',
              rules: [{ name: 'rdp', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: opts.exposed?.(i) ? '*' : '198.51.100.0/24', destinationPortRange: '3389' }],
              networkInterfaceIds: [`${vmId(i)}-nic`],
              subnetIds: [],
            }),
          ),
          skipToken: p.next,
        };
      },
      async listVmStatusPage(_s, link) {
        const p = page(idx, link);
        return { statuses: p.items.map((i): SweepVmStatus => ({ vmId: vmId(i), powerState: 'running', agentStatus: 'Ready' })), nextLink: p.next };
      },
      async runScript(id: string, o: RunScriptOptions) {
        expect(o.scriptId).toBe('diagnose');
        const attempt = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, attempt);
        inFlight++;
        fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
        try {
          await new Promise((r) => setImmediate(r));
          await opts.onRun?.(id, attempt);
          fake.runs.push(id);
          return { stdout: STDOUT, stderr: '' };
        } finally {
          inFlight--;
        }
      },
    } as AzureGateway & SweepGateway,
  };
  return fake;
}

let store: SqliteStore;
beforeEach(() => {
  store = SqliteStore.open(mkdtempSync(join(tmpdir(), 'rdp-sweep-unit-')));
});
afterEach(async () => {
  await store.close();
});

function clock() {
  let t = Date.parse('2026-12-01T00:00:00Z');
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => new Date(t),
    advance: (ms: number) => {
      t += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

function deps(gateway: AzureGateway & SweepGateway, c: ReturnType<typeof clock>, extra: Partial<SweepsDeps> = {}): SweepsDeps {
  return { store, gateway, logger: createLogger('silent'), scope: { subscriptions: [SUB] }, isApprover: (id) => id === APPROVER, now: c.now, sleep: c.sleep, busyRetryDelayMs: 1000, ...extra };
}

async function sweep(d: SweepsDeps, kind: 'fast' | 'deep' = 'deep'): Promise<SweepDigest> {
  const s = createSweeps(d);
  return s.whenDone((await s.start({ kind, scope: {}, startedBy: APPROVER })).id);
}

async function resultOf(sweepId: string, id: string) {
  return (await store.sweeps.results(sweepId, 10_000)).results.find((r) => r.vmId === id);
}

it('never runs more diagnoses at once than the concurrency, and each VM once', async () => {
  const f = fakeGateway(40);
  const d = await sweep(deps(f.gateway, clock(), { concurrency: 6 }));
  expect(d).toMatchObject({ state: 'done', total: 40, done: 40, runCommands: 40 });
  expect(f.maxInFlight).toBe(6);
  expect(new Set(f.runs).size).toBe(40);
  expect(f.runs).toHaveLength(40);
});

it('honours Retry-After on a 429: the subscription rests that long; the VM is not run again (its Run Command may have run)', async () => {
  const c = clock();
  const f = fakeGateway(3, {
    onRun: (id, attempt) => {
      if (id === vmId(1) && attempt === 1) throw new DomainError('throttled', 'too many', { params: { retryAfterSeconds: 7 }, statusCode: 429 });
    },
  });
  const d = await sweep(deps(f.gateway, c, { concurrency: 1 }));
  // the next VM of the subscription waited the 7 s Azure asked for
  expect(c.sleeps).toContain(7000);
  expect((await resultOf(d.id, vmId(1)))?.skipped).toBe('error:throttled');
  expect(f.runs).toEqual([vmId(0), vmId(2)]);
  expect(d.skipped).toEqual({ error: 1 });
});

it('skips a busy VM (409), gives its slot back and tries it again later in the same sweep', async () => {
  const c = clock();
  const f = fakeGateway(3, {
    onRun: (id, attempt) => {
      if (id === vmId(2) && attempt === 1) throw new DomainError('conflict', 'busy', { statusCode: 409 });
    },
  });
  const d = await sweep(deps(f.gateway, c, { busyRetries: 2 }));
  expect(f.runs.filter((x) => x === vmId(2))).toHaveLength(1);
  expect((await resultOf(d.id, vmId(2)))?.skipped).toBeUndefined();
  expect(c.sleeps).toContain(1000);
});

it('reports a VM still busy after the retries as busy, and its slot stays free', async () => {
  const c = clock();
  const f = fakeGateway(2, {
    onRun: (id) => {
      if (id === vmId(0)) throw new DomainError('conflict', 'busy', { statusCode: 409 });
    },
  });
  const d = await sweep(deps(f.gateway, c, { busyRetries: 2 }));
  expect((await resultOf(d.id, vmId(0)))?.skipped).toBe('busy');
  expect(d.skipped).toEqual({ busy: 1 });
  expect(await store.sweeps.claimRunCommand(vmId(0), 'another', c.now(), 24 * 3600_000)).toBe(true);
  expect(await store.sweeps.claimRunCommand(vmId(1), 'another', c.now(), 24 * 3600_000)).toBe(false);
});

it('runs a VM again only after 24 h', async () => {
  const c = clock();
  const f = fakeGateway(2);
  await sweep(deps(f.gateway, c));
  c.advance(23 * 3600_000);
  const second = await sweep(deps(f.gateway, c));
  expect(second.skipped).toEqual({ 'checked-recently': 2 });
  c.advance(3600_000);
  const third = await sweep(deps(f.gateway, c));
  expect(third.skipped ?? {}).toEqual({});
  expect(f.runs).toHaveLength(4);
});

it('tells the observer progress at most every interval, with an ETA, then the end once', async () => {
  const c = clock();
  const seen: SweepDigest[] = [];
  const ended: SweepDigest[] = [];
  const observer: SweepObserver = { progress: async (d) => void seen.push(d), finished: async (d) => void ended.push(d) };
  // each Run Command takes 1 s of the fake clock; progress at most every 5 s
  const f = fakeGateway(30, { onRun: () => c.advance(1000) });
  await sweep(deps(f.gateway, c, { observer, concurrency: 1, progressIntervalMs: 5000 }));
  expect(ended).toHaveLength(1);
  expect(ended[0]).toMatchObject({ state: 'done', done: 30 });
  expect(seen.length).toBeGreaterThanOrEqual(4);
  expect(seen.length).toBeLessThanOrEqual(7);
  for (let i = 1; i < seen.length; i++) expect(seen[i].done).toBeGreaterThan(seen[i - 1].done);
  expect(seen.some((d) => d.eta !== undefined && d.done < d.total)).toBe(true);
});

it('keeps only the worst VMs in the digest; every result is in the store', async () => {
  // the first 60 VMs have no public IP (info), then every other one is open to the Internet (critical): the worse come later
  const f = fakeGateway(120, { exposed: (i) => i >= 60 && i % 2 === 0, publicIp: (i) => i >= 60 });
  const d = await sweep(deps(f.gateway, clock(), { worstLimit: 10 }), 'fast');
  expect(d.vms).toHaveLength(10);
  expect(d.vms.every((v) => v.findings.includes('rdp-exposed-to-internet'))).toBe(true);
  expect(d.counts['rdp-exposed-to-internet']).toBe(30);
  expect(d.counts['rdp-no-public-ip']).toBe(60);
  // VMs with a finding (sweep-ui's "and N more" on the card)
  expect((d as SweepDigest & { affected?: number }).affected).toBe(90);
  expect((await store.sweeps.results(d.id, 1000)).results).toHaveLength(120);
  expect(f.runs).toHaveLength(0);
});

it('spends the read budget: the status pages wait for tokens', async () => {
  const c = clock();
  const f = fakeGateway(30);
  await sweep(deps(f.gateway, c, { budget: { reads: { ratePerSecond: 1, burst: 1 } } }), 'fast');
  // 3 status pages, 1 token a second, a burst of 1: the 2nd and 3rd wait a second each
  expect(c.sleeps.filter((ms) => ms === 1000)).toHaveLength(2);
});

it('fails the sweep (and says so once) when the store fails', async () => {
  const ended: SweepDigest[] = [];
  const f = fakeGateway(5);
  const broken = { ...store, sweeps: { ...store.sweeps, create: store.sweeps.create.bind(store.sweeps), update: store.sweeps.update.bind(store.sweeps), claimRunCommand: store.sweeps.claimRunCommand.bind(store.sweeps), releaseRunCommand: store.sweeps.releaseRunCommand.bind(store.sweeps), get: store.sweeps.get.bind(store.sweeps), list: store.sweeps.list.bind(store.sweeps), results: store.sweeps.results.bind(store.sweeps), putResults: async () => { throw new Error('disk full'); } }, audit: store.audit };
  const s = createSweeps({ ...deps(f.gateway, clock(), { observer: { progress: async () => undefined, finished: async (d) => void ended.push(d) } }), store: broken, worstLimit: 3 });
  const d = await s.whenDone((await s.start({ kind: 'fast', scope: {}, startedBy: APPROVER })).id);
  expect(d).toMatchObject({ state: 'failed', error: 'internal' });
  expect(ended).toHaveLength(1);
});

describe('dispatch over several subscriptions', () => {
  const SUB_A = '00000000-0000-4000-8000-00000000000a';
  const SUB_B = '00000000-0000-4000-8000-00000000000b';
  const idOf = (sub: string, i: number) => `/subscriptions/${sub}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm-${sub.slice(-1)}-${i}`;

  /**
   * `n` running VMs in each of two subscriptions; the VM pages honour the filter's subscriptions and
   * come ordered by id (so grouped by subscription, as Resource Graph's). Records each Run Command
   * with its subscription and the fake clock's time.
   */
  function twoSubscriptions(n: number, c: ReturnType<typeof clock>, onRun?: (id: string, attempt: number) => void) {
    const all = [SUB_A, SUB_B].flatMap((sub) => [...Array(n).keys()].map((i) => ({ sub, id: idOf(sub, i) })));
    const pageSize = 5;
    const page = <T>(items: T[], token?: string) => {
      const at = Number(token ?? 0);
      return { items: items.slice(at, at + pageSize), next: at + pageSize < items.length ? String(at + pageSize) : undefined };
    };
    const of = (f: { subscriptionIds?: string[] }) => all.filter((v) => !f.subscriptionIds || f.subscriptionIds.includes(v.sub));
    const runs: Array<{ sub: string; id: string; at: number }> = [];
    const attempts = new Map<string, number>();
    const gateway = {
      async listVmsPage(f: { subscriptionIds?: string[] }, token?: string) {
        const p = page(of(f), token);
        return { vms: p.items.map((v): VmSummary => ({ id: v.id, name: v.id.split('/').pop()!, resourceGroup: 'rg-a', subscriptionId: v.sub, location: 'westeurope', osType: 'Windows' })), skipToken: p.next };
      },
      async listNicsPage(f: { subscriptionIds?: string[] }, token?: string) {
        const p = page(of(f), token);
        return { nics: p.items.map((v): SweepNic => ({ id: `${v.id}-nic`, vmId: v.id, nsgId: null as unknown as string, hasPublicIp: true })), skipToken: p.next };
      },
      async listNsgsPage() {
        return { nsgs: [] };
      },
      async listVmStatusPage(sub: string, link?: string) {
        const p = page(all.filter((v) => v.sub === sub), link);
        return { statuses: p.items.map((v): SweepVmStatus => ({ vmId: v.id, powerState: 'running', agentStatus: 'Ready' })), nextLink: p.next };
      },
      async runScript(id: string) {
        const attempt = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, attempt);
        const at = c.now().getTime();
        await new Promise((r) => setImmediate(r));
        onRun?.(id, attempt);
        runs.push({ sub: id.split('/')[2], id, at });
        return { stdout: STDOUT, stderr: '' };
      },
    } as unknown as AzureGateway & SweepGateway;
    return { gateway, runs, all };
  }

  it('one subscription waiting on its budget does not starve the other: no place is held while waiting', async () => {
    const c = clock();
    // sleeps do not end until the test says so: a VM that waits for a budget waits for real
    const waiting: Array<() => void> = [];
    const sleep = (ms: number) =>
      new Promise<void>((resolve) =>
        waiting.push(() => {
          c.advance(ms);
          resolve();
        }),
      );
    // A's first Run Command answers 429 (Retry-After 300 s): A rests; B has its budget
    const f = twoSubscriptions(6, c, (id, attempt) => {
      if (id === idOf(SUB_A, 0) && attempt === 1) throw new DomainError('throttled', 'too many', { params: { retryAfterSeconds: 300 }, statusCode: 429 });
    });
    const s = createSweeps({ ...deps(f.gateway, c, { concurrency: 1 }), scope: { subscriptions: [SUB_A, SUB_B] }, sleep });
    const done = s.whenDone((await s.start({ kind: 'deep', scope: {}, startedBy: APPROVER })).id);
    // let everything that can run run (a bounded number of turns of the event loop, no time)
    for (let i = 0; i < 2000 && f.runs.filter((r) => r.sub === SUB_B).length < 6; i++) await new Promise((r) => setImmediate(r));
    // with the only place free, B's six VMs ran while A rests
    expect(f.runs.filter((r) => r.sub === SUB_B)).toHaveLength(6);
    expect(f.runs.filter((r) => r.sub === SUB_A)).toHaveLength(0);
    expect(waiting.length).toBeGreaterThan(0);
    // end A's rest: its other VMs run, once each, and the throttled one is not run again
    for (let i = 0; i < 2000 && (f.runs.length < 11 || waiting.length > 0); i++) {
      waiting.splice(0).forEach((go) => go());
      await new Promise((r) => setImmediate(r));
    }
    const d = await done;
    expect(d).toMatchObject({ state: 'done', total: 12, done: 12, runCommands: 11 });
    expect(f.runs.filter((r) => r.sub === SUB_A).map((r) => r.id)).toEqual([1, 2, 3, 4, 5].map((i) => idOf(SUB_A, i)));
    expect(f.runs.filter((r) => r.sub === SUB_A).every((r) => r.at >= Date.parse('2026-12-01T00:00:00Z') + 300_000)).toBe(true);
  });

  it('keeps each subscription within its write budget and runs each VM exactly once', async () => {
    const c = clock();
    // sleepers wake in the order of their wake times, the clock jumping to each (no real time passes)
    const sleepers: Array<{ wake: number; go: () => void }> = [];
    const sleep = (ms: number) => new Promise<void>((go) => sleepers.push({ wake: c.now().getTime() + ms, go }));
    const f = twoSubscriptions(12, c);
    const writes = { ratePerSecond: 1, burst: 2 };
    const s = createSweeps({ ...deps(f.gateway, c, { concurrency: 10, budget: { writes } }), scope: { subscriptions: [SUB_A, SUB_B] }, sleep });
    let d: SweepDigest | undefined;
    void s.whenDone((await s.start({ kind: 'deep', scope: {}, startedBy: APPROVER })).id).then((x) => (d = x));
    for (let i = 0; i < 20_000 && !d; i++) {
      await new Promise((r) => setImmediate(r));
      if (i % 20 === 19 && sleepers.length > 0) {
        sleepers.sort((x, y) => x.wake - y.wake);
        const next = sleepers.shift()!;
        c.advance(Math.max(0, next.wake - c.now().getTime()));
        next.go();
      }
    }
    expect(d).toMatchObject({ state: 'done', total: 24, done: 24, runCommands: 24 });
    expect(f.runs).toHaveLength(24);
    expect(new Set(f.runs.map((r) => r.id)).size).toBe(24);
    for (const sub of [SUB_A, SUB_B]) {
      const at = f.runs.filter((r) => r.sub === sub).map((r) => r.at);
      expect(at).toHaveLength(12);
      // any k Run Commands of one subscription span at least the time the bucket needs to give k tokens
      for (let i = 0; i < at.length; i++) for (let j = i; j < at.length; j++) expect(j - i + 1).toBeLessThanOrEqual(writes.burst + Math.floor(((at[j] - at[i]) / 1000) * writes.ratePerSecond));
    }
  });
});

describe('token bucket', () => {
  it('gives a burst at once, then tokens at the rate', async () => {
    const c = clock();
    const b = new TokenBucket({ ratePerSecond: 2, burst: 3 }, () => c.now().getTime(), c.sleep);
    for (let i = 0; i < 7; i++) await b.take();
    // 3 at once, then 4 more at 2/s: 2 s of waiting
    expect(c.sleeps.reduce((a, x) => a + x, 0)).toBe(2000);
  });

  it('keeps one bucket per key', async () => {
    const c = clock();
    const budget = new Budget(() => ({ ratePerSecond: 1, burst: 1 }), () => c.now().getTime(), c.sleep);
    await budget.take('a');
    await budget.take('B');
    await budget.take('b');
    expect(c.sleeps).toEqual([1000]);
    expect(budget.waits()).toBe(1);
  });
});
