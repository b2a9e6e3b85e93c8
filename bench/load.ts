import { nowMs } from './connector';
import type { BackgroundResult, ConversationRun } from './conversations';
import { cpuMs, sleep } from './procs';

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  /** one conversation; `n` is unique across the run */
  conversation: (n: number) => Promise<ConversationRun>;
  /** the process whose CPU time is counted (the bot) */
  pid: number;
  /** how long to wait for outstanding background work after the window */
  drainMs: number;
}

export interface LoadResult {
  concurrency: number;
  turns: number;
  conversations: number;
  /** every conversation that got through its turns, in the window or not */
  invoked: number;
  windowMs: number;
  turnsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** bot CPU (user + system) in the window, per turn completed in the window */
  cpuMsPerTurn: number;
  /** bot CPU use in the window, in cores */
  cpuCores: number;
  errors: number;
  firstError?: string;
  background?: { completed: number; failed: number; p50: number; p99: number };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Closed loop: `concurrency` simulated users, each starting its next conversation as soon as
 * its previous one has had its turns answered (no think time). Turns that end inside the
 * measured window (after the warm-up) count; CPU is read at the window's edges.
 */
export async function runClosedLoop(o: LoadOptions): Promise<LoadResult> {
  const t0 = nowMs();
  const windowStart = t0 + o.warmupMs;
  const windowEnd = windowStart + o.measureMs;
  const latencies: number[] = [];
  const backgrounds: Array<Promise<BackgroundResult>> = [];
  const outside: Array<Promise<BackgroundResult>> = [];
  let conversations = 0;
  let invoked = 0;
  let errors = 0;
  let firstError: string | undefined;
  let seq = 0;
  let cpuAtStart = NaN;

  let cpuAtEnd = NaN;
  const cpuMarks = (async () => {
    await sleep(Math.max(0, windowStart - nowMs()));
    cpuAtStart = cpuMs(o.pid);
    await sleep(Math.max(0, windowEnd - nowMs()));
    cpuAtEnd = cpuMs(o.pid);
  })();

  const inWindow = (t: number): boolean => t >= windowStart && t <= windowEnd;
  const user = async (): Promise<void> => {
    while (nowMs() < windowEnd) {
      try {
        const run = await o.conversation(++seq);
        invoked++;
        for (const t of run.turns) if (inWindow(t.endedAt)) latencies.push(t.ms);
        if (inWindow(run.turns[run.turns.length - 1]?.endedAt ?? NaN)) {
          conversations++;
          if (run.background) backgrounds.push(run.background);
        } else if (run.background) outside.push(run.background);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
        await sleep(50);
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, user));
  await cpuMarks;

  // background work must finish too (bounded), also that of conversations outside the window:
  // it would otherwise load the next measurement
  const [settled] = await Promise.race([
    Promise.all([Promise.allSettled(backgrounds), Promise.allSettled(outside)]),
    sleep(o.drainMs).then(() => [null] as const),
  ]);
  let background: LoadResult['background'];
  if (backgrounds.length) {
    const ok = (settled ?? []).flatMap((s) => (s.status === 'fulfilled' ? [s.value.toFindingsMs] : [])).sort((a, b) => a - b);
    background = { completed: ok.length, failed: backgrounds.length - ok.length, p50: percentile(ok, 50), p99: percentile(ok, 99) };
    const rejected = (settled ?? []).find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected && !firstError) firstError = String((rejected.reason as Error).message);
  }

  latencies.sort((a, b) => a - b);
  const windowMs = o.measureMs;
  const cpu = cpuAtEnd - cpuAtStart;
  return {
    concurrency: o.concurrency,
    turns: latencies.length,
    conversations,
    invoked,
    windowMs,
    turnsPerSecond: (latencies.length * 1000) / windowMs,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
    cpuMsPerTurn: latencies.length ? cpu / latencies.length : NaN,
    cpuCores: cpu / windowMs,
    errors,
    firstError,
    background,
  };
}
