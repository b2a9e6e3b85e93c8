import { createHash, randomUUID } from 'node:crypto';
import type { Json } from './arm-shapes';
import type { OperationLog } from './operation-log';
import type { SimResponse } from './routes';

/**
 * The part of Microsoft Graph the bot uses to reach approvers who never wrote to it (issue #17,
 * services/graph/client.ts), served beside the simulated ARM on the same HTTPS endpoint under
 * `/v1.0/`. Its directory holds the users it is told of (demo mode: the configured approvers),
 * its app catalog the apps it is told of (the bot's). Installs are logged in the operation log
 * (`graphInstall`); every request, reads included, is in `requests`. Faults: a status (403, 429 with Retry-After, 500, 503)
 * for the next N requests, or answers held back (a hang) for a while.
 */

export interface GraphFault {
  /** HTTP status of the refusal */
  status: 403 | 404 | 429 | 500 | 503;
  /** how many requests get it (default: every one) */
  times?: number;
  /** Retry-After of a 429 or 503 (seconds) */
  retryAfterSeconds?: number;
  /** only requests for this user (Entra object id); default every request */
  userId?: string;
}

interface Installation {
  id: string;
  teamsAppId: string;
  chatId: string;
}

interface CatalogApp {
  id: string;
  externalId: string;
  displayName: string;
}

const USER_APPS = /^\/v1\.0\/users\/([^/]+)\/teamwork\/installedApps\/?$/i;
const USER_APP_CHAT = /^\/v1\.0\/users\/([^/]+)\/teamwork\/installedApps\/([^/]+)\/chat\/?$/i;
const CATALOG = /^\/v1\.0\/appCatalogs\/teamsApps\/?$/i;
const BIND = /\/appCatalogs\/teamsApps\/([^/]+)$/i;

export const GRAPH_PATH = /^\/v1\.0\//i;

/** The Teams app id the simulated catalog holds in demo mode and for `npm run simulator --graph-users` when none is given. */
export const DEMO_TEAMS_APP_ID = '00000000-0000-4000-8000-00000000d0c0';

function graphError(status: number, code: string, message: string, headers?: Record<string, string>): SimResponse {
  return { status, headers, body: { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() } } } };
}

/** `x eq 'value'` of a $filter ('' doubled inside quotes, as OData escapes). */
function filterValue(filter: string | null, property: string): string | undefined {
  if (!filter) return undefined;
  const m = new RegExp(`^\\s*${property.replace(/\//g, '\\/')}\\s+eq\\s+'((?:[^']|'')*)'\\s*$`, 'i').exec(filter);
  return m ? m[1].replace(/''/g, "'") : undefined;
}

export class SimGraph {
  private readonly users = new Map<string, Map<string, Installation>>();
  private readonly catalog: CatalogApp[] = [];
  private faults: GraphFault[] = [];
  private holdMs = 0;
  /** every request that reached the Graph routes (answered or refused), for tests */
  readonly requests: Array<{ method: string; path: string; status: number }> = [];

  /** Makes the user exist in the directory (idempotent). */
  addUser(userId: string): void {
    const id = userId.toLowerCase();
    if (!this.users.has(id)) this.users.set(id, new Map());
  }

  /** Puts an app in the tenant's catalog (idempotent); returns its catalog id. */
  addApp(externalId: string, displayName = 'RDP Doctor'): string {
    const existing = this.catalog.find((a) => a.externalId.toLowerCase() === externalId.toLowerCase());
    if (existing) return existing.id;
    const id = uuidFrom(`catalog:${externalId.toLowerCase()}`);
    this.catalog.push({ id, externalId, displayName });
    return id;
  }

  /** Refuses the next requests (see GraphFault); replaces earlier faults. */
  fail(...faults: GraphFault[]): void {
    this.faults = faults.map((f) => ({ ...f }));
  }

  /** Holds every answer back this long (a Graph that does not answer in time); 0 = off. */
  hang(ms: number): void {
    this.holdMs = ms;
  }

  /** The personal chat of the user with the app, when installed (tests compare it with where the card went). */
  chatOf(userId: string, externalId: string): string | undefined {
    const app = this.catalog.find((a) => a.externalId.toLowerCase() === externalId.toLowerCase());
    const apps = this.users.get(userId.toLowerCase());
    return app && apps ? [...apps.values()].find((i) => i.teamsAppId === app.id)?.chatId : undefined;
  }

  async handle(method: string, url: URL, rawBody: string, log: OperationLog, now: Date): Promise<SimResponse> {
    const answer = await this.answer(method, url, rawBody, log, now);
    this.requests.push({ method, path: url.pathname, status: answer.status });
    return answer;
  }

  private async answer(method: string, url: URL, rawBody: string, log: OperationLog, now: Date): Promise<SimResponse> {
    if (this.holdMs > 0) await new Promise((r) => setTimeout(r, this.holdMs).unref());
    const path = url.pathname;
    const userOf = USER_APP_CHAT.exec(path)?.[1] ?? USER_APPS.exec(path)?.[1];
    const fault = this.faults.find((f) => (f.times ?? 1) > 0 && (!f.userId || f.userId.toLowerCase() === decodeURIComponent(userOf ?? '').toLowerCase()));
    if (fault) {
      if (fault.times !== undefined) fault.times--;
      return this.refusal(fault);
    }
    // only what changes something is an operation; reads are in `requests` (ARM counters stay ARM's)
    const entry = (kind: 'graphInstall') => log.add({ method, path, vm: null, kind, scriptId: null, engine: null }, now);

    if (method === 'GET' && CATALOG.test(path)) {
      const externalId = filterValue(url.searchParams.get('$filter'), 'externalId');
      const value = this.catalog.filter((a) => externalId === undefined || a.externalId.toLowerCase() === externalId.toLowerCase());
      return { status: 200, body: { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#appCatalogs/teamsApps', value: value.map((a) => ({ ...a, distributionMethod: 'organization' })) } as unknown as Json };
    }

    const chat = USER_APP_CHAT.exec(path);
    if (chat && method === 'GET') {
      const apps = this.users.get(decodeURIComponent(chat[1]).toLowerCase());
      if (!apps) return userNotFound(chat[1]);
      const inst = apps.get(decodeURIComponent(chat[2]));
      if (!inst) return graphError(404, 'NotFound', 'The requested installation was not found.');
      return { status: 200, body: { id: inst.chatId, topic: null, chatType: 'oneOnOne', tenantId: null, webUrl: `https://teams.microsoft.com/l/chat/${encodeURIComponent(inst.chatId)}/0` } };
    }

    const list = USER_APPS.exec(path);
    if (list) {
      const userId = decodeURIComponent(list[1]).toLowerCase();
      const apps = this.users.get(userId);
      if (!apps) return userNotFound(list[1]);
      if (method === 'GET') {
        const externalId = filterValue(url.searchParams.get('$filter'), 'teamsApp/externalId');
        const teamsAppId = filterValue(url.searchParams.get('$filter'), 'teamsApp/id');
          const value = [...apps.values()]
          .map((i) => ({ inst: i, app: this.catalog.find((a) => a.id === i.teamsAppId) }))
          .filter(({ inst, app }) => (externalId === undefined || app?.externalId.toLowerCase() === externalId.toLowerCase()) && (teamsAppId === undefined || inst.teamsAppId === teamsAppId))
          .map(({ inst, app }) => ({ id: inst.id, ...(url.searchParams.get('$expand') === 'teamsApp' && app ? { teamsApp: { ...app, distributionMethod: 'organization' } } : {}) }));
        return { status: 200, body: { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${userId}')/teamwork/installedApps`, value } as unknown as Json };
      }
      if (method === 'POST') {
        let bind: unknown;
        try {
          bind = (JSON.parse(rawBody) as Record<string, unknown>)['teamsApp@odata.bind'];
        } catch {
          return graphError(400, 'BadRequest', 'Unable to read JSON request payload.');
        }
        const catalogId = typeof bind === 'string' ? BIND.exec(bind)?.[1] : undefined;
        const app = this.catalog.find((a) => a.id === (catalogId ? decodeURIComponent(catalogId) : ''));
        if (!app) return graphError(404, 'NotFound', 'The app was not found in the app catalog.');
        if ([...apps.values()].some((i) => i.teamsAppId === app.id)) return graphError(409, 'Conflict', 'App is already installed.');
        const id = Buffer.from(`${userId}##${app.id}`).toString('base64');
        apps.set(id, { id, teamsAppId: app.id, chatId: `19:${userId}_${uuidFrom(`bot:${app.externalId}`)}@unq.gbl.spaces` });
        entry('graphInstall');
        return { status: 201 };
      }
    }
    return graphError(400, 'BadRequest', `Resource not found for the segment in '${path}'.`);
  }

  private refusal(f: GraphFault): SimResponse {
    const retry = f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : undefined;
    switch (f.status) {
      case 403:
        return graphError(403, 'Forbidden', 'Missing role permissions on the request. API requires one of \'TeamsAppInstallation.ReadWriteSelfForUser.All, TeamsAppInstallation.ReadWriteForUser.All\'.');
      case 404:
        return graphError(404, 'NotFound', 'Not found.');
      case 429:
        return graphError(429, 'TooManyRequests', 'Too many requests.', retry);
      case 503:
        return graphError(503, 'ServiceUnavailable', 'The service is temporarily unavailable.', retry);
      default:
        return graphError(500, 'InternalServerError', 'Failed to execute backend request.');
    }
  }
}

function userNotFound(id: string): SimResponse {
  return graphError(404, 'Request_ResourceNotFound', `Resource '${decodeURIComponent(id)}' does not exist or one of its queried reference-property objects are not present.`);
}

/** A stable GUID-shaped id from a name (the same app gets the same catalog id in every run). */
function uuidFrom(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
