import { armError } from './arm-shapes';

/**
 * ARM throttling as Azure documents it (docs/simulator.md):
 * - Resource Manager, per subscription (one region: the simulator is one ARM instance): a token
 *   bucket per kind of request, reads 250 tokens refilled at 25/s, writes 200 at 10/s, deletes
 *   200 at 10/s ("Understand how Azure Resource Manager throttles requests", token bucket
 *   algorithm). Every answer carries `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}`;
 *   past the bucket: 429 `TooManyRequests` with `Retry-After` (seconds until a token is back).
 * - Resource Graph, per user: 15 queries per 5-second window ("Guidance for throttled requests in
 *   Azure Resource Graph"); every answer carries `x-ms-user-quota-remaining` and
 *   `x-ms-user-quota-resets-after` (hh:mm:ss); past the quota: 429 `RateLimiting` with both
 *   headers and `Retry-After`.
 */
export interface ThrottlingOptions {
  readBucket: number;
  readRefillPerSecond: number;
  writeBucket: number;
  writeRefillPerSecond: number;
  deleteBucket: number;
  deleteRefillPerSecond: number;
  graphQuota: number;
  graphWindowSeconds: number;
}

export const AZURE_THROTTLING: ThrottlingOptions = {
  readBucket: 250,
  readRefillPerSecond: 25,
  writeBucket: 200,
  writeRefillPerSecond: 10,
  deleteBucket: 200,
  deleteRefillPerSecond: 10,
  graphQuota: 15,
  graphWindowSeconds: 5,
};

type Kind = 'reads' | 'writes' | 'deletes';

export interface ThrottleVerdict {
  /** headers for the answer (remaining budget), or the 429 itself */
  headers: Record<string, string>;
  throttled?: { status: 429; headers: Record<string, string>; body: ReturnType<typeof armError> };
}

interface Bucket {
  tokens: number;
  at: number;
}

const hhmmss = (ms: number): string => {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
};

export class ArmThrottle {
  private readonly o: ThrottlingOptions;
  private readonly buckets = new Map<string, Bucket>();
  private graph: { used: number; resetAt: number } | null = null;

  constructor(options: Partial<ThrottlingOptions> = {}, private readonly clock: () => number = () => performance.now()) {
    this.o = { ...AZURE_THROTTLING, ...options };
    for (const [k, v] of Object.entries(this.o)) {
      if (!Number.isFinite(v) || v <= 0) throw new Error(`throttling ${k} must be a positive number`);
    }
  }

  /** Takes one token for the request, or says why not. */
  take(method: string, path: string): ThrottleVerdict {
    if (/^\/providers\/Microsoft\.ResourceGraph\//i.test(path)) return this.takeGraph();
    const sub = /^\/subscriptions\/([^/]+)/i.exec(path)?.[1]?.toLowerCase();
    if (!sub) return { headers: {} };
    const kind: Kind = method === 'GET' || method === 'HEAD' ? 'reads' : method === 'DELETE' ? 'deletes' : 'writes';
    const size = kind === 'reads' ? this.o.readBucket : kind === 'writes' ? this.o.writeBucket : this.o.deleteBucket;
    const rate = kind === 'reads' ? this.o.readRefillPerSecond : kind === 'writes' ? this.o.writeRefillPerSecond : this.o.deleteRefillPerSecond;
    const now = this.clock();
    const key = `${sub} ${kind}`;
    const b = this.buckets.get(key) ?? { tokens: size, at: now };
    b.tokens = Math.min(size, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    this.buckets.set(key, b);
    const header = `x-ms-ratelimit-remaining-subscription-${kind}`;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { headers: { [header]: String(Math.floor(b.tokens)) } };
    }
    const seconds = Math.max(1, Math.ceil((1 - b.tokens) / rate));
    return {
      headers: {},
      throttled: {
        status: 429,
        headers: { 'retry-after': String(seconds), [header]: '0' },
        body: armError('TooManyRequests', `The request is being throttled as the limit has been reached for operation type - Subscription${kind[0]?.toUpperCase()}${kind.slice(1)}. Please try again after ${seconds} seconds.`),
      },
    };
  }

  private takeGraph(): ThrottleVerdict {
    const now = this.clock();
    const windowMs = this.o.graphWindowSeconds * 1000;
    if (!this.graph || now >= this.graph.resetAt) this.graph = { used: 0, resetAt: now + windowMs };
    const g = this.graph;
    const resets = hhmmss(g.resetAt - now);
    if (g.used < this.o.graphQuota) {
      g.used++;
      return { headers: { 'x-ms-user-quota-remaining': String(this.o.graphQuota - g.used), 'x-ms-user-quota-resets-after': resets } };
    }
    const seconds = Math.max(1, Math.ceil((g.resetAt - now) / 1000));
    return {
      headers: {},
      throttled: {
        status: 429,
        headers: { 'retry-after': String(seconds), 'x-ms-user-quota-remaining': '0', 'x-ms-user-quota-resets-after': resets },
        body: armError('RateLimiting', 'Client application has been throttled and should not attempt to repeat the request until an amount of time has elapsed. Please see https://aka.ms/resourcegraph-throttling for help.'),
      },
    };
  }
}
