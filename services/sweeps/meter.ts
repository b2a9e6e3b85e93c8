/**
 * Where a deep sweep's time goes (issue #16, sweep-pace): an optional observer of the deep path
 * that the bench (bench/sweep.ts) passes as `SweepsDeps.meter`. It is told how long each VM
 * waited for its subscription's tokens, how long each Run Command took from its POST to its
 * result and how many ARM reads it made, and every change of the pool's occupancy; `summary()`
 * folds that into a few numbers. Nothing per VM is kept: sums, counts and a bounded histogram.
 */
export interface RunCommandSample {
  subscriptionId: string;
  /** from the call to the result (409 retries included) */
  ms: number;
  /** ARM reads the Run Command made (status polls and the result), when the gateway reports them */
  reads?: number;
  /** the first status poll found it finished */
  firstPollHit?: boolean;
}

export interface SweepMeter {
  /** a VM waited `ms` for the tokens of `bucket` ('w:<sub>' writes, '<sub>' reads) */
  budgetWait(bucket: string, ms: number): void;
  runCommand(sample: RunCommandSample): void;
  /** the pool holds `active` tasks from `atMs` on; `vmsRemain`: some VM is still to be dispatched */
  occupancy(active: number, vmsRemain: boolean, atMs: number): void;
}

export interface SweepMeterSummary {
  /** per bucket: total and longest wait (ms), and how many VMs waited at all */
  budgetWaits: Record<string, { totalMs: number; maxMs: number; waits: number }>;
  runCommands: number;
  /** POST to result, ms */
  runCommandMs: { mean: number; p50: number; p90: number; max: number };
  /** ARM reads per Run Command (status polls and the result), where reported */
  readsPerRunCommand: number | null;
  firstPollHits: number;
  /** place-seconds left idle while VMs remained to be dispatched, and the mean occupancy then */
  idlePlaceSeconds: number;
  meanInFlight: number;
}

/** A histogram of 50 ms bins up to 10 min: percentiles without keeping each sample. */
const BIN_MS = 50;
const BINS = (10 * 60_000) / BIN_MS;

export function createSweepMeter(concurrency: number): SweepMeter & { summary(): SweepMeterSummary } {
  const waits: Record<string, { totalMs: number; maxMs: number; waits: number }> = {};
  const bins = new Map<number, number>();
  let runs = 0;
  let totalMs = 0;
  let maxMs = 0;
  let reads = 0;
  let readRuns = 0;
  let hits = 0;
  let last: { active: number; remain: boolean; at: number } | null = null;
  let idle = 0;
  let busy = 0;
  let span = 0;

  const percentile = (q: number): number => {
    const want = Math.ceil(q * runs);
    let seen = 0;
    for (const [bin, n] of [...bins.entries()].sort((a, b) => a[0] - b[0])) {
      seen += n;
      if (seen >= want) return (bin + 1) * BIN_MS;
    }
    return maxMs;
  };

  return {
    budgetWait(bucket, ms) {
      if (ms <= 0) return;
      const w = (waits[bucket] ??= { totalMs: 0, maxMs: 0, waits: 0 });
      w.totalMs += ms;
      w.maxMs = Math.max(w.maxMs, ms);
      w.waits++;
    },
    runCommand(s) {
      runs++;
      totalMs += s.ms;
      maxMs = Math.max(maxMs, s.ms);
      const bin = Math.min(BINS - 1, Math.floor(s.ms / BIN_MS));
      bins.set(bin, (bins.get(bin) ?? 0) + 1);
      if (s.reads !== undefined) {
        reads += s.reads;
        readRuns++;
      }
      if (s.firstPollHit) hits++;
    },
    occupancy(active, vmsRemain, atMs) {
      if (last?.remain) {
        const dt = Math.max(0, atMs - last.at);
        idle += (Math.max(0, concurrency - last.active) * dt) / 1000;
        busy += (last.active * dt) / 1000;
        span += dt / 1000;
      }
      last = { active, remain: vmsRemain, at: atMs };
    },
    summary() {
      return {
        budgetWaits: structuredClone(waits),
        runCommands: runs,
        runCommandMs: { mean: runs ? totalMs / runs : 0, p50: runs ? percentile(0.5) : 0, p90: runs ? percentile(0.9) : 0, max: maxMs },
        readsPerRunCommand: readRuns ? reads / readRuns : null,
        firstPollHits: hits,
        idlePlaceSeconds: idle,
        meanInFlight: span > 0 ? busy / span : 0,
      };
    },
  };
}
