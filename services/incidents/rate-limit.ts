/**
 * Per-user limit on diagnoses started (each one is a Run Command on a customer's VM): a sliding
 * window kept in this process. With several instances each keeps its own window, so the bound is
 * per instance; the point is that one user cannot queue hundreds of Run Commands.
 */
export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly limit: number, private readonly windowInMs: number, private readonly now: () => number = Date.now) {}

  /** Records a hit for `key` and returns true, or returns false (and records nothing) when over the limit. */
  take(key: string): boolean {
    const t = this.now();
    const recent = (this.hits.get(key) ?? []).filter((x) => t - x < this.windowInMs);
    if (recent.length >= this.limit) {
      this.hits.set(key, recent);
      return false;
    }
    recent.push(t);
    this.hits.set(key, recent);
    if (this.hits.size > 10000) this.prune(t);
    return true;
  }

  private prune(t: number): void {
    for (const [k, v] of this.hits) if (v.every((x) => t - x >= this.windowInMs)) this.hits.delete(k);
  }
}
