import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_TEAMS_APP_ID } from '../../bot/graph-reach';
import { StaticDevelopmentCredential } from '../../services/azure/static-credential';
import { DomainError } from '../../services/errors';
import { GraphClient } from '../../services/graph/client';
import { startSimulatorProcess, type SimulatorProcess } from '../support/processes';

/**
 * `npm run simulator` (its own process) can be given the simulated Graph's users and app, so
 * GRAPH_REACH can be tried against it (docs/graph.md, docs/simulator.md): `--graph-users`,
 * `--graph-app`. A value that is not a GUID is refused at start (exit 2).
 */
const ALICE = '00000000-0000-4000-8000-0000000000e1';
const BORIS = '00000000-0000-4000-8000-0000000000e2';
const STRANGER = '00000000-0000-4000-8000-0000000000e9';
const APP = '11111111-2222-4333-8444-5555555555e0';
const cli = join(__dirname, '..', '..', 'dist', 'services', 'simulator', 'cli.js');

function client(proc: SimulatorProcess, externalAppId: string): GraphClient {
  return new GraphClient({ credential: new StaticDevelopmentCredential(), endpoint: proc.endpoint, caPem: readFileSync(proc.caFile, 'utf8'), externalAppId, retryDelayInMs: 10, maxRetryDelayInMs: 50, timeoutInMs: 20_000 });
}

describe('npm run simulator with Graph users', () => {
  const procs: SimulatorProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.stop();
  });

  test('--graph-users: the app (the demo id) is installed for them, an unknown user is not found; each install is in the operation log', async () => {
    const proc = await startSimulatorProcess({ args: ['--graph-users', `${ALICE},${BORIS}`] });
    procs.push(proc);
    const c = client(proc, DEMO_TEAMS_APP_ID);
    for (const user of [ALICE, BORIS]) expect(await c.ensurePersonalChat(user)).toMatchObject({ installed: true, chatId: expect.stringMatching(/^19:.+@unq\.gbl\.spaces$/) });
    const unknown = await c.ensurePersonalChat(STRANGER).then(() => null, (e: unknown) => e);
    expect(unknown).toBeInstanceOf(DomainError);
    expect((unknown as DomainError).code).toBe('not-found');
    const installs = (await proc.operations()).filter((o) => o.kind === 'graphInstall').map((o) => o.path);
    expect(installs).toEqual([ALICE, BORIS].map((u) => `/v1.0/users/${u}/teamwork/installedApps`));
  }, 120_000);

  test('--graph-app names the app in the catalog', async () => {
    const proc = await startSimulatorProcess({ args: ['--graph-users', ALICE, '--graph-app', APP] });
    procs.push(proc);
    expect(await client(proc, APP).ensurePersonalChat(ALICE)).toMatchObject({ installed: true });
  }, 120_000);

  test.each([
    [['--graph-users', 'alice@contoso.com'], /--graph-users must be/],
    [['--graph-users', ALICE, '--graph-app', 'RDP Doctor'], /--graph-app must be a GUID/],
    [['--graph-app', APP], /--graph-app needs --graph-users/],
  ])('refuses %j with a clear message (exit 2)', (args, message) => {
    const r = spawnSync(process.execPath, [cli, '--port', '0', ...args], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
