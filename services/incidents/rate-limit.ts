/**
 * Per-user limits (diagnoses started, Azure searches, incidents opened, fix requests): a sliding
 * window per user. Where the window lives is the store's choice: with one process (SQLite) it is
 * kept in memory; with several instances (Azure Storage) every instance counts in one shared row
 * (`LimitWindows`, an ETag-conditional write), so a user cannot multiply a limit by the number of
 * instances behind the load balancer.
 */
export interface LimitWindows {
  /**
   * Records a hit for `key` in the limit named `scope` and returns true, or returns false (and
   * records nothing) when `limit` hits are already within the last `windowInMs` before `nowMs`.
   */
  take(scope: string, key: string, limit: number, windowInMs: number, nowMs: number): Promise<boolean>;
}

/** The windows of one process. */
export class MemoryLimitWindows implements LimitWindows {
  private readonly hits = new Map<string, number[]>();

  async take(scope: string, key: string, limit: number, windowInMs: number, t: number): Promise<boolean> {
    const id = `${scope}\u0000${key}`;
    const recent = (this.hits.get(id) ?? []).filter((x) => t - x < windowInMs);
    if (recent.length >= limit) {
      this.hits.set(id, recent);
      return false;
    }
    recent.push(t);
    this.hits.set(id, recent);
    if (this.hits.size > 10000) this.prune(t, windowInMs);
    return true;
  }

  private prune(t: number, windowInMs: number): void {
    for (const [k, v] of this.hits) if (v.every((x) => t - x >= windowInMs)) this.hits.delete(k);
  }
}

export class RateLimiter {
  constructor(
    private readonly scope: string,
    private readonly limit: number,
    private readonly windowInMs: number,
    private readonly now: () => number = Date.now,
    private readonly windows: LimitWindows = new MemoryLimitWindows(),
  ) {}

  /** Records a hit for `key` and resolves true, or resolves false (and records nothing) when over the limit. */
  take(key: string): Promise<boolean> {
    return this.windows.take(this.scope, key, this.limit, this.windowInMs, this.now());
  }
}
