import { GraphClient } from '../../services/graph/client';
import { StaticDevelopmentCredential } from '../../services/azure/static-credential';
import { parseFleet } from '../../services/simulator/fleet';
import type { VmInterior } from '../../services/simulator/interior';
import { SimGraph } from '../../services/simulator/routes-graph';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';
import { domainErrorOf } from '../support/domain-error';

/**
 * The Graph client (services/graph/client.ts) against the simulator's Graph routes
 * (services/simulator/routes-graph.ts), over real HTTPS: install, already installed, and the
 * failures it must turn into domain errors or ride out (403, 429 with Retry-After, 5xx, no answer).
 */
const APP = '11111111-2222-4333-8444-555555555555';
const ALICE = '00000000-0000-4000-8000-0000000000b1';
const BORIS = '00000000-0000-4000-8000-0000000000b2';
const CARLA = '00000000-0000-4000-8000-0000000000b3';
const STRANGER = '00000000-0000-4000-8000-0000000000b9';

let sim: SimulatorHandle;
let graph: SimGraph;

function client(timings: Partial<ConstructorParameters<typeof GraphClient>[0]> = {}): GraphClient {
  return new GraphClient({
    credential: new StaticDevelopmentCredential(),
    endpoint: sim.endpoint,
    caPem: sim.caPem,
    externalAppId: APP,
    retryDelayInMs: 10,
    maxRetryDelayInMs: 50,
    timeoutInMs: 20_000,
    ...timings,
  });
}

const installs = (user: string) => sim.operations().filter((o) => o.kind === 'graphInstall' && o.path === `/v1.0/users/${user}/teamwork/installedApps`);
const requestsSince = (mark: number) => graph.requests.slice(mark).map((r) => `${r.method} ${r.status}`);


beforeAll(async () => {
  graph = new SimGraph();
  for (const u of [ALICE, BORIS, CARLA]) graph.addUser(u);
  graph.addApp(APP);
  sim = await startSimulator({ fleet: parseFleet({ subscriptionId: '00000000-0000-0000-0000-000000000001', vms: [] }), interior: {} as VmInterior, port: 0, graph });
});
afterAll(async () => {
  await sim.close();
});
afterEach(() => {
  graph.fail();
  graph.hang(0);
});

describe('Graph client against the simulated Graph', () => {
  test('installs the app for a user once and returns the personal chat the installation opened', async () => {
    const c = client();
    const first = await c.ensurePersonalChat(ALICE);
    expect(first.installed).toBe(true);
    expect(first.chatId).toBe(graph.chatOf(ALICE, APP));
    expect(first.chatId).toMatch(/^19:.+@unq\.gbl\.spaces$/);
    expect(installs(ALICE)).toHaveLength(1);

    // already installed: found by the list, not installed again, the same chat
    const again = await c.ensurePersonalChat(ALICE);
    expect(again).toEqual({ chatId: first.chatId, installed: false });
    expect(installs(ALICE)).toHaveLength(1);
  });

  test('an install Graph answers 409 (installed meanwhile) is fine; the catalog is looked up once', async () => {
    const c = client();
    const mark = graph.requests.length;
    const catalogId = await c.catalogAppId();
    expect(await c.install(BORIS, catalogId)).toBe('installed');
    expect(await c.install(BORIS, catalogId)).toBe('already-installed');
    expect(graph.requests.slice(-1)[0].status).toBe(409);
    expect(installs(BORIS)).toHaveLength(1);
    await c.catalogAppId();
    expect(graph.requests.slice(mark).filter((r) => r.path === '/v1.0/appCatalogs/teamsApps')).toHaveLength(1);
  });

  test('403 (no Graph permission) is a forbidden error naming the permission, not retried, nothing installed', async () => {
    graph.fail({ status: 403 });
    const mark = graph.requests.length;
    const e = await domainErrorOf(client().ensurePersonalChat(CARLA));
    expect(e.code).toBe('forbidden');
    expect(e.statusCode).toBe(403);
    expect(e.params.permission).toBe('TeamsAppInstallation.ReadWriteSelfForUser.All');
    expect(requestsSince(mark)).toEqual(['GET 403']);
    expect(installs(CARLA)).toHaveLength(0);
  });

  test('an unknown user is not-found', async () => {
    const e = await domainErrorOf(client().ensurePersonalChat(STRANGER));
    expect(e.code).toBe('not-found');
  });

  test('a user id that is not an Entra object id is refused before any request', async () => {
    const mark = graph.requests.length;
    const e = await domainErrorOf(client().ensurePersonalChat("x' or 1 eq 1"));
    expect(e.code).toBe('bad-input');
    expect(graph.requests.length).toBe(mark);
  });

  test('429 with Retry-After is waited out and retried', async () => {
    graph.fail({ status: 429, times: 1, retryAfterSeconds: 1 });
    const mark = graph.requests.length;
    const r = await client().ensurePersonalChat(CARLA);
    expect(r.installed).toBe(true);
    expect(requestsSince(mark)[0]).toBe('GET 429');
    expect(requestsSince(mark)[1]).toBe('GET 200');
    expect(installs(CARLA)).toHaveLength(1);
  });

  test('a Retry-After longer than the bound fails at once as throttled', async () => {
    graph.fail({ status: 429, retryAfterSeconds: 120 });
    const mark = graph.requests.length;
    const e = await domainErrorOf(client({ maxRetryAfterInMs: 5000 }).ensurePersonalChat(ALICE));
    expect(e.code).toBe('throttled');
    expect(e.params.retryAfterSeconds).toBe(120);
    expect(requestsSince(mark)).toEqual(['GET 429']);
  });

  test('5xx is retried (bounded), 503 too', async () => {
    graph.fail({ status: 500, times: 2 });
    let mark = graph.requests.length;
    expect((await client().ensurePersonalChat(ALICE)).installed).toBe(false);
    expect(requestsSince(mark).slice(0, 3)).toEqual(['GET 500', 'GET 500', 'GET 200']);

    graph.fail({ status: 503, times: 1, retryAfterSeconds: 0 });
    mark = graph.requests.length;
    await client().ensurePersonalChat(ALICE);
    expect(requestsSince(mark).slice(0, 2)).toEqual(['GET 503', 'GET 200']);

    graph.fail({ status: 500 });
    mark = graph.requests.length;
    const e = await domainErrorOf(client({ maxRetries: 2 }).ensurePersonalChat(ALICE));
    expect(e.code).toBe('server-error');
    expect(requestsSince(mark)).toEqual(['GET 500', 'GET 500', 'GET 500']);
  });

  test('no answer within the bound is a timeout', async () => {
    graph.hang(3000);
    const e = await domainErrorOf(client({ timeoutInMs: 300 }).ensurePersonalChat(ALICE));
    expect(e.code).toBe('timeout');
    expect(e.params.operation).toBe('graph.listInstalledApps');
  });
});
