import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort, spawnGroup, waitForHttp, type Spawned } from './net';

/**
 * Microsoft 365 Agents Playground (the local Teams-like client) as a child process: its own
 * temporary working directory, config file and log file, telemetry off, no browser opened.
 */

export interface PlaygroundUser {
  id: string;
  name: string;
  userPrincipleName: string;
  aadObjectId: string;
  givenName: string;
  surname: string;
  email: string;
}

/** `.m365agentsplayground.yml` (schema version 0.1.1). The playground insists on exactly 5 `users`. */
export interface PlaygroundConfigFile {
  version: '0.1.1';
  tenantId: string;
  bot: { id: string; name: string };
  currentUser: PlaygroundUser;
  users: [PlaygroundUser, PlaygroundUser, PlaygroundUser, PlaygroundUser, PlaygroundUser];
  personalChat: { id: string };
  groupChat: { id: string; name: string };
  team: { id: string; name: string; aadGroupId: string; channels: [{ id: string; name: string }] | [] };
}

const user = (n: number, id: string, given: string, surname: string): PlaygroundUser => {
  const login = `${given}.${surname}`.toLowerCase();
  return {
    id,
    name: `${given} ${surname}`,
    userPrincipleName: `${login}@contoso.example`,
    // real GUIDs (the playground's default ids are not), so they can go into APPROVER_IDS
    aadObjectId: `00000000-0000-4000-8000-0000000000${n.toString(16).padStart(2, '0')}`,
    givenName: given,
    surname,
    email: `${login}@contoso.example`,
  };
};

/** Who is who in the tests: Alex reports the problem, Megan is on the helpdesk. */
export const USERS = {
  alex: user(0xa0, 'user-alex', 'Alex', 'Wilber'),
  megan: user(0xa1, 'user-megan', 'Megan', 'Bowen'),
  adele: user(0xa2, 'user-adele', 'Adele', 'Vance'),
  isaiah: user(0xa3, 'user-isaiah', 'Isaiah', 'Langer'),
  patti: user(0xa4, 'user-patti', 'Patti', 'Fernandez'),
  lynne: user(0xa5, 'user-lynne', 'Lynne', 'Robbins'),
} as const;

export const DEFAULT_CONFIG: PlaygroundConfigFile = {
  version: '0.1.1',
  tenantId: '00000000-0000-4000-8000-00000000c0de',
  bot: { id: '28:rdp-doctor-e2e', name: 'RDP Doctor' },
  currentUser: USERS.alex,
  users: [USERS.megan, USERS.adele, USERS.isaiah, USERS.patti, USERS.lynne],
  personalChat: { id: 'a:e2e-personal-chat' },
  groupChat: { id: '19:e2e-group-chat@thread.v2', name: 'Group Chat' },
  team: {
    id: '19:e2e-helpdesk-general@thread.tacv2',
    name: 'Helpdesk',
    aadGroupId: '00000000-0000-4000-8000-0000000000d1',
    channels: [{ id: '19:e2e-helpdesk-approvals@thread.tacv2', name: 'Approvals' }],
  },
};

/** What `GET /_internal/v1/config` answers (the parts the tests use). */
export interface PlaygroundRuntimeConfig {
  config: {
    currentUser: PlaygroundUser;
    users: PlaygroundUser[];
    personalChat: { id: string; name: string };
    groupChats: Array<{ id: string; name: string; members: string[] }>;
    teams: Array<{ id: string; name: string; channels: Array<{ id: string; name: string }> }>;
  };
  internalConfig: { locale: string; channelId: string };
}

export interface Playground {
  /** http://127.0.0.1:<port> — open this in the browser. */
  url: string;
  port: number;
  workDir: string;
  logFile: string;
  configFile: PlaygroundConfigFile;
  runtimeConfig(): Promise<PlaygroundRuntimeConfig>;
  /** Sends any activity to the bot as if the channel had (e.g. an invoke as another user). */
  sendCustomActivity(activity: Record<string, unknown>): Promise<void>;
  /** The playground's own log (fatal config errors appear only there). */
  log(): string;
  /** Stops it and removes its working directory; `saveLogTo` keeps a copy of its log first. */
  stop(opts?: { saveLogTo?: string }): Promise<void>;
}

function cliPath(): string {
  const p = resolve(__dirname, '..', '..', '..', 'node_modules', '@microsoft', 'm365agentsplayground', 'cli.js');
  if (!existsSync(p)) throw new Error(`${p} is missing: @microsoft/m365agentsplayground is a dev dependency (npm ci)`);
  return p;
}

export async function startPlayground(opts: { appEndpoint: string; config?: PlaygroundConfigFile; readyTimeoutMs?: number }): Promise<Playground> {
  const workDir = mkdtempSync(join(tmpdir(), 'rdp-doctor-playground-'));
  const configFile = opts.config ?? DEFAULT_CONFIG;
  const configPath = join(workDir, '.m365agentsplayground.yml');
  // JSON is valid YAML, and needs no YAML writer
  writeFileSync(configPath, `${JSON.stringify(configFile, null, 2)}\n`);
  const logFile = join(workDir, 'playground.log');
  const wantedPort = await freePort();

  let port = 0;
  let announced: (p: number) => void = () => undefined;
  const listening = new Promise<number>((r) => (announced = r));
  const proc: Spawned = spawnGroup(
    process.execPath,
    [cliPath(), '--app-endpoint', opts.appEndpoint, '--channel-id', 'msteams', '--port', String(wantedPort), '--disable-telemetry'],
    {
      cwd: workDir,
      env: {
        ...process.env,
        APPLICATION_INSIGHTS_NO_STATSBEAT: 'true',
        TEAMSAPPTESTER_BROWSER: 'none',
        M365_AGENTS_PLAYGROUND_LOGFILE: logFile,
        M365_AGENTS_PLAYGROUND_CONFIG_PATH: configPath,
      },
      onLine: (line) => {
        // if the port is taken it silently picks another one: trust only this line
        const m = /Listening on (\d+)/.exec(line);
        if (m) announced(Number(m[1]));
      },
    },
  );
  const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const timeoutMs = opts.readyTimeoutMs ?? 30000;
  try {
    let timer: NodeJS.Timeout | undefined;
    port = await Promise.race([
      listening,
      new Promise<number>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the playground did not say "Listening on" in ${timeoutMs} ms:\n${proc.output()}\n${readLog().slice(-3000)}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    await waitForHttp(`http://127.0.0.1:${port}/_debug/ping`, { timeoutMs, alive: () => proc.exited() && `${proc.exited()}\n${readLog().slice(-3000)}` });
  } catch (e) {
    await proc.stop();
    rmSync(workDir, { recursive: true, force: true });
    throw e;
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    workDir,
    logFile,
    configFile,
    async runtimeConfig() {
      const res = await fetch(`${url}/_internal/v1/config`);
      if (!res.ok) throw new Error(`GET /_internal/v1/config: HTTP ${res.status}`);
      return (await res.json()) as PlaygroundRuntimeConfig;
    },
    async sendCustomActivity(activity) {
      const res = await fetch(`${url}/_internal/v1/customActivities`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(activity),
      });
      if (!res.ok) throw new Error(`POST /_internal/v1/customActivities: HTTP ${res.status} ${await res.text()}`);
    },
    log: readLog,
    async stop(stopOpts = {}) {
      await proc.stop();
      if (stopOpts.saveLogTo) {
        mkdirSync(dirname(stopOpts.saveLogTo), { recursive: true });
        writeFileSync(stopOpts.saveLogTo, `${readLog()}\n--- stdout/stderr ---\n${proc.output()}`);
      }
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
