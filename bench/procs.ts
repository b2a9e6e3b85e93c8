import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';

/** A child process started by the bench; every one is stopped before the bench ends. */
export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  port: number;
  startedAt: bigint;
  /** stderr tail, for the error message when the child dies */
  stderr(): string;
  /** the child's warn/error log lines (pino JSON on stdout), counted by message, one example each */
  warnings(): Record<string, { count: number; example: string }>;
  stop(): Promise<void>;
}

const children = new Set<Child>();

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface SpawnOptions {
  name: string;
  script: string;
  port: number;
  env: Record<string, string>;
  nodeArgs?: string[];
  /** the script's own arguments */
  args?: string[];
  ipc?: boolean;
}

export function spawnNode(o: SpawnOptions): Child {
  const startedAt = process.hrtime.bigint();
  const proc = spawn(process.execPath, [...(o.nodeArgs ?? []), o.script, ...(o.args ?? [])], {
    // not the repo: `dotenv` must not pick up a developer's .env
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production', ...o.env },
    stdio: o.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`${o.name}: could not start`);
  let tail = '';
  proc.stderr?.on('data', (b: Buffer) => {
    tail = (tail + b.toString('utf8')).slice(-4000);
  });
  const warnings: Record<string, { count: number; example: string }> = {};
  let partial = '';
  proc.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"level":')) continue;
      const m = /"level":(\d+).*?"msg":"([^"]*)"/.exec(line);
      if (!m || Number(m[1]) < 40) continue;
      const w = (warnings[m[2]] ??= { count: 0, example: line.slice(0, 1500) });
      w.count++;
    }
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const child: Child = {
    name: o.name,
    proc,
    pid: proc.pid,
    port: o.port,
    startedAt,
    stderr: () => tail,
    warnings: () => warnings,
    async stop() {
      children.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
  children.add(child);
  return child;
}

/** Stops every child still running (normal end, error, Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
}

export function httpGetStatus(port: number, path: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Polls /readyz every 5 ms; returns ms from spawn to the first 200. */
export async function waitReady(child: Child, timeoutMs = 30000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`${child.name} exited with ${child.proc.exitCode}: ${child.stderr()}`);
    if ((await httpGetStatus(child.port, '/readyz', 500)) === 200) {
      return Number(process.hrtime.bigint() - child.startedAt) / 1e6;
    }
    if (Date.now() > deadline) throw new Error(`${child.name} not ready after ${timeoutMs} ms: ${child.stderr()}`);
    await sleep(5);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU time (user + system) the process has used, in ms, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name (which may hold spaces) start at field 3
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size in MiB, from /proc/<pid>/status VmRSS. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}
