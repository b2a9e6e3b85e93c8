import { join } from 'node:path';
import { startBot, type RunningBot } from './bot';
import { ARTIFACTS_ROOT, launchChatClient, type ChatClient } from './browser';
import { startActivityProxy, type ActivityProxy } from './activity-proxy';
import { startPlayground, type Playground } from './playground';
import { startSimulatorProcess, type SimulatorProcess } from '../../support/processes';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from './bot';

/** Everything one e2e test file needs: bot, locale pass-through, playground, browser on its page. */
export interface E2ESession {
  bot: RunningBot;
  proxy: ActivityProxy;
  playground: Playground;
  chat: ChatClient;
  /**
   * With `simulator` set: the simulated fleet as its own process (`npm run simulator`), the bot
   * pointed at it as at any ARM endpoint. Its operation log is what the tests judge a VM by,
   * not the bot's words.
   */
  simulator?: SimulatorProcess;
  /** What changed or ran on one VM, from the simulator's operation log (reads left out): `kind:scriptId`. */
  ranOn(vm: string): Promise<string[]>;
  /** Milliseconds each start-up step took, for the README's timings. */
  timings: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts in dependency order (the playground probes the bot's endpoint once, at page load)
 * and, if a step fails, stops what already runs. `name` names the screenshot folder.
 */
export async function startSession(
  name: string,
  opts: { botEnv?: Record<string, string>; simulator?: { latencyMs?: number } } = {},
): Promise<E2ESession> {
  const timings: Record<string, number> = {};
  const started: Array<() => Promise<void>> = [];
  const timed = async <T>(step: string, f: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    const r = await f();
    timings[step] = Date.now() - t;
    return r;
  };
  const logs = join(ARTIFACTS_ROOT, name);
  const stopAll = async () => {
    const errors: unknown[] = [];
    for (const stop of started.reverse()) await stop().catch((e: unknown) => errors.push(e));
    started.length = 0;
    if (errors.length) throw errors[0];
  };
  try {
    let simulator: SimulatorProcess | undefined;
    let botEnv = opts.botEnv;
    if (opts.simulator) {
      const sim = await timed('simulator', () => startSimulatorProcess({ latencyMs: opts.simulator?.latencyMs }));
      simulator = sim;
      started.push(() => sim.stop());
      const fleet = JSON.parse(readFileSync(join(REPO_ROOT, 'services', 'simulator', 'fleets', 'demo-fleet.json'), 'utf8')) as { subscriptionId: string };
      botEnv = { ...botEnv, AZURE_ARM_ENDPOINT: sim.endpoint, AZURE_ARM_CA_FILE: sim.caFile, AZURE_SUBSCRIPTION_IDS: fleet.subscriptionId };
    }
    const bot = await timed('bot', () => startBot({ env: botEnv }));
    started.push(() => bot.stop({ saveOutputTo: join(logs, 'bot.log') }));
    const proxy = await startActivityProxy(bot.endpoint);
    started.push(() => proxy.stop());
    const playground = await timed('playground', () => startPlayground({ appEndpoint: proxy.endpoint }));
    started.push(() => playground.stop({ saveLogTo: join(logs, 'playground.log') }));
    const chat = await timed('browser', () => launchChatClient(playground, { name }));
    started.push(() => chat.close());
    const ranOn = async (vm: string): Promise<string[]> => {
      if (!simulator) throw new Error('ranOn needs the session started with { simulator }');
      const ops = await simulator.operations();
      return ops.filter((o) => o.vm === vm && o.kind !== 'read').map((o) => `${o.kind}:${o.scriptId ?? ''}`);
    };
    return { bot, proxy, playground, chat, simulator, ranOn, timings, stop: stopAll };
  } catch (e) {
    await stopAll().catch(() => undefined);
    throw e;
  }
}
