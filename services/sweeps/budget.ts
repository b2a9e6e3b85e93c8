/**
 * The client side of Azure's read limits (docs/sweeps.md "Budget"): one token bucket per
 * subscription for ARM reads and one for Resource Graph, so that a sweep never spends what the
 * bot's own diagnoses (and other tools of the tenant) need. A token is taken before each call.
 */
export interface BucketSpec {
  /** tokens added per second */
  ratePerSecond: number;
  /** the most tokens held (the burst) */
  burst: number;
}

export type Sleep = (ms: number) => Promise<void>;

export class TokenBucket {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();
  /** calls that had to wait for a token */
  waited = 0;
  /** no token before this time (Azure said Retry-After) */
  private pausedUntil = 0;

  constructor(private readonly spec: BucketSpec, private readonly now: () => number = Date.now, private readonly sleep: Sleep = (ms) => new Promise((r) => setTimeout(r, ms))) {
    if (!(spec.ratePerSecond > 0) || !(spec.burst >= 1)) throw new Error('a token bucket needs a positive rate and a burst of at least 1');
    this.tokens = spec.burst;
    this.last = now();
  }

  /** Waits until `n` tokens are there and takes them; callers are served in order. */
  take(n = 1): Promise<void> {
    const turn = this.chain.then(() => this.takeNow(Math.min(n, this.spec.burst)));
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  /** Azure answered 429: nothing more from this bucket for `ms` (Retry-After), and the burst is spent. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    this.tokens = 0;
  }

  /**
   * sweep-pace: the calls made were `n` more than the tokens taken for them (fewer when negative):
   * settled at once, the bucket may go below zero, and the next `take` waits for the refill.
   */
  adjust(n: number): void {
    if (!Number.isFinite(n) || n === 0) return;
    this.refill();
    this.tokens = Math.min(this.spec.burst, this.tokens - n);
  }

  /** how long this bucket still rests after a 429 (0: it does not) */
  pausedFor(): number {
    return Math.max(0, this.pausedUntil - this.now());
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.spec.burst, this.tokens + ((t - this.last) / 1000) * this.spec.ratePerSecond);
    this.last = t;
  }

  private async takeNow(n: number): Promise<void> {
    const wait = this.pausedUntil - this.now();
    if (wait > 0) {
      this.waited++;
      await this.sleep(wait);
      this.last = this.now();
    }
    this.refill();
    if (this.tokens < n) this.waited++;
    while (this.tokens < n) {
      await this.sleep(Math.ceil(((n - this.tokens) / this.spec.ratePerSecond) * 1000));
      this.refill();
    }
    this.tokens -= n;
  }
}

/** A bucket per key (subscription id, or 'graph'), made on first use. */
export class Budget {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly specFor: (key: string) => BucketSpec, private readonly now?: () => number, private readonly sleep?: Sleep) {}

  take(key: string, n = 1): Promise<void> {
    return this.bucket(key).take(n);
  }

  pause(key: string, ms: number): void {
    this.bucket(key).pause(ms);
  }

  /** sweep-pace: settles `n` calls more (or fewer) than the tokens taken for them (TokenBucket.adjust) */
  adjust(key: string, n: number): void {
    this.bucket(key).adjust(n);
  }

  /** how long the bucket of `key` still rests after a 429 (0: it does not) */
  pausedFor(key: string): number {
    return this.bucket(key).pausedFor();
  }

  private bucket(key: string): TokenBucket {
    const k = key.toLowerCase();
    let b = this.buckets.get(k);
    if (!b) this.buckets.set(k, (b = new TokenBucket(this.specFor(k), this.now, this.sleep)));
    return b;
  }

  /** how many calls waited for a token, over every bucket */
  waits(): number {
    let n = 0;
    for (const b of this.buckets.values()) n += b.waited;
    return n;
  }
}
