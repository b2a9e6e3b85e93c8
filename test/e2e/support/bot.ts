import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort, spawnGroup, waitForHttp } from './net';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

export interface RunningBot {
  /** http://127.0.0.1:<port>/api/messages — the playground's --app-endpoint. */
  endpoint: string;
  port: number;
  dataDir: string;
  output(): string;
  /** SIGTERM (the bot drains and exits), then removes its data directory. */
  stop(opts?: { saveOutputTo?: string }): Promise<void>;
}

/**
 * The built bot (`dist/bot/index.js`, so `npm run build` first) as a child process in demo mode:
 * simulated fleet, no Bot Framework authentication, fresh data directory. It runs in that data
 * directory so a developer's `.env` in the repo cannot point the tests at a real subscription.
 * `E2E_BOT_ENTRY` replaces the entry script (e.g. a throwaway echo bot while the bot is broken).
 */
export async function startBot(opts: { env?: Record<string, string>; readyTimeoutMs?: number } = {}): Promise<RunningBot> {
  const entry = process.env.E2E_BOT_ENTRY ?? join(REPO_ROOT, 'dist', 'bot', 'index.js');
  if (!existsSync(entry)) throw new Error(`${entry} does not exist: run "npm run build" (npm run test:e2e does it)`);
  // freePort's port may be taken before the bot binds it (other sessions share the machine): a
  // start that fails with EADDRINUSE is tried again on another port
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'rdp-doctor-e2e-data-'));
    const proc = spawnGroup(process.execPath, [entry], {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? dataDir,
        NODE_ENV: 'test',
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        SIM_RUN_COMMAND_LATENCY_MS: '0',
        LOG_LEVEL: 'warn',
        // set and empty = "not set" for the bot, and dotenv never overrides what is set
        AZURE_SUBSCRIPTION_IDS: '',
        MicrosoftAppId: '',
        MicrosoftAppPassword: '',
        ...opts.env,
      },
    });
    const endpointBase = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${endpointBase}/readyz`, { timeoutMs: opts.readyTimeoutMs ?? 30000, alive: proc.exited });
    } catch (e) {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (attempt < 3 && proc.output().includes('EADDRINUSE')) continue;
      throw new Error(`${(e as Error).message}\n${proc.output().slice(-3000)}`);
    }
    return running(port, dataDir, proc);
  }
}

function running(port: number, dataDir: string, proc: ReturnType<typeof spawnGroup>): RunningBot {
  const endpointBase = `http://127.0.0.1:${port}`;
  return {
    endpoint: `${endpointBase}/api/messages`,
    port,
    dataDir,
    output: proc.output,
    async stop(stopOpts = {}) {
      await proc.stop(10000);
      if (stopOpts.saveOutputTo) {
        mkdirSync(dirname(stopOpts.saveOutputTo), { recursive: true });
        writeFileSync(stopOpts.saveOutputTo, proc.output());
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
