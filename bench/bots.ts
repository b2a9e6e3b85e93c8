import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnNode, waitReady, type Child } from './procs';
import type { SimulatorChild } from './simulator';

export interface BenchPaths {
  repo: string;
  /** the bench's own temp dir: data dirs and certificates go under it */
  tmp: string;
}

export interface StartedChild {
  child: Child;
  /** ms from spawn to the first /readyz 200 */
  readyMs: number;
}

/** Logging every turn to stdout would dominate the figures: warnings and errors only. */
const LOG_LEVEL = 'warn';

/**
 * The product as shipped: `node dist/bot/index.js`, configured only through the environment, a
 * fresh data directory. With `sim` its Azure is that simulator process (AZURE_ARM_ENDPOINT);
 * without, demo mode starts the simulator inside the bot.
 */
export async function startBot(
  paths: BenchPaths,
  opts: { sim?: SimulatorChild; nodeArgs?: string[]; ipc?: boolean; name?: string; env?: Record<string, string> } = {},
): Promise<StartedChild> {
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(paths.tmp, 'bot-data-')),
    LOG_LEVEL,
    ...opts.env,
  };
  if (opts.sim) {
    env.AZURE_ARM_ENDPOINT = opts.sim.endpoint;
    env.AZURE_ARM_CA_FILE = opts.sim.caFile;
  }
  const child = spawnNode({ name: opts.name ?? 'rdp-doctor', script: join(paths.repo, 'dist', 'bot', 'index.js'), port, env, nodeArgs: opts.nodeArgs, ipc: opts.ipc });
  return { child, readyMs: await waitReady(child) };
}

/** The baseline bot (bench/echo-bot.ts), started the same way. */
export async function startEcho(paths: BenchPaths): Promise<StartedChild> {
  const port = await freePort();
  const env = { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: mkdtempSync(join(paths.tmp, 'echo-data-')), LOG_LEVEL };
  const child = spawnNode({ name: 'echo-bot', script: join(paths.repo, 'dist-bench', 'bench', 'echo-bot.js'), port, env });
  return { child, readyMs: await waitReady(child) };
}

/**
 * The floor bot (bench/floor-bot.ts): the work a diagnose conversation cannot avoid, started the
 * same way, its Azure the same simulator process as the bot's.
 */
export async function startFloor(paths: BenchPaths, sim: SimulatorChild): Promise<StartedChild> {
  const port = await freePort();
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: mkdtempSync(join(paths.tmp, 'floor-data-')),
    LOG_LEVEL,
    AZURE_ARM_ENDPOINT: sim.endpoint,
    AZURE_ARM_CA_FILE: sim.caFile,
  };
  const child = spawnNode({ name: 'floor-bot', script: join(paths.repo, 'dist-bench', 'bench', 'floor-bot.js'), port, env });
  return { child, readyMs: await waitReady(child) };
}
