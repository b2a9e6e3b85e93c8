import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type AppOverrides } from '../../bot/app';
import { loadConfig } from '../../bot/config';
import { createLogger, silentLogger, type Logger } from '../../services/log';
import { TestConnector, type Captured, type FaultMode } from './connector';
import { appDrained } from './quiescence';

export interface Harness {
  app: App;
  port: number;
  connector: TestConnector;
  dataDir: string;
  /** POSTs an activity to /api/messages as the channel would; returns the HTTP status and body. */
  post(activity: Record<string, unknown>, headers?: Record<string, string>): Promise<{ status: number; body: unknown }>;
  say(text: string, opts?: { locale?: string; userId?: string; aadObjectId?: string; conversationId?: string; localTimezone?: string }): Promise<number>;
  invoke(verb: string, data: Record<string, unknown>, opts?: { locale?: string; userId?: string; aadObjectId?: string; replyToId?: string; conversationId?: string; localTimezone?: string }): Promise<{ status: number; body: unknown }>;
  since(mark: number): Captured[];
  mark(): number;
  /** Resolves once no job is queued or running and no background work is in flight (test/support/quiescence.ts). */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;

/** The whole bot over real HTTP, with a local connector as its channel and a fresh data directory. */
export async function startHarness(env: Record<string, string> = {}, overrides: AppOverrides = {}, faults?: FaultMode, logger?: Logger): Promise<Harness> {
  const connector = new TestConnector(faults);
  const serviceUrl = await connector.start();
  const dataDir = mkdtempSync(join(tmpdir(), 'rdp-doctor-test-'));
  // SIM_SCRIPTS from the environment chooses the engine of every harness (CI runs the real scripts)
  const engine = process.env.SIM_SCRIPTS ? { SIM_SCRIPTS: process.env.SIM_SCRIPTS } : {};
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, SIM_RUN_COMMAND_LATENCY_MS: '0', ...engine, ...env });
  const app = await createApp(config, logger ?? (process.env.HARNESS_LOG ? createLogger('warn') : silentLogger), overrides);
  const port = await app.start();
  const base = `http://127.0.0.1:${port}/api/messages`;

  const activityBase = (opts: { locale?: string; userId?: string; aadObjectId?: string; conversationId?: string; localTimezone?: string }) => ({
    channelId: 'msteams',
    // the client's time zone, as Teams sends it (IANA name)
    ...(opts.localTimezone ? { localTimezone: opts.localTimezone } : {}),
    serviceUrl,
    locale: opts.locale ?? 'en-US',
    from: { id: opts.userId ?? '29:user-1', name: 'Alex User', aadObjectId: opts.aadObjectId ?? '00000000-0000-0000-0000-0000000000a1' },
    recipient: { id: '28:rdp-doctor', name: 'RDP Doctor' },
    conversation: { id: opts.conversationId ?? 'a:personal-1', conversationType: 'personal', tenantId: 'tenant-1' },
    timestamp: new Date().toISOString(),
  });

  const h: Harness = {
    app,
    port,
    connector,
    dataDir,
    async post(activity, headers = {}) {
      const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(activity) });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: res.status, body };
    },
    async say(text, opts = {}) {
      const r = await h.post({ type: 'message', id: `m-${++seq}`, text, ...activityBase(opts) });
      return r.status;
    },
    async invoke(verb, data, opts = {}) {
      return h.post({
        type: 'invoke',
        name: 'adaptiveCard/action',
        id: `i-${++seq}`,
        replyToId: opts.replyToId,
        value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
        ...activityBase(opts),
      });
    },
    mark: () => connector.captured.length,
    since: (mark) => connector.captured.slice(mark),
    drained: (timeoutMs) => appDrained(app, timeoutMs),
    async close() {
      await app.stop(5000);
      await connector.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}
