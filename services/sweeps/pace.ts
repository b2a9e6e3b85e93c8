import type { RunCommandPollReport, RunCommandPolling } from '../azure/gateway';

/**
 * sweep-pace (issue #16): when a deep sweep first polls a Run Command's status, learned from the
 * Run Commands it has polled so far (docs/sweeps.md "Run Command polls"). A poll that finds the
 * Run Command finished shortens the next first poll a little; one that finds it still running
 * lengthens it more, and at least to the time it was last seen running. The steps (5 % up,
 * 0.5 % down) settle where about one Run Command in ten needs a second poll: most cost two ARM
 * reads (the poll and the result), and none waits long past its end. A report of a Run Command
 * whose first poll was set before the latest change only moves the estimate past what it says,
 * so fifty Run Commands started together do not push it fifty steps; and it rises at least to
 * the median of the last five lower bounds seen, so the first Run Commands teach it a duration far
 * from its start at once, while one slow Run Command does not.
 */
export interface PaceOptions {
  /** the first poll of the first Run Commands, before anything is learned (default 1 s) */
  initialFirstPollInMs?: number;
  /** bounds of the first poll (default 250 ms and 10 min) */
  minFirstPollInMs?: number;
  maxFirstPollInMs?: number;
  /** relative steps after a poll that found it running / finished (default 0.05 / 0.005) */
  up?: number;
  down?: number;
}

export class RunCommandPace {
  private first: number;
  private readonly min: number;
  private readonly max: number;
  private readonly up: number;
  private readonly down: number;
  /** the last five lower bounds seen (a Run Command still running then): their median, so one slow Run Command does not set the pace */
  private readonly lowerBounds: number[] = [];

  constructor(o: PaceOptions = {}) {
    this.min = o.minFirstPollInMs ?? 250;
    this.max = Math.max(this.min, o.maxFirstPollInMs ?? 10 * 60_000);
    this.up = o.up ?? 0.05;
    this.down = o.down ?? 0.005;
    this.first = this.clamp(o.initialFirstPollInMs ?? 1000);
  }

  /** the first poll's delay now (ms after Azure accepted the Run Command) */
  firstPollInMs(): number {
    return this.first;
  }

  /** The schedule for the next Run Command; `onPolled` also hears its report (the budget's reconciliation). */
  polling(onPolled?: (report: RunCommandPollReport) => void): RunCommandPolling {
    return {
      firstPollInMs: Math.round(this.first),
      onPolled: (report) => {
        this.observe(report);
        onPolled?.(report);
      },
    };
  }

  observe(r: RunCommandPollReport): void {
    const now = Math.round(this.first);
    if (r.firstPollHit) {
      // finished by a first poll no later than today's: today's may shrink (a later one says nothing new)
      if (r.firstPollInMs <= now) this.first = this.clamp(this.first * (1 - this.down));
    } else if (r.running > 0) {
      // still running at a first poll no earlier than today's: today's grows; and in any case the
      // Run Command ran at least `lastRunningAtMs` after acceptance
      const grown = r.firstPollInMs >= now ? this.first * (1 + this.up) : this.first;
      this.lowerBounds.push(r.lastRunningAtMs);
      if (this.lowerBounds.length > 5) this.lowerBounds.shift();
      this.first = this.clamp(Math.max(grown, median(this.lowerBounds)));
    }
    // no poll made (refused, aborted before the first): nothing learned
  }

  private clamp(ms: number): number {
    return Math.min(this.max, Math.max(this.min, ms));
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] as number);
}
