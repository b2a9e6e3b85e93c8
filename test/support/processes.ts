import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { OperationLogEntry } from '../../services/simulator/operation-log';
import { childCoverageEnv } from './child-coverage';

/** Real processes for tests that kill and restart things: the simulator and the bot, built in dist/. */
const root = join(__dirname, '..', '..');

/**
 * A port that was free a moment ago. Racy by nature (another process may take it before the child
 * binds): only for a port that must be known before a start. The bot, the simulator and Azurite
 * are started on port 0 and report the port they bound.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The port in the bot's "RDP Doctor is listening" log line (pino JSON, level info), or null. */
export function listeningPortOf(output: string): number | null {
  for (const line of output.split('\n')) {
    if (!line.includes('RDP Doctor is listening')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
      if (entry.msg === 'RDP Doctor is listening' && typeof entry.port === 'number' && entry.port > 0) return entry.port;
    } catch {
      /* a partial line: wait for the rest */
    }
  }
  return null;
}

export interface SimulatorProcess {
  endpoint: string;
  caFile: string;
  child: ChildProcess;
  operations(): Promise<OperationLogEntry[]>;
  stop(): Promise<void>;
}

export async function startSimulatorProcess(opts: { fleet?: string; latencyMs?: number; args?: string[] } = {}): Promise<SimulatorProcess> {
  const args = [join(root, 'dist', 'services', 'simulator', 'cli.js'), '--port', '0', '--latency-ms', String(opts.latencyMs ?? 0)];
  if (opts.fleet) args.push('--fleet', opts.fleet);
  if (opts.args) args.push(...opts.args);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...childCoverageEnv() } });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`simulator did not start: ${out}`)), 60_000); // a bound for a loaded machine
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ARM endpoint: .*\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.once('exit', (code) => reject(new Error(`simulator exited ${code}: ${out}`)));
  });
  const m = /ARM endpoint: (\S+) CA: (.+)$/.exec(line.trim());
  if (!m) throw new Error(`unexpected simulator line: ${line}`);
  const [, endpoint, caFile] = m;
  const ca = readFileSync(caFile);
  return {
    endpoint,
    caFile,
    child,
    operations: () =>
      new Promise((resolve, reject) => {
        request(`${endpoint}/_simulator/operations`, { ca }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(JSON.parse(body) as OperationLogEntry[]));
        })
          .on('error', reject)
          .end();
      }),
    stop: () => stopChild(child),
  };
}

export interface BotProcess {
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export async function startBotProcess(env: Record<string, string>): Promise<BotProcess> {
  // port 0: the bot binds a port nobody holds and logs it (at info), so two bots started at once,
  // or another session's process, can never take each other's port
  const level = env.LOG_LEVEL ?? 'info';
  if (!['trace', 'debug', 'info'].includes(level)) throw new Error(`startBotProcess reads the bound port from the info log: LOG_LEVEL ${level} hides it`);
  const child = spawn(process.execPath, [join(root, 'dist', 'bot', 'index.js')], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', DATA_DIR: mkdtempSync(join(tmpdir(), 'rdp-bot-')), ...childCoverageEnv(), ...env, LOG_LEVEL: level, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  // a bound, not a speed check: on the shared 2-core machine a bot takes up to ~20 s to start
  // under load, and tests start two at once
  const deadline = Date.now() + 90_000;
  let port: number | null = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bot exited ${child.exitCode}: ${output}`);
    port ??= listeningPortOf(stdout);
    if (port !== null) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (r.status === 200) break;
      } catch {
        /* not yet */
      }
    }
    if (Date.now() > deadline) throw new Error(`bot not ready: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    child,
    output: () => output,
    stop: () => stopChild(child),
    kill: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

/** A Harness-shaped client for a bot running as its own process, replying to `connector`. */
export function processHarness(port: number, connector: import('./connector').TestConnector): import('./bot-harness').Harness {
  const base = `http://127.0.0.1:${port}/api/messages`;
  return {
    connector,
    mark: () => connector.captured.length,
    since: (m: number) => connector.captured.slice(m),
    async post(a: Record<string, unknown>) {
      const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(a) });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    },
  } as unknown as import('./bot-harness').Harness;
}
