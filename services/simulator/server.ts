import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { armError, type Json } from './arm-shapes';
import { AsyncOperations, type OperationRetention } from './async-operations';
import { makeSimulatorCertificate } from './cert';
import type { Fleet, FleetVm } from './fleet';
import type { VmInterior } from './interior';
import { OperationLog, type OperationLogEntry } from './operation-log';
import { ROUTES, type RouteContext, type SimResponse } from './routes';
import { ArmThrottle, type ThrottlingOptions } from './throttling';
// issue #15 (repair-sim): the offline repair's routes, tried first; they pass on what they do not own
import { linkedActions, REPAIR_ROUTES } from './routes-repair';
// issue #17 (graph): the part of Microsoft Graph that installs the app for approvers, under /v1.0/
import { GRAPH_PATH, SimGraph } from './routes-graph';

export interface SimulatorOptions {
  /** The live fleet: the simulator reads and changes this very object (tests may change faults on it). */
  fleet: Fleet;
  interior: VmInterior;
  port?: number;
  host?: string;
  /** How long a Run Command takes before its result is ready (default 0). */
  runCommandLatencyMs?: number;
  /** Delay before every ARM answer, and the duration of the other long-running operations (default 0). */
  armLatencyMs?: number;
  /** After a start/restart finishes, how long the VM agent stays "Not Ready" (default 0). */
  agentReadyDelayMs?: number;
  /** Retry-After of an injected 429 (default 1). */
  throttleRetryAfterSeconds?: number;
  /** Where the CA PEM is written (default: a new temp dir). */
  certDir?: string;
  /**
   * RBAC emulation: when set, a request whose action is not listed is refused with 403
   * AuthorizationFailed, as Azure does for a role that lacks it.
   */
  allowedActions?: readonly string[];
  now?: () => Date;
  // --- sweep-sim: scale (issue #16) ---
  /** ARM and Resource Graph throttling as Azure documents it (throttling.ts); default off. `true` = Azure's numbers. */
  throttling?: boolean | Partial<ThrottlingOptions>;
  /** page size of the subscription-wide VM list (default 1,000) */
  listPageSize?: number;
  // --- end sweep-sim ---
  /** sweep-pace: `Retry-After` (seconds) on the 202 that starts a long-running operation and on its status while in progress, as ARM may send (default none) */
  lroRetryAfterSeconds?: number;
  /** issue #17 (graph): the simulated Graph directory and app catalog (default: an empty one) */
  graph?: SimGraph;
  /** how long and how many ended long-running operations (Run Commands included) stay pollable (default an hour, 20,000) */
  operationRetention?: Partial<OperationRetention>;
  /** how many entries the operation log keeps, the newest (default 1,000,000) */
  operationLogLimit?: number;
}

export interface SimulatorHandle {
  endpoint: string;
  caFile: string;
  caPem: string;
  port: number;
  fleet: Fleet;
  operations(): OperationLogEntry[];
  /** issue #17 (graph): the simulated Graph served on the same endpoint (docs/simulator.md) */
  graph: SimGraph;
  close(): Promise<void>;
  /** sweep-pace: ARM requests served past the throttle, long-running operation polls included (the operation log leaves polls out) */
  served?(): { reads: number; writes: number };
}

const OPERATIONS_PATH = '/_simulator/operations';

function send(res: ServerResponse, r: SimResponse): void {
  const headers: Record<string, string> = {
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': randomUUID(),
    ...r.headers,
  };
  if (r.body === undefined) {
    res.writeHead(r.status, { ...headers, 'content-length': '0' });
    res.end();
    return;
  }
  const text = JSON.stringify(r.body);
  res.writeHead(r.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Injected ARM faults: each distinct request for a faulty VM fails `armFailures` times in a row, then succeeds once. */
class FaultCounter {
  private readonly attempts = new Map<string, number>();

  shouldFail(vm: FleetVm, key: string): boolean {
    if (vm.faults.arm === 'none') return false;
    const failures = vm.faults.armFailures ?? 1;
    const k = `${vm.name.toLowerCase()} ${vm.faults.arm} ${key}`;
    const n = this.attempts.get(k) ?? 0;
    this.attempts.set(k, n + 1);
    return n % (failures + 1) < failures;
  }
}

export async function startSimulator(options: SimulatorOptions): Promise<SimulatorHandle> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? (() => new Date());
  const cert = await makeSimulatorCertificate(options.certDir);
  const log = new OperationLog(options.operationLogLimit);
  const ops = new AsyncOperations(now, options.operationRetention);
  const faults = new FaultCounter();
  const timers = new Set<NodeJS.Timeout>();
  const armLatencyMs = options.armLatencyMs ?? 0;
  let baseUrl = '';
  const graph = options.graph ?? new SimGraph();
  const throttle = options.throttling ? new ArmThrottle(options.throttling === true ? {} : options.throttling) : null;
  const served = { reads: 0, writes: 0 }; // sweep-pace

  const ctxBase = {
    fleet: options.fleet,
    interior: options.interior,
    ops,
    log,
    now,
    runCommandLatencyMs: options.runCommandLatencyMs ?? 0,
    armLatencyMs,
    agentReadyDelayMs: options.agentReadyDelayMs ?? 0,
    listPageSize: options.listPageSize,
    later(fn: () => void, ms: number): void {
      if (ms <= 0) return fn();
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      t.unref();
      timers.add(t);
    },
  };

  async function handle(req: IncomingMessage): Promise<SimResponse> {
    const url = new URL(req.url ?? '/', 'https://simulator.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === OPERATIONS_PATH && method === 'GET') return { status: 200, body: log.list() as unknown as Json };

    const auth = req.headers.authorization ?? '';
    if (!/^Bearer\s+\S+/i.test(auth)) {
      return { status: 401, body: armError('AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."), headers: { 'www-authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token"' } };
    }
    if (GRAPH_PATH.test(url.pathname)) return graph.handle(method, url, await readBody(req), log, now()); // issue #17 (graph)
    if (!url.searchParams.get('api-version')) {
      return { status: 400, body: armError('MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.") };
    }
    const raw = await readBody(req);
    let body: unknown = undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return { status: 400, body: armError('InvalidRequestContent', 'The request content was invalid and could not be deserialized.') };
      }
    }
    if (armLatencyMs > 0) await sleep(armLatencyMs);

    for (const route of [...REPAIR_ROUTES, ...ROUTES]) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(url.pathname);
      if (!m) continue;
      // issue #15 (repair-sim): Azure's linked access checks (a NIC's subnet, a VM's NIC, ...) after the route's own action
      const missing = options.allowedActions ? [route.action, ...linkedActions(method, url.pathname)].find((a) => !options.allowedActions?.includes(a)) : undefined;
      if (missing) {
        return {
          status: 403,
          body: armError(
            'AuthorizationFailed',
            `The client '00000000-0000-0000-0000-0000000000cc' with object id '00000000-0000-0000-0000-0000000000cc' does not have authorization to perform action '${missing}' over scope '${url.pathname}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
          ),
        };
      }
      // sweep-sim: ARM / Resource Graph throttling, after authentication and RBAC as in Azure
      const verdict = throttle?.take(method, url.pathname);
      if (verdict?.throttled) {
        log.add({ method, path: url.pathname, vm: null, kind: 'throttled', scriptId: null, engine: null }, now());
        return verdict.throttled;
      }
      if (method === 'GET' || method === 'HEAD') served.reads++; // sweep-pace
      else served.writes++;
      const ctx: RouteContext = {
        ...ctxBase,
        params: m.slice(1).map((s) => decodeURIComponent(s)),
        query: url.searchParams,
        body,
        method,
        path: url.pathname,
        baseUrl,
        faultFor(vm: FleetVm): SimResponse | null {
          if (!faults.shouldFail(vm, `${method} ${url.pathname.toLowerCase()}`)) return null;
          if (vm.faults.arm === 'throttle') {
            const seconds = options.throttleRetryAfterSeconds ?? 1;
            return {
              status: 429,
              headers: { 'retry-after': String(seconds) },
              body: armError('TooManyRequests', `The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00. Please try again after ${seconds} seconds.`),
            };
          }
          return { status: 500, body: armError('InternalServerError', `Encountered internal server error. Diagnostic information: timestamp '${now().toISOString()}', tracking id '${randomUUID()}'.`) };
        },
      };
      let answer = route.handle(ctx);
      // sweep-pace: ARM's polling hint on an operation's 202 and on its status while in progress
      if (options.lroRetryAfterSeconds !== undefined && (answer.headers?.['azure-asyncoperation'] || /\/operations\//i.test(url.pathname)) && (answer.status === 202 || (answer.body as { status?: unknown } | undefined)?.status === 'InProgress')) {
        answer = { ...answer, headers: { ...answer.headers, 'retry-after': String(options.lroRetryAfterSeconds) } };
      }
      return verdict && Object.keys(verdict.headers).length > 0 ? { ...answer, headers: { ...verdict.headers, ...answer.headers } } : answer;
    }
    return { status: 404, body: armError('InvalidResourceType', `The resource type could not be found in the namespace for path '${url.pathname}'.`) };
  }

  const server: Server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    handle(req)
      .then((r) => send(res, r))
      .catch((e: unknown) => send(res, { status: 500, body: armError('InternalServerError', (e as Error).message) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    endpoint: baseUrl,
    caFile: cert.caFile,
    caPem: cert.certPem,
    port,
    fleet: options.fleet,
    operations: () => log.list(),
    served: () => ({ ...served }), // sweep-pace
    graph,
    close: async () => {
      ops.close();
      options.interior.close?.();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (cert.tempDir) rmSync(cert.tempDir, { recursive: true, force: true });
    },
  };
}
