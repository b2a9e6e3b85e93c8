import { createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';

/** A TCP port that was free a moment ago on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Polls `url` until it answers with `status`. Fails early when `alive()` says the process that
 * should answer has died (its output is then the useful error, not a timeout).
 */
export async function waitForHttp(url: string, opts: { status?: number; timeoutMs?: number; alive?: () => string | null } = {}): Promise<void> {
  const want = opts.status ?? 200;
  const deadline = Date.now() + (opts.timeoutMs ?? 30000);
  let last = 'no answer';
  while (Date.now() < deadline) {
    const dead = opts.alive?.();
    if (dead) throw new Error(`${url}: the process exited before it was ready: ${dead}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === want) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer ${want} in time (last: ${last})`);
}

export interface Spawned {
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr interleaved), for error messages. */
  output(): string;
  /** null while running, else a short description of how it ended. */
  exited(): string | null;
  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a process in its own process group, so stopping it also stops anything it started. */
export function spawnGroup(command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; onLine?: (line: string) => void }): Spawned {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let ended: string | null = null;
  let partial = '';
  const onData = (chunk: Buffer) => {
    const s = chunk.toString('utf8');
    out = (out + s).slice(-20000);
    if (opts.onLine) {
      partial += s;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) opts.onLine(l);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const done = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      ended = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
    child.once('error', (e) => {
      ended = `spawn error: ${e.message}`;
      resolve();
    });
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    if (child.pid === undefined || ended) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  return {
    child,
    output: () => out,
    exited: () => (ended ? `${ended}\n${out.slice(-3000)}` : null),
    async stop(graceMs = 8000) {
      if (ended) return;
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}
