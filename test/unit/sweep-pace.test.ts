import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AzureGateway, RunCommandPollReport, RunScriptOptions, SweepGateway, SweepNic, SweepVmStatus, VmSummary } from '../../services/azure/gateway';
import { nextPollDelayInMs, pollRunCommand, type OperationHints, type StatusPoller } from '../../services/azure/run-command-polls';
import { OperationWatch, operationIdOf } from '../../services/azure/sdk-clients';
import { DomainError } from '../../services/errors';
import { createLogger } from '../../services/log';
import { loadFleetFile } from '../../services/simulator/fleet';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { SqliteStore } from '../../services/store/sqlite';
import { TokenBucket } from '../../services/sweeps/budget';
import { createSweepMeter } from '../../services/sweeps/meter';
import { RunCommandPace } from '../../services/sweeps/pace';
import { createSweeps, type SweepsDeps } from '../../services/sweeps/service';
import type { SweepDigest } from '../../services/sweeps/types';
import { defaultFleetPath } from '../../services/wiring/azure';

/**
 * sweep-pace (issue #16): a Run Command's status polls spaced to its expected duration, the
 * duration learned by the sweep, and the reads they really cost settled with the read budget.
 * No real time passes: every sleep advances a fake clock.
 */

function clock(start = 0) {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

/** A Run Command that finishes `durationMs` after acceptance, seen through the SDK poller's surface. */
function fakePoller(c: ReturnType<typeof clock>, durationMs: number, opts: { failAt?: number } = {}) {
  let done = false;
  const polls: number[] = [];
  const poller: StatusPoller<string> = {
    get isDone() {
      return done;
    },
    get result() {
      return done ? 'output' : undefined;
    },
    async poll() {
      polls.push(c.now());
      if (opts.failAt !== undefined && c.now() >= opts.failAt) throw new Error('The long-running operation has failed. VMAgentStatusCommunicationError.');
      if (c.now() >= durationMs) done = true;
    },
  };
  return { poller, polls };
}

describe('the poll schedule', () => {
  it('polls first at the expected duration, then an eighth of the time so far, doubling to a half, within the bounds', () => {
    const p = { firstPollInMs: 2000 };
    expect(nextPollDelayInMs(p, 0, 0)).toBe(2000);
    expect(nextPollDelayInMs(p, 2000, 1)).toBe(250);
    expect(nextPollDelayInMs(p, 4000, 2)).toBe(1000);
    expect(nextPollDelayInMs(p, 3000, 3)).toBe(1500);
    expect(nextPollDelayInMs(p, 3000, 6)).toBe(1500);
    // bounds: at least 250 ms, at most 30 s
    expect(nextPollDelayInMs({ firstPollInMs: 10 }, 100, 1)).toBe(250);
    expect(nextPollDelayInMs(p, 600_000, 9)).toBe(30_000);
    expect(nextPollDelayInMs({ firstPollInMs: 10, minIntervalInMs: 5, maxIntervalInMs: 40, backoff: 1 }, 100, 1)).toBe(40);
  });

  it('never polls sooner than a Retry-After Azure gave', () => {
    expect(nextPollDelayInMs({ firstPollInMs: 2000 }, 0, 0, 5000)).toBe(5000);
    expect(nextPollDelayInMs({ firstPollInMs: 2000 }, 2000, 1, 3000)).toBe(3000);
    // a shorter one changes nothing
    expect(nextPollDelayInMs({ firstPollInMs: 2000 }, 0, 0, 1000)).toBe(2000);
  });
});

describe('polling a Run Command', () => {
  it('a first poll at its duration finds it finished: one poll and the result, two reads', async () => {
    const c = clock();
    const { poller, polls } = fakePoller(c, 2000);
    let report: RunCommandPollReport | undefined;
    expect(await pollRunCommand(poller, { firstPollInMs: 2000, onPolled: (r) => (report = r) }, { now: c.now, sleep: c.sleep, acceptedAt: 0 })).toBe('output');
    expect(c.sleeps).toEqual([2000]);
    expect(polls).toEqual([2000]);
    expect(report).toEqual({ reads: 2, running: 0, firstPollHit: true, firstPollInMs: 2000, lastRunningAtMs: 0, doneAtMs: 2000 });
  });

  it('a Run Command longer than expected is polled again later and later', async () => {
    const c = clock();
    const { poller, polls } = fakePoller(c, 5000);
    let report: RunCommandPollReport | undefined;
    await pollRunCommand(poller, { firstPollInMs: 2000, onPolled: (r) => (report = r) }, { now: c.now, sleep: c.sleep, acceptedAt: 0 });
    // a first poll that just missed is followed soon (an eighth of the time so far), later ones at growing shares up to a half
    expect(polls).toEqual([2000, 2250, 2813, 4220, 6330]);
    expect(report).toMatchObject({ reads: 6, running: 4, firstPollHit: false, lastRunningAtMs: 4220, doneAtMs: 6330 });
  });

  it('honours Retry-After, on the 202 and on a poll, and counts the reads the pipeline saw', async () => {
    const c = clock();
    const { poller, polls } = fakePoller(c, 9000);
    const hints: OperationHints & { n: number; after: Array<number | undefined> } = {
      n: 0,
      after: [6000, undefined],
      reads() {
        return this.n;
      },
      takeRetryAfterInMs() {
        this.n++; // one HTTP request per poll here
        return this.after.shift();
      },
    };
    await pollRunCommand(poller, { firstPollInMs: 1000 }, { now: c.now, sleep: c.sleep, acceptedAt: 0, initialRetryAfterInMs: 4000, hints });
    // the first poll waits the 202's 4 s, the second the poll's 6 s, then the schedule
    expect(polls).toEqual([4000, 10_000]);
  });

  it('a failed Run Command throws as the SDK would, and its polls are still reported', async () => {
    const c = clock();
    const { poller } = fakePoller(c, 10_000, { failAt: 2500 });
    const reports: RunCommandPollReport[] = [];
    await expect(pollRunCommand(poller, { firstPollInMs: 2000, onPolled: (r) => reports.push(r) }, { now: c.now, sleep: c.sleep, acceptedAt: 0 })).rejects.toThrow(/VMAgentStatusCommunicationError/);
    expect(reports).toEqual([{ reads: 3, running: 2, firstPollHit: false, firstPollInMs: 2000, lastRunningAtMs: 2250 }]);
  });

  it('the caller\'s bound (abort) ends the waiting', async () => {
    const c = clock();
    const { poller } = fakePoller(c, 10_000);
    const ac = new AbortController();
    const sleep = async (ms: number, signal?: AbortSignal) => {
      ac.abort();
      if (signal?.aborted) throw new Error('aborted');
      await c.sleep(ms);
    };
    await expect(pollRunCommand(poller, { firstPollInMs: 2000 }, { now: c.now, sleep, signal: ac.signal, acceptedAt: 0 })).rejects.toThrow('aborted');
  });
});

describe('the pipeline watch of an operation', () => {
  const response = (status: number, headers: Record<string, string> = {}) => ({ status, headers: { get: (n: string) => headers[n], delete: () => undefined, set: () => undefined } });
  const url = 'https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/locations/westeurope/operations/ABC-123?p=runCommand&api-version=2024-07-01';

  it('names the operation in its status and result URLs', () => {
    expect(operationIdOf(url)).toBe('abc-123');
    expect(operationIdOf('https://x/subscriptions/s/providers/Microsoft.Network/locations/w/operationResults/Z9?api-version=1')).toBe('z9');
    expect(operationIdOf('https://x/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/vm')).toBeUndefined();
  });

  it('counts each request to a watched operation and keeps its Retry-After once; forgets it when stopped', async () => {
    const w = new OperationWatch();
    const policy = w.policy();
    const hints = w.watch(url)!;
    await policy.sendRequest({ url, method: 'GET' }, async () => response(200, { 'retry-after': '3' }));
    await policy.sendRequest({ url: `${url}&monitor=true`, method: 'GET' }, async () => response(200));
    // another operation, and a write, are not counted
    await policy.sendRequest({ url: url.replace('ABC-123', 'other'), method: 'GET' }, async () => response(200));
    await policy.sendRequest({ url, method: 'POST' }, async () => response(202));
    expect(hints.reads()).toBe(2);
    expect(hints.takeRetryAfterInMs()).toBeUndefined(); // the newest answer had none
    await policy.sendRequest({ url, method: 'GET' }, async () => response(200, { 'retry-after': '3' }));
    expect(hints.takeRetryAfterInMs()).toBe(3000);
    expect(hints.takeRetryAfterInMs()).toBeUndefined();
    expect(w.size()).toBe(1);
    hints.stop();
    expect(w.size()).toBe(0);
  });
});

describe('the learned first poll', () => {
  const report = (r: Partial<RunCommandPollReport> & { firstPollInMs: number }): RunCommandPollReport => ({ reads: 2, running: 0, firstPollHit: false, lastRunningAtMs: 0, ...r });

  it('rises at once to what the first Run Commands show, then settles near their duration', () => {
    const pace = new RunCommandPace({ initialFirstPollInMs: 1000 });
    // fifty Run Commands of 2 s started with the first poll at 1 s: each was running at 1.5 s
    for (let i = 0; i < 50; i++) pace.observe(report({ firstPollInMs: 1000, running: 2, lastRunningAtMs: 1500, doneAtMs: 2250 }));
    // not fifty steps of 5 %: the lower bound they showed
    expect(pace.firstPollInMs()).toBeCloseTo(1500, 0);
    // then Run Commands of 2 s polled at the learned value, until it passes 2 s
    for (let i = 0; i < 20 && pace.firstPollInMs() < 2000; i++) {
      const first = Math.round(pace.firstPollInMs());
      pace.observe(report({ firstPollInMs: first, running: 1, lastRunningAtMs: first, doneAtMs: first * 1.5 }));
    }
    expect(pace.firstPollInMs()).toBeGreaterThanOrEqual(2000);
    expect(pace.firstPollInMs()).toBeLessThan(2200);
  });

  it('shrinks a little after each first poll that found it finished, and only for polls no later than today\'s', () => {
    const pace = new RunCommandPace({ initialFirstPollInMs: 2000 });
    pace.observe(report({ firstPollInMs: 2000, firstPollHit: true, doneAtMs: 2000 }));
    expect(pace.firstPollInMs()).toBeCloseTo(1990, 5);
    // a hit at a later first poll (set before the last change) says nothing new
    pace.observe(report({ firstPollInMs: 2000, firstPollHit: true, doneAtMs: 2000 }));
    expect(pace.firstPollInMs()).toBeCloseTo(1990, 5);
  });

  it('one slow Run Command does not set the pace (the median of the last five lower bounds)', () => {
    const pace = new RunCommandPace({ initialFirstPollInMs: 2000 });
    for (let i = 0; i < 4; i++) pace.observe(report({ firstPollInMs: Math.round(pace.firstPollInMs()), running: 1, lastRunningAtMs: Math.round(pace.firstPollInMs()) }));
    const before = pace.firstPollInMs();
    pace.observe(report({ firstPollInMs: Math.round(before), running: 6, lastRunningAtMs: 60_000 }));
    expect(pace.firstPollInMs()).toBeLessThan(before * 1.1);
  });

  it('learns nothing from a Run Command refused before any poll', () => {
    const pace = new RunCommandPace({ initialFirstPollInMs: 3000 });
    pace.observe(report({ firstPollInMs: 3000, reads: 0 }));
    expect(pace.firstPollInMs()).toBe(3000);
  });
});

describe('settling the read budget', () => {
  it('reads beyond what was taken make the next take wait for the refill; a refund never passes the burst', async () => {
    const c = clock();
    const b = new TokenBucket({ ratePerSecond: 2, burst: 4 }, c.now, c.sleep);
    await b.take(2);
    // the Run Command really made 6 reads, 4 more than taken: 2 left - 4 = -2
    b.adjust(4);
    await b.take(2);
    // 4 tokens short at 2/s
    expect(c.sleeps).toEqual([2000]);
    b.adjust(-100);
    await b.take(4);
    await b.take(1);
    expect(c.sleeps).toEqual([2000, 500]);
  });
});

describe('a deep sweep with paced polls', () => {
  const SUB_A = '00000000-0000-4000-8000-00000000000a';
  const SUB_B = '00000000-0000-4000-8000-00000000000b';
  const healthy = loadFleetFile(defaultFleetPath()).vms.find((v) => v.name === 'vm-healthy-01');
  const STDOUT = createVmInterior().run(healthy!, 'diagnose', [], new Date()).stdout;
  const idOf = (sub: string, i: number) => `/subscriptions/${sub}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm-${sub.slice(-1)}-${i}`;
  let store: SqliteStore;
  beforeEach(() => {
    store = SqliteStore.open(mkdtempSync(join(tmpdir(), 'rdp-sweep-pace-')));
  });
  afterEach(async () => {
    await store.close();
  });

  /** VMs in each subscription; `run` decides what a Run Command does with the schedule it was given. */
  function gateway(subs: string[], n: number, run: (id: string, o: RunScriptOptions) => Promise<void>) {
    const all = subs.flatMap((sub) => [...Array(n).keys()].map((i) => ({ sub, id: idOf(sub, i) })));
    const of = (f: { subscriptionIds?: string[] }) => all.filter((v) => !f.subscriptionIds || f.subscriptionIds.includes(v.sub));
    return {
      async listVmsPage(f: { subscriptionIds?: string[] }) {
        return { vms: of(f).map((v): VmSummary => ({ id: v.id, name: v.id.split('/').pop()!, resourceGroup: 'rg-a', subscriptionId: v.sub, location: 'westeurope', osType: 'Windows' })) };
      },
      async listNicsPage(f: { subscriptionIds?: string[] }) {
        return { nics: of(f).map((v): SweepNic => ({ id: `${v.id}-nic`, vmId: v.id, nsgId: null as unknown as string, hasPublicIp: true })) };
      },
      async listNsgsPage() {
        return { nsgs: [] };
      },
      async listVmStatusPage(sub: string) {
        return { statuses: all.filter((v) => v.sub === sub).map((v): SweepVmStatus => ({ vmId: v.id, powerState: 'running', agentStatus: 'Ready' })) };
      },
      async runScript(id: string, o: RunScriptOptions) {
        await run(id, o);
        return { stdout: STDOUT, stderr: '' };
      },
    } as unknown as AzureGateway & SweepGateway;
  }

  function deps(g: AzureGateway & SweepGateway, c: ReturnType<typeof clock>, subs: string[], extra: Partial<SweepsDeps> = {}): SweepsDeps {
    return { store, gateway: g, logger: createLogger('silent'), scope: { subscriptions: subs }, isApprover: () => true, now: () => new Date(c.now()), sleep: c.sleep, ...extra };
  }

  async function sweep(d: SweepsDeps): Promise<SweepDigest> {
    const s = createSweeps(d);
    return s.whenDone((await s.start({ kind: 'deep', scope: {}, startedBy: 'schedule' })).id);
  }

  it('gives each Run Command the first poll learned from the ones before', async () => {
    const c = clock(Date.parse('2026-12-01T00:00:00Z'));
    const firsts: number[] = [];
    // every Run Command takes 3 s: each is polled as the schedule says (one poll when it is long enough)
    const g = gateway([SUB_A], 8, async (_id, o) => {
      const p = o.polling!;
      firsts.push(p.firstPollInMs);
      const running = p.firstPollInMs < 3000;
      p.onPolled?.({ reads: running ? 3 : 2, running: running ? 1 : 0, firstPollHit: !running, firstPollInMs: p.firstPollInMs, lastRunningAtMs: running ? p.firstPollInMs : 0, doneAtMs: running ? p.firstPollInMs * 1.5 : p.firstPollInMs });
    });
    const d = await sweep(deps(g, c, [SUB_A], { concurrency: 1, runCommandPace: { initialFirstPollInMs: 1000 } }));
    expect(d).toMatchObject({ state: 'done', runCommands: 8 });
    expect(firsts[0]).toBe(1000);
    // it rose after each Run Command still running at its first poll
    for (let i = 1; i < firsts.length; i++) expect(firsts[i]).toBeGreaterThanOrEqual(firsts[i - 1] ?? 0);
    expect(firsts[firsts.length - 1]).toBeGreaterThan(1000);
  });

  it('charges two reads before a Run Command and settles the rest after: the next one waits for them', async () => {
    const c = clock(Date.parse('2026-12-01T00:00:00Z'));
    // 6 reads each: 4 more than taken
    const g = gateway([SUB_A], 3, async (_id, o) => {
      o.polling!.onPolled?.({ reads: 6, running: 4, firstPollHit: false, firstPollInMs: o.polling!.firstPollInMs, lastRunningAtMs: 1000, doneAtMs: 2000 });
    });
    const reads = { ratePerSecond: 1, burst: 10 };
    await sweep(deps(g, c, [SUB_A], { concurrency: 1, budget: { reads } }));
    // the status page took 1; three Run Commands took 2 each and spent 4 more: 1 + 3 x 6 = 19 reads of
    // a bucket of 10 at 1/s. The third Run Command's 2 tokens: 10 - 1 - 6 - 6 = -3 left, 5 short
    expect(c.sleeps.reduce((a, b) => a + b, 0)).toBe(5000);
  });

  it('without pacing (runCommandPace: false) no schedule is passed, and three reads are charged', async () => {
    const c = clock(Date.parse('2026-12-01T00:00:00Z'));
    const seen: Array<RunScriptOptions['polling']> = [];
    const g = gateway([SUB_A], 4, async (_id, o) => {
      seen.push(o.polling);
    });
    await sweep(deps(g, c, [SUB_A], { concurrency: 1, budget: { reads: { ratePerSecond: 1, burst: 4 } }, runCommandPace: false }));
    expect(seen).toEqual([undefined, undefined, undefined, undefined]);
    // 1 page + 4 x 3 = 13 reads of a bucket of 4 at 1/s: 9 s of waiting
    expect(c.sleeps.reduce((a, b) => a + b, 0)).toBe(9000);
  });

  it('keeps every place busy while one subscription rests after a 429: the other fills them all', async () => {
    const c = clock(Date.parse('2026-12-01T00:00:00Z'));
    const meter = createSweepMeter(4);
    const gates: Array<() => void> = [];
    const inFlight = new Set<string>();
    let most = 0;
    const g = gateway([SUB_A, SUB_B], 6, async (id) => {
      // A's first Run Command is refused with 429 (Retry-After 300 s): A rests, its next VM waits
      if (id === idOf(SUB_A, 0)) throw new DomainError('throttled', 'too many', { params: { retryAfterSeconds: 300 }, statusCode: 429 });
      inFlight.add(id);
      most = Math.max(most, inFlight.size);
      await new Promise<void>((go) => gates.push(go));
      inFlight.delete(id);
    });
    // sleeps (A's rest) end only when the test says so
    const sleeps: Array<() => void> = [];
    const sleep = (ms: number) => new Promise<void>((go) => sleeps.push(() => (c.advance(ms), go())));
    const s = createSweeps({ ...deps(g, c, [SUB_A, SUB_B], { concurrency: 4, meter }), sleep });
    const started = await s.start({ kind: 'deep', scope: {}, startedBy: 'schedule' });
    for (let i = 0; i < 2000 && inFlight.size < 4; i++) await new Promise((r) => setImmediate(r));
    // all four places run B's VMs while A rests
    expect([...inFlight].every((id) => id.includes(`/subscriptions/${SUB_B}/`))).toBe(true);
    expect(inFlight.size).toBe(4);
    for (let i = 0; i < 5000 && (gates.length > 0 || sleeps.length > 0 || inFlight.size > 0 || meter.summary().runCommands < 11); i++) {
      gates.splice(0).forEach((go) => go());
      sleeps.splice(0).forEach((go) => go());
      await new Promise((r) => setImmediate(r));
    }
    const d = await s.whenDone(started.id);
    expect(d).toMatchObject({ state: 'done', total: 12, runCommands: 11 });
    expect(most).toBe(4);
    // the meter saw every Run Command that ran, and the pool at most full
    expect(meter.summary().runCommands).toBe(11);
    expect(meter.summary().meanInFlight).toBeLessThanOrEqual(4);
  });
});
