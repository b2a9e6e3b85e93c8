import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { ResourceGraphClient } from '@azure/arm-resourcegraph';
import type { TokenCredential } from '@azure/identity';
import type { OperationHints } from './run-command-polls';

/**
 * The three SDK clients, pointed at Azure or at another Resource Manager endpoint (the
 * simulator) with its CA. HTTP-level retries for 429/5xx are the SDK's own (bounded by
 * maxRetries); a Retry-After longer than we are willing to wait is stripped so that the
 * caller gets a prompt "throttled" instead of a silent long wait.
 */
export interface ClientSettings {
  credential: TokenCredential;
  endpoint?: string;
  caPem?: string;
  maxRetries: number;
  retryDelayInMs: number;
  maxRetryDelayInMs: number;
  maxRetryAfterInMs: number;
  /** sweep-sim: told of every 429 answer (before the retry policy waits it out) */
  onThrottled?: () => void;
  /** sweep-pace: counts the polls of the operations a caller watches (run-command-polls.ts) */
  operationWatch?: OperationWatch;
}

interface PolicyResponse {
  status: number;
  headers: { get(name: string): string | undefined; delete(name: string): void; set(name: string, value: string): void };
}

const RETRY_AFTER_HEADERS = ['retry-after-ms', 'x-ms-retry-after-ms', 'retry-after'];

export function retryAfterInMs(get: (name: string) => string | undefined): number | undefined {
  for (const h of RETRY_AFTER_HEADERS) {
    const v = get(h);
    if (v === undefined) continue;
    if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v) * (h === 'retry-after' ? 1000 : 1);
    const date = Date.parse(v);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  return undefined;
}

function retryAfterCapPolicy(maxRetryAfterInMs: number, onThrottled?: () => void) {
  return {
    name: 'rdpDoctorRetryAfterCap',
    async sendRequest<Req, Res extends PolicyResponse>(request: Req, next: (r: Req) => Promise<Res>): Promise<Res> {
      const response = await next(request);
      if (response.status === 429) onThrottled?.();
      if (response.status === 429 || response.status === 503) {
        const ms = retryAfterInMs((n) => response.headers.get(n));
        if (ms !== undefined && ms > maxRetryAfterInMs) {
          for (const h of RETRY_AFTER_HEADERS) response.headers.delete(h);
          // keep the value for the error message, under a name no retry strategy reads
          response.headers.set('x-rdp-doctor-retry-after-ms', String(ms));
        }
      }
      return response;
    },
  };
}

// --- sweep-pace (issue #16): what the pipeline sees of a watched long-running operation ---
/** The id of a long-running operation in its status or result URL (`.../operations/{id}`, `.../operationResults/{id}`). */
export function operationIdOf(url: string): string | undefined {
  return /\/(?:operations|operationResults)\/([^/?#]+)/i.exec(url)?.[1]?.toLowerCase();
}

/**
 * Counts the HTTP requests (each attempt) to the status and result URLs of the operations being
 * watched, and keeps the Retry-After of their newest answer: the SDK's poller uses neither
 * outside its own fixed-interval loop. Only watched operations are kept, until `stop()`.
 */
export class OperationWatch {
  private readonly watched = new Map<string, { reads: number; retryAfterInMs?: number }>();

  watch(operationUrl: string | undefined): (OperationHints & { stop(): void }) | undefined {
    const id = operationUrl ? operationIdOf(operationUrl) : undefined;
    if (!id) return undefined;
    const entry = { reads: 0 } as { reads: number; retryAfterInMs?: number };
    this.watched.set(id, entry);
    return {
      reads: () => entry.reads,
      takeRetryAfterInMs: () => {
        const ms = entry.retryAfterInMs;
        entry.retryAfterInMs = undefined;
        return ms;
      },
      stop: () => {
        if (this.watched.get(id) === entry) this.watched.delete(id);
      },
    };
  }

  /** how many operations are watched now (tests: nothing is left behind) */
  size(): number {
    return this.watched.size;
  }

  policy() {
    const watched = this.watched;
    return {
      name: 'rdpDoctorOperationWatch',
      async sendRequest<Req extends { url: string; method: string }, Res extends PolicyResponse>(request: Req, next: (r: Req) => Promise<Res>): Promise<Res> {
        const id = watched.size > 0 && request.method === 'GET' ? operationIdOf(request.url) : undefined;
        const entry = id ? watched.get(id) : undefined;
        if (entry) entry.reads++;
        const response = await next(request);
        if (entry && response.status < 300) entry.retryAfterInMs = retryAfterInMs((n) => response.headers.get(n));
        return response;
      },
    };
  }
}
// --- end sweep-pace ---

function coreOptions(s: ClientSettings) {
  return {
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.caPem ? { tlsOptions: { ca: s.caPem } } : {}),
    retryOptions: { maxRetries: s.maxRetries, retryDelayInMs: s.retryDelayInMs, maxRetryDelayInMs: s.maxRetryDelayInMs },
    additionalPolicies: [
      { policy: retryAfterCapPolicy(s.maxRetryAfterInMs, s.onThrottled), position: 'perRetry' as const },
      ...(s.operationWatch ? [{ policy: s.operationWatch.policy(), position: 'perRetry' as const }] : []),
    ],
  };
}

export class SdkClients {
  private readonly compute = new Map<string, ComputeManagementClient>();
  private readonly network = new Map<string, NetworkManagementClient>();
  private graphClient?: ResourceGraphClient;

  constructor(private readonly settings: ClientSettings) {}

  computeFor(subscriptionId: string): ComputeManagementClient {
    const key = subscriptionId.toLowerCase();
    let c = this.compute.get(key);
    if (!c) {
      c = new ComputeManagementClient(this.settings.credential, subscriptionId, coreOptions(this.settings));
      this.compute.set(key, c);
    }
    return c;
  }

  networkFor(subscriptionId: string): NetworkManagementClient {
    const key = subscriptionId.toLowerCase();
    let c = this.network.get(key);
    if (!c) {
      c = new NetworkManagementClient(this.settings.credential, subscriptionId, coreOptions(this.settings));
      this.network.set(key, c);
    }
    return c;
  }

  /** ms-rest-js based (arm-resourcegraph 4.x): its retries are off, the gateway retries graph queries itself. */
  graph(): ResourceGraphClient {
    if (!this.graphClient) {
      this.graphClient = new ResourceGraphClient(this.settings.credential, {
        ...(this.settings.endpoint ? { baseUri: this.settings.endpoint } : {}),
        ...(this.settings.caPem ? { agentSettings: { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ca: this.settings.caPem }) } } : {}),
        noRetryPolicy: true,
      });
    }
    return this.graphClient;
  }
}
