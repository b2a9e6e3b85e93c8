import { startBot, startEcho, startFloor, type BenchPaths, type StartedChild } from '../bots';
import { BotClient } from '../client';
import type { BenchConnector } from '../connector';
import { DIAGNOSABLE_VMS, diagnoseConversation, echoConversation, type Party } from '../conversations';
import { runClosedLoop, type LoadResult } from '../load';
import { cpuMs } from '../procs';
import { row, type Row } from '../report';
import type { SimulatorChild } from '../simulator';

export interface TurnTiming {
  levels: number[];
  /** where the bot child writes a --cpu-prof profile, when set */
  profileDir?: string;
  warmupMs: number;
  measureMs: number;
}

export interface TurnFigures {
  rows: Row[];
  raw: Array<{ level: number; echo: LoadResult; floor?: LoadResult; bot: LoadResult; simulatorCpuCores: number; loadGeneratorCpuCores: number }>;
  /** the bot's warn/error log lines during figure 1, by message */
  botWarnings: Record<string, { count: number; example: string }>;
  diagnosesCompleted: number;
}

const COST_TARGET = 1.3;
const P99_TARGET_MS = 50;

/**
 * Figure 1: the full diagnose conversation (message turn + consent invoke turn, Run Command
 * latency 0) against the echo bot, level by level, the bots measured back to back. With
 * `floorSim`, the floor bot (bench/floor-bot.ts, issue #16) too, as a second baseline: the same
 * conversation with only the work it cannot avoid. It gets its own simulator, so that figure 3's
 * count of Run Commands per consent click over `sim`'s log stays the bot's alone.
 */
export async function turnFigures(paths: BenchPaths, connector: BenchConnector, sim: SimulatorChild, timing: TurnTiming, log: (s: string) => void, floorSim?: SimulatorChild): Promise<TurnFigures> {
  const echo = await startEcho(paths);
  const floor: StartedChild | undefined = floorSim && (await startFloor(paths, floorSim));
  const floorParty: Party | undefined = floor && { client: new BotClient(floor.child.port, connector.url), connector };
  const bot = await startBot(paths, { sim, nodeArgs: timing.profileDir ? ['--cpu-prof', '--cpu-prof-dir', timing.profileDir] : [] });
  const echoParty: Party = { client: new BotClient(echo.child.port, connector.url), connector };
  const botParty: Party = { client: new BotClient(bot.child.port, connector.url), connector };
  const rows: Row[] = [];
  const raw: TurnFigures['raw'] = [];
  let diagnosesCompleted = 0;
  let botWarnings: TurnFigures['botWarnings'] = {};
  try {
    for (const level of timing.levels) {
      const common = { concurrency: level, warmupMs: timing.warmupMs, measureMs: timing.measureMs };
      const e = await runClosedLoop({
        ...common,
        pid: echo.child.pid,
        drainMs: 5000,
        conversation: (n) => echoConversation(echoParty, `a:echo-${level}-${n}`, `29:echo-${n}`, DIAGNOSABLE_VMS[n % DIAGNOSABLE_VMS.length]),
      });
      log(`  echo   @${level}: ${summary(e)}`);
      const fl =
        floor && floorParty
          ? await runClosedLoop({
              ...common,
              pid: floor.child.pid,
              drainMs: 60000,
              conversation: (n) => diagnoseConversation(floorParty, `a:floor-${level}-${n}`, `29:floor-${level}-${n}`, DIAGNOSABLE_VMS[n % DIAGNOSABLE_VMS.length]),
            })
          : undefined;
      if (fl) log(`  floor  @${level}: ${summary(fl)}`);
      const simCpu0 = cpuMs(sim.child.pid);
      const ownCpu0 = process.cpuUsage();
      const b = await runClosedLoop({
        ...common,
        pid: bot.child.pid,
        drainMs: 60000,
        conversation: (n) => diagnoseConversation(botParty, `a:bot-${level}-${n}`, `29:user-${level}-${n}`, DIAGNOSABLE_VMS[n % DIAGNOSABLE_VMS.length]),
      });
      const simulatorCpuCores = (cpuMs(sim.child.pid) - simCpu0) / (timing.warmupMs + timing.measureMs);
      const own = process.cpuUsage(ownCpu0);
      const loadGeneratorCpuCores = (own.user + own.system) / 1000 / (timing.warmupMs + timing.measureMs);
      diagnosesCompleted += b.background?.completed ?? 0;
      log(`  bot    @${level}: ${summary(b)}; findings p50 ${b.background?.p50.toFixed(0)} ms, p99 ${b.background?.p99.toFixed(0)} ms; simulator ${simulatorCpuCores.toFixed(2)} cores, load generator ${loadGeneratorCpuCores.toFixed(2)} cores`);
      raw.push({ level, echo: e, ...(fl ? { floor: fl } : {}), bot: b, simulatorCpuCores, loadGeneratorCpuCores });

      const f = `1 @${level}`;
      rows.push(row({ figure: f, metric: 'turn latency p50', unit: 'ms', value: b.p50, baseline: e.p50, target: '', pass: null }));
      rows.push(row({ figure: f, metric: 'turn latency p95', unit: 'ms', value: b.p95, baseline: e.p95, target: '', pass: null }));
      rows.push(
        row({
          figure: f,
          metric: 'turn latency p99',
          unit: 'ms',
          value: b.p99,
          baseline: e.p99,
          target: level === 200 ? `< ${P99_TARGET_MS} ms` : '',
          pass: level === 200 ? b.p99 < P99_TARGET_MS : null,
        }),
      );
      rows.push(
        row({
          figure: f,
          metric: 'turns/s',
          unit: '',
          value: b.turnsPerSecond,
          baseline: e.turnsPerSecond,
          target: `≥ ${(1 / COST_TARGET).toFixed(2)}x`,
          pass: b.turnsPerSecond / e.turnsPerSecond >= 1 / COST_TARGET,
        }),
      );
      rows.push(
        row({
          figure: f,
          metric: 'turn cost: bot CPU per turn',
          unit: 'ms',
          value: b.cpuMsPerTurn,
          baseline: e.cpuMsPerTurn,
          target: `≤ ${COST_TARGET}x`,
          pass: b.cpuMsPerTurn / e.cpuMsPerTurn <= COST_TARGET,
          note: 'incl. background diagnosis',
        }),
      );
      if (fl) {
        // issue #16 (floor-bot): the second baseline, no target: what the bot's own logic adds to the floor
        rows.push(row({ figure: f, metric: 'turn cost: floor bot CPU per turn', unit: 'ms', value: fl.cpuMsPerTurn, baseline: e.cpuMsPerTurn, target: '', pass: null, note: 'vs the echo bot; incl. background diagnosis' }));
        rows.push(row({ figure: f, metric: 'turn cost: bot CPU per turn', unit: 'ms', value: b.cpuMsPerTurn, baseline: fl.cpuMsPerTurn, target: '', pass: null, note: 'vs the floor bot' }));
        if (fl.errors || fl.background?.failed) rows.push(row({ figure: f, metric: 'floor bot errors', unit: '', value: fl.errors + (fl.background?.failed ?? 0), baseline: null, target: '0', pass: false, note: fl.firstError }));
      }
      if (b.errors || e.errors || b.background?.failed) {
        rows.push(row({ figure: f, metric: 'errors', unit: '', value: b.errors + (b.background?.failed ?? 0), baseline: e.errors, target: '0', pass: false, note: b.firstError ?? e.firstError }));
      }
    }
  } finally {
    botWarnings = bot.child.warnings();
    echoParty.client.close();
    botParty.client.close();
    floorParty?.client.close();
    await echo.child.stop();
    await floor?.child.stop();
    await bot.child.stop();
  }
  for (const [msg, w] of Object.entries(botWarnings)) log(`  bot log: ${w.count} x "${msg}", e.g. ${w.example.slice(0, 600)}`);
  return { rows, raw, diagnosesCompleted, botWarnings };
}

function summary(r: LoadResult): string {
  return `${r.turnsPerSecond.toFixed(0)} turns/s, p50 ${r.p50.toFixed(1)} / p95 ${r.p95.toFixed(1)} / p99 ${r.p99.toFixed(1)} ms, ${r.cpuMsPerTurn.toFixed(2)} CPU ms/turn (${r.cpuCores.toFixed(2)} cores), errors ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 200)})` : ''}`;
}
