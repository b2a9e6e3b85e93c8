import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import { ResourceGraphClient } from '@azure/arm-resourcegraph';
import type { TokenCredential } from '@azure/identity';

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

function coreOptions(s: ClientSettings) {
  return {
    ...(s.endpoint ? { endpoint: s.endpoint } : {}),
    ...(s.caPem ? { tlsOptions: { ca: s.caPem } } : {}),
    retryOptions: { maxRetries: s.maxRetries, retryDelayInMs: s.retryDelayInMs, maxRetryDelayInMs: s.maxRetryDelayInMs },
    additionalPolicies: [{ policy: retryAfterCapPolicy(s.maxRetryAfterInMs, s.onThrottled), position: 'perRetry' as const }],
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
