import { request as httpsRequest, Agent } from 'node:https';
import { DomainError, isDomainError } from '../errors';
import type { Logger } from '../log';
import { toDomainError } from '../azure/azure-errors';
import { isLoopbackEndpoint } from '../azure/factory';
import { retryAfterInMs } from '../azure/sdk-clients';
import { graphCredential, type GraphCredentialSettings, type TokenCredential } from '../azure/graph-credential';
import { sleep, withDeadline, type BoundOutcome } from '../azure/timing';
import type { TeamsAppGraph } from './port';

export type { TeamsAppGraph } from './port';

/**
 * The one small Microsoft Graph client (issue #17): what the bot needs to reach an approver who
 * never wrote to it, i.e. its Teams app installed in that person's personal scope and the id of
 * the personal chat that installation opens. Same rules as services/azure: every failure becomes
 * a DomainError with a stable code, 429 and 5xx are retried (Retry-After honoured up to a bound),
 * every call is bounded in time, and nothing secret is logged (no token, no body).
 *
 * API (Microsoft Graph v1.0, "Send proactive installation messages"):
 * - GET  /users/{id}/teamwork/installedApps?$expand=teamsApp&$filter=teamsApp/externalId eq '{manifest id}'
 * - GET  /appCatalogs/teamsApps?$filter=externalId eq '{manifest id}'  (the catalog id, once)
 * - POST /users/{id}/teamwork/installedApps  { "teamsApp@odata.bind": ".../appCatalogs/teamsApps/{catalog id}" }  201, 409 when installed
 * - GET  /users/{id}/teamwork/installedApps/{installation id}/chat  -> { id: chat id }
 */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const GRAPH_PUBLIC_ENDPOINT = 'https://graph.microsoft.com';
/** the application permission every call here needs (docs/deploy.md) */
export const GRAPH_INSTALL_PERMISSION = 'TeamsAppInstallation.ReadWriteSelfForUser.All';

export interface GraphInstallation {
  /** the teamsAppInstallation id */
  id: string;
  /** the app's id in the tenant's catalog */
  teamsAppId: string;
}


export interface GraphClientOptions {
  credential: TokenCredential;
  /** https origin of Graph (GRAPH_ENDPOINT); default the public cloud */
  endpoint?: string;
  /** PEM of a private CA (the simulator's) */
  caPem?: string;
  /** the app's id in its manifest (TEAMS_APP_ID) */
  externalAppId: string;
  /** the app's catalog id when known (skips the catalog look-up) */
  catalogAppId?: string;
  logger?: Logger;
  /** one call, retries included (default 30 s) */
  timeoutInMs?: number;
  /** 429/5xx retries (default 3), exponential from retryDelayInMs (1 s) to maxRetryDelayInMs (30 s) */
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
  /** the longest Retry-After honoured; longer fails at once as `throttled` (default 60 s) */
  maxRetryAfterInMs?: number;
}

/** An HTTP answer Graph refused, in the shape services/azure's error reader understands. */
class GraphHttpError extends Error {
  readonly statusCode: number;
  readonly code?: string;
  readonly response: { status: number; headers: { get(name: string): string | undefined }; bodyAsText: string };

  constructor(status: number, headers: Record<string, string | string[] | undefined>, text: string) {
    let code: string | undefined;
    let message = `HTTP ${status}`;
    try {
      const err = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
      if (typeof err?.code === 'string') code = err.code;
      if (typeof err?.message === 'string') message = err.message;
    } catch {
      /* not JSON */
    }
    super(message);
    this.name = 'GraphHttpError';
    this.statusCode = status;
    this.code = code;
    const get = (name: string) => {
      const v = headers[name.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    this.response = { status, headers: { get }, bodyAsText: text };
  }
}

interface Answer {
  status: number;
  body: unknown;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class GraphClient implements TeamsAppGraph {
  private readonly endpoint: string;
  private readonly agent?: Agent;
  private catalogId?: Promise<string>;
  private readonly s: Required<Pick<GraphClientOptions, 'timeoutInMs' | 'maxRetries' | 'retryDelayInMs' | 'maxRetryDelayInMs' | 'maxRetryAfterInMs'>>;

  constructor(private readonly options: GraphClientOptions) {
    const endpoint = (options.endpoint ?? GRAPH_PUBLIC_ENDPOINT).replace(/\/+$/, '');
    if (!endpoint.startsWith('https://')) throw new DomainError('bad-input', 'GRAPH_ENDPOINT must be an https URL', { params: { target: 'GRAPH_ENDPOINT' } });
    this.endpoint = endpoint;
    if (options.caPem) this.agent = new Agent({ ca: options.caPem });
    if (options.catalogAppId) this.catalogId = Promise.resolve(options.catalogAppId);
    this.s = {
      timeoutInMs: options.timeoutInMs ?? 30_000,
      maxRetries: options.maxRetries ?? 3,
      retryDelayInMs: options.retryDelayInMs ?? 1000,
      maxRetryDelayInMs: options.maxRetryDelayInMs ?? 30_000,
      maxRetryAfterInMs: options.maxRetryAfterInMs ?? 60_000,
    };
  }

  /** The app's installation in the user's personal scope, or null when it is not installed. */
  async findInstallation(userId: string): Promise<GraphInstallation | null> {
    const path = `/v1.0/users/${this.user(userId)}/teamwork/installedApps?$expand=teamsApp&$filter=${encodeURIComponent(`teamsApp/externalId eq ${quote(this.options.externalAppId)}`)}`;
    const r = await this.call('graph.listInstalledApps', userId, 'GET', path);
    const value = (r.body as { value?: Array<{ id?: unknown; teamsApp?: { id?: unknown } }> } | undefined)?.value ?? [];
    const hit = value.find((v) => typeof v.id === 'string');
    return hit ? { id: hit.id as string, teamsAppId: typeof hit.teamsApp?.id === 'string' ? hit.teamsApp.id : '' } : null;
  }

  /** The app's id in the tenant's app catalog, looked up by its manifest id once (then cached). */
  catalogAppId(): Promise<string> {
    if (!this.catalogId) {
      const lookup = (async () => {
        const path = `/v1.0/appCatalogs/teamsApps?$filter=${encodeURIComponent(`externalId eq ${quote(this.options.externalAppId)}`)}`;
        const r = await this.call('graph.findCatalogApp', this.options.externalAppId, 'GET', path);
        const id = (r.body as { value?: Array<{ id?: unknown }> } | undefined)?.value?.find((v) => typeof v.id === 'string')?.id;
        if (typeof id !== 'string') {
          throw new DomainError('not-found', `graph.findCatalogApp: no app with externalId ${this.options.externalAppId} in the tenant's app catalog`, {
            params: { operation: 'graph.findCatalogApp', target: this.options.externalAppId },
          });
        }
        return id;
      })();
      this.catalogId = lookup;
      // a failed look-up is tried again next time
      lookup.catch(() => {
        if (this.catalogId === lookup) this.catalogId = undefined;
      });
    }
    return this.catalogId;
  }

  /** Installs the app for the user: 'installed', or 'already-installed' (409: someone or something did it first). */
  async install(userId: string, catalogAppId: string): Promise<'installed' | 'already-installed'> {
    const body = { 'teamsApp@odata.bind': `${GRAPH_PUBLIC_ENDPOINT}/v1.0/appCatalogs/teamsApps/${encodeURIComponent(catalogAppId)}` };
    try {
      await this.call('graph.installApp', userId, 'POST', `/v1.0/users/${this.user(userId)}/teamwork/installedApps`, body);
      return 'installed';
    } catch (e) {
      if (isDomainError(e) && e.statusCode === 409) return 'already-installed';
      throw e;
    }
  }

  /** The id of the personal chat between the user and the bot that the installation opened. */
  async personalChatId(userId: string, installationId: string): Promise<string> {
    const r = await this.call('graph.getInstallationChat', userId, 'GET', `/v1.0/users/${this.user(userId)}/teamwork/installedApps/${encodeURIComponent(installationId)}/chat`);
    const id = (r.body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'string' || !id) throw new DomainError('server-error', 'graph.getInstallationChat: the answer has no chat id', { params: { operation: 'graph.getInstallationChat', target: userId } });
    return id;
  }

  async ensurePersonalChat(userId: string): Promise<{ chatId: string; installed: boolean }> {
    let installation = await this.findInstallation(userId);
    let installed = false;
    if (!installation) {
      installed = (await this.install(userId, await this.catalogAppId())) === 'installed';
      installation = await this.findInstallation(userId);
      if (!installation) throw new DomainError('server-error', 'graph.installApp: the installation is not listed after it was made', { params: { operation: 'graph.installApp', target: userId } });
    }
    return { chatId: await this.personalChatId(userId, installation.id), installed };
  }

  close(): void {
    this.agent?.destroy();
  }

  private user(userId: string): string {
    if (!GUID.test(userId)) throw new DomainError('bad-input', `not an Entra object id: ${userId}`, { params: { target: userId } });
    return userId;
  }

  /** One Graph request, retried on 429/5xx and broken connections, bounded as a whole. */
  private async call(operation: string, target: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    try {
      return await withDeadline(
        this.s.timeoutInMs,
        undefined,
        (signal) => this.withRetries(() => this.send(method, path, body, signal), signal),
        (why: BoundOutcome, cause: unknown) => {
          if (isDomainError(cause) && cause.code !== 'timeout') return cause;
          return new DomainError('timeout', `${operation}: ${why === 'caller' ? 'aborted by the caller' : `no answer within ${this.s.timeoutInMs} ms`}`, {
            params: { operation, target, timeoutSeconds: Math.ceil(this.s.timeoutInMs / 1000) },
            cause,
          });
        },
      );
    } catch (e) {
      const err = toDomainError(e, { operation, target });
      // Graph says which permission is missing in prose; this one is what every call here needs
      if (err.code === 'forbidden' && !err.params.permission) err.params.permission = GRAPH_INSTALL_PERMISSION;
      if (err.statusCode !== 409) this.options.logger?.warn({ operation, target, code: err.code, statusCode: err.statusCode, graphCode: err.azureCode }, 'graph call failed');
      throw err;
    }
  }

  private async withRetries(attempt: () => Promise<Answer>, signal: AbortSignal): Promise<Answer> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (e) {
        if (n >= this.s.maxRetries) throw e;
        const backoff = Math.min(this.s.retryDelayInMs * 2 ** n, this.s.maxRetryDelayInMs);
        if (!(e instanceof GraphHttpError)) {
          const code = (e as { code?: unknown }).code;
          if (typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN)$/.test(code)) {
            await sleep(backoff, signal);
            continue;
          }
          throw e;
        }
        const status = e.statusCode;
        if (status !== 429 && !(status >= 500 && status !== 501 && status !== 505)) throw e;
        let waitMs = status === 429 || status === 503 ? retryAfterInMs((name) => e.response.headers.get(name)) : undefined;
        if (waitMs !== undefined && waitMs > this.s.maxRetryAfterInMs) throw e;
        waitMs ??= backoff;
        await sleep(waitMs, signal);
      }
    }
  }

  private async send(method: 'GET' | 'POST', path: string, body: unknown, signal: AbortSignal): Promise<Answer> {
    const token = await this.options.credential.getToken(GRAPH_SCOPE, { abortSignal: signal });
    if (!token?.token) throw new DomainError('forbidden', 'graph: no access token for Microsoft Graph', { params: { operation: 'graph.token' } });
    const url = new URL(`${this.endpoint}${path}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
    return new Promise<Answer>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method,
          agent: this.agent,
          signal,
          headers: {
            authorization: `Bearer ${token.token}`,
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              let parsed: unknown = undefined;
              try {
                parsed = text ? (JSON.parse(text) as unknown) : undefined;
              } catch {
                parsed = undefined;
              }
              resolve({ status, body: parsed });
            } else reject(new GraphHttpError(status, res.headers, text));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }
}

export interface GraphSettings extends GraphCredentialSettings {
  caPem?: string;
  externalAppId: string;
  catalogAppId?: string;
  logger?: Logger;
  timings?: Pick<GraphClientOptions, 'timeoutInMs' | 'maxRetries' | 'retryDelayInMs' | 'maxRetryDelayInMs' | 'maxRetryAfterInMs'>;
}

/** The client as configured, with the identity services/azure/graph-credential.ts chooses (loopback: a static development token). */
export function createGraphClient(settings: GraphSettings): GraphClient {
  return new GraphClient({
    credential: graphCredential(settings),
    endpoint: settings.endpoint,
    caPem: settings.caPem,
    externalAppId: settings.externalAppId,
    catalogAppId: settings.catalogAppId,
    logger: settings.logger,
    ...(isLoopbackEndpoint(settings.endpoint) ? { retryDelayInMs: 200 } : {}),
    ...settings.timings,
  });
}
