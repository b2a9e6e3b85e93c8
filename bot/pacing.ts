/**
 * Teams limits what a bot may send into one conversation (per bot per thread: 7 operations in
 * 1 s, 8 in 2 s, 60 in 30 s, 1800 in an hour) and answers 429 beyond that. Every request to the
 * channel takes one token from each bucket of its conversation; a bucket of capacity C refilled
 * at r per second lets at most C + r·T operations through in any window of T seconds, so the
 * buckets below stay under every documented window with a margin of one for clock skew.
 */
export interface BucketSpec {
  capacity: number;
  refillPerSecond: number;
}

export const TEAMS_CONVERSATION_BUCKETS: BucketSpec[] = [
  { capacity: 3, refillPerSecond: 2 }, // 1 s: 5 of 7; 2 s: 7 of 8
  { capacity: 20, refillPerSecond: 1.2 }, // 30 s: 56 of 60
  { capacity: 100, refillPerSecond: 0.45 }, // 1 h: 1720 of 1800
];

/** The most operations the buckets let through in any window of `seconds` (the limits test checks it). */
export function worstCaseInWindow(buckets: BucketSpec[], seconds: number): number {
  return Math.min(...buckets.map((b) => b.capacity + Math.floor(b.refillPerSecond * seconds)));
}

interface Lane {
  tokens: number[];
  at: number;
  /** the end of the chain of work queued on this conversation */
  tail: Promise<void>;
  queued: number;
}

const PRUNE_AT = 1000;

export type Clock = { now(): number; sleep(ms: number): Promise<void> };

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/**
 * One lane per conversation: work runs one at a time in arrival order (a retry's back-off holds
 * the lane, so a throttled conversation is not hit by the next message meanwhile), and each
 * HTTP attempt first waits for a token of every bucket.
 */
export class ConversationPacer {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly buckets: BucketSpec[] = TEAMS_CONVERSATION_BUCKETS, private readonly clock: Clock = realClock) {}

  /** Runs `work` in the conversation's lane; `work` calls `take()` before each attempt. */
  run<T>(conversationId: string, work: (take: () => Promise<void>) => Promise<T>): Promise<T> {
    const lane = this.lane(conversationId);
    lane.queued++;
    const result = lane.tail.then(() => work(() => this.take(lane)));
    lane.tail = result.then(
      () => this.release(conversationId, lane),
      () => this.release(conversationId, lane),
    );
    return result;
  }

  /** How many conversations have a lane (idle, full lanes are dropped). */
  size(): number {
    return this.lanes.size;
  }

  private lane(id: string): Lane {
    let lane = this.lanes.get(id);
    if (!lane) {
      if (this.lanes.size >= PRUNE_AT) this.prune();
      lane = { tokens: this.buckets.map((b) => b.capacity), at: this.clock.now(), tail: Promise.resolve(), queued: 0 };
      this.lanes.set(id, lane);
    }
    return lane;
  }

  private release(id: string, lane: Lane): void {
    lane.queued--;
    if (lane.queued > 0) return;
    this.refill(lane);
    // a lane with full buckets and nothing queued holds nothing worth keeping
    if (lane.tokens.every((t, i) => t >= this.buckets[i].capacity)) this.lanes.delete(id);
  }

  /** Drops idle lanes whose buckets have refilled: a conversation that went quiet costs nothing. */
  private prune(): void {
    for (const [id, lane] of this.lanes) {
      if (lane.queued > 0) continue;
      this.refill(lane);
      if (lane.tokens.every((t, i) => t >= this.buckets[i].capacity)) this.lanes.delete(id);
    }
  }

  private refill(lane: Lane): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - lane.at) / 1000;
    lane.at = now;
    lane.tokens = lane.tokens.map((t, i) => Math.min(this.buckets[i].capacity, t + elapsed * this.buckets[i].refillPerSecond));
  }

  private async take(lane: Lane): Promise<void> {
    for (;;) {
      this.refill(lane);
      let waitMs = 0;
      lane.tokens.forEach((t, i) => {
        if (t < 1) waitMs = Math.max(waitMs, ((1 - t) / this.buckets[i].refillPerSecond) * 1000);
      });
      if (waitMs === 0) {
        lane.tokens = lane.tokens.map((t) => t - 1);
        return;
      }
      await this.clock.sleep(Math.ceil(waitMs));
    }
  }
}
