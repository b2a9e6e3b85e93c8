import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { azureFloor } from './azure-floor';
import { startBot, startEcho, startFloor, type BenchPaths, type StartedChild } from './bots';
import { BotClient } from './client';
import { BenchConnector } from './connector';
import { DIAGNOSABLE_VMS, diagnoseConversation, echoConversation, type ConversationRun, type Party } from './conversations';
import { cpuMs, stopAll } from './procs';
import { startSimulatorChild, type SimulatorChild } from './simulator';

/**
 * `npm run bench:turn-cost`: figure 1's turn cost as a fixed amount of work instead of a time
 * window. Each bot (the echo bot, the floor bot of bench/floor-bot.ts, the product) gets the same
 * number of conversations (after a warm-up), `concurrency` at a time, and its CPU time is read before the first and after the last one's background work has
 * reached the channel: CPU per turn = that difference / turns. A busy machine makes it slower,
 * not different, so it is the figure to compare before and after a change to the turn's code
 * (figure 1 counts the turns that end in a window, and with few turns a window is noisy).
 * Three rows per round: echo, floor and bot, with bot/echo, floor/echo and bot/floor: floor/echo is
 * what a diagnose conversation costs at the least, bot/floor what the bot's own logic adds.
 *
 *   npm run bench:turn-cost -- --conversations=300 --concurrency=10 --rounds=2 [--profile]
 *
 * `--profile`: the bot runs with --cpu-prof (bench/profiles/); summarise with `npm run profile`.
 * `--against=DIR`: a second bot, from another checkout's build (DIR/dist, e.g. the commit before
 * a change, `git worktree add` + `npm run build`), gets the same conversations in each round, so
 * a change is compared with its base under the same load (the machine is shared: rounds apart
 * differ more than the change).
 * `--azure`: after the rounds, the Azure side of a conversation alone (bench/azure-floor.ts), the
 * part of the bot's CPU per turn that no change to its own code can cut, next to the echo bot's.
 */
function arg(name: string, fallback: number): number {
  const v = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return v === undefined ? fallback : Number(v);
}

/** Runs the conversations; a failed one (a reset connection on a loaded machine) is counted, not fatal. */
async function drive(conversations: number, concurrency: number, one: (n: number) => Promise<ConversationRun>, first: number): Promise<{ turns: number; errors: number }> {
  let next = first;
  let turns = 0;
  let errors = 0;
  const background: Array<Promise<unknown>> = [];
  const user = async (): Promise<void> => {
    while (next < first + conversations) {
      try {
        const run = await one(next++);
        turns += run.turns.length;
        if (run.background) background.push(run.background.catch(() => errors++));
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, user));
  await Promise.all(background);
  return { turns, errors };
}

/** What one conversation made a bot do, outside it: channel requests and bytes, ARM operations (the simulator's log). */
interface WorkPerConversation {
  sends: number;
  updates: number;
  bytes: number;
  runCommands: number;
  armReads: number;
}

interface Measured {
  turns: number;
  errors: number;
  cpuMs: number;
  perTurn: number;
  work: WorkPerConversation;
}

async function measure(
  child: StartedChild,
  conversations: number,
  warmup: number,
  concurrency: number,
  one: (n: number) => Promise<ConversationRun>,
  first: number,
  outside: { connector: BenchConnector; sim: SimulatorChild },
): Promise<Measured> {
  await drive(warmup, concurrency, one, first);
  const { connector, sim } = outside;
  await connector.quiet(1500); // the warm-up's paced "diagnosis is ready" messages land before the counts start
  const opsBefore = (await sim.operations()).length;
  const [sends, updates, bytes] = [connector.sends, connector.updates, connector.bytes];
  const before = cpuMs(child.child.pid);
  const { turns, errors } = await drive(conversations, concurrency, one, first + warmup);
  const used = cpuMs(child.child.pid) - before;
  // what the channel pacer (bot/pacing.ts) queued behind the last findings updates: counted as work, outside the CPU window as before
  await connector.quiet(1500);
  const ops = (await sim.operations()).slice(opsBefore);
  const per = (n: number): number => n / conversations;
  const work = {
    sends: per(connector.sends - sends),
    updates: per(connector.updates - updates),
    bytes: per(connector.bytes - bytes),
    runCommands: per(ops.filter((o) => o.kind === 'runCommand').length),
    armReads: per(ops.filter((o) => o.kind === 'read').length),
  };
  return { turns, errors, cpuMs: used, perTurn: used / turns, work };
}

/** The floor bot must cost its Azure and channel work as the bot does: a difference is printed, not hidden. */
function sameWork(floor: WorkPerConversation, bot: WorkPerConversation): string[] {
  const out: string[] = [];
  for (const k of ['sends', 'updates', 'runCommands', 'armReads'] as const) {
    if (Math.abs(floor[k] - bot[k]) > 0.05) out.push(`${k} ${floor[k].toFixed(2)} vs ${bot[k].toFixed(2)}`);
  }
  if (Math.abs(floor.bytes - bot.bytes) > 0.05 * bot.bytes) out.push(`bytes ${floor.bytes.toFixed(0)} vs ${bot.bytes.toFixed(0)}`);
  return out;
}

const describeWork = (w: WorkPerConversation): string =>
  `${w.sends.toFixed(2)} sends + ${w.updates.toFixed(2)} updates (${w.bytes.toFixed(0)} bytes), ${w.runCommands.toFixed(2)} Run Commands + ${w.armReads.toFixed(2)} ARM reads`;

async function main(): Promise<void> {
  const conversations = arg('conversations', 300);
  const concurrency = arg('concurrency', 10);
  const rounds = arg('rounds', 2);
  const warmup = arg('warmup', 50);
  const repo = resolve(__dirname, '..', '..');
  const paths: BenchPaths = { repo, tmp: mkdtempSync(join(tmpdir(), 'rdp-doctor-turn-cost-')) };
  const connector = new BenchConnector();
  await connector.start();
  try {
    const sim = await startSimulatorChild(repo, join(paths.tmp, 'sim'), 0);
    const echo = await startEcho(paths);
    const floor = await startFloor(paths, sim);
    const profile = process.argv.includes('--profile');
    const bot = await startBot(paths, { sim, nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', join(repo, 'bench', 'profiles')] : [] });
    const againstDir = process.argv.find((a) => a.startsWith('--against='))?.slice('--against='.length);
    const base = againstDir ? await startBot({ ...paths, repo: resolve(againstDir) }, { sim, name: 'rdp-doctor (base)' }) : undefined;
    // and its echo bot: the echo bot is built on the product's adapter, so a change there moves the baseline too
    const baseEcho = againstDir ? await startEcho({ ...paths, repo: resolve(againstDir) }) : undefined;
    const echoParty: Party = { client: new BotClient(echo.child.port, connector.url), connector };
    const floorParty: Party = { client: new BotClient(floor.child.port, connector.url), connector };
    const botParty: Party = { client: new BotClient(bot.child.port, connector.url), connector };
    const baseParty: Party | undefined = base && { client: new BotClient(base.child.port, connector.url), connector };
    const baseEchoParty: Party | undefined = baseEcho && { client: new BotClient(baseEcho.child.port, connector.url), connector };
    const vm = (n: number) => DIAGNOSABLE_VMS[n % DIAGNOSABLE_VMS.length];
    const rows: string[] = [];
    const outside = { connector, sim };
    let echoPerTurn = 0;
    let floorPerTurn = 0;
    let first = 0;
    for (let r = 1; r <= rounds; r++) {
      const e = await measure(echo, conversations, warmup, concurrency, (n) => echoConversation(echoParty, `a:echo-${n}`, `29:echo-${n}`, vm(n)), first, outside);
      const f = await measure(floor, conversations, warmup, concurrency, (n) => diagnoseConversation(floorParty, `a:floor-${n}`, `29:floor-${n}`, vm(n)), first, outside);
      const b = await measure(bot, conversations, warmup, concurrency, (n) => diagnoseConversation(botParty, `a:bot-${n}`, `29:user-${n}`, vm(n)), first, outside);
      const o = base && baseParty && (await measure(base, conversations, warmup, concurrency, (n) => diagnoseConversation(baseParty, `a:base-${n}`, `29:base-${n}`, vm(n)), first, outside));
      const oe = baseEcho && baseEchoParty && (await measure(baseEcho, conversations, warmup, concurrency, (n) => echoConversation(baseEchoParty, `a:base-echo-${n}`, `29:base-echo-${n}`, vm(n)), first, outside));
      first += conversations + warmup;
      echoPerTurn = e.perTurn;
      floorPerTurn = f.perTurn;
      const x = (a: number, b: number): string => `${(a / b).toFixed(1)}x`;
      const size = `${conversations} x ${concurrency}`;
      const line = (who: string, m: { turns: number; errors: number; perTurn: number }, vsEcho: string, vsFloor: string, vsBase = ''): string =>
        `| ${r} | ${who} | ${size} | ${m.turns} | ${m.errors} | ${m.perTurn.toFixed(2)} | ${vsEcho} | ${vsFloor} |${base ? ` ${vsBase} |` : ''}`;
      rows.push(
        line('echo', e, '1.0x', '', oe ? (e.perTurn / oe.perTurn).toFixed(2) : ''),
        line('floor', f, x(f.perTurn, e.perTurn), '1.0x'),
        line('bot', b, x(b.perTurn, e.perTurn), x(b.perTurn, f.perTurn), o ? (b.perTurn / o.perTurn).toFixed(2) : ''),
      );
      if (o && oe) rows.push(line('base echo', oe, '', ''), line('base bot', o, `${x(o.perTurn, oe.perTurn)} (of base echo)`, x(o.perTurn, f.perTurn)));
      process.stdout.write(
        `round ${r}: echo ${e.cpuMs.toFixed(0)} ms CPU / ${e.turns} turns, floor ${f.cpuMs.toFixed(0)} ms / ${f.turns}, bot ${b.cpuMs.toFixed(0)} ms / ${b.turns}${o ? `, base ${o.cpuMs.toFixed(0)} ms / ${o.turns}` : ''}; ` +
          `floor/echo ${x(f.perTurn, e.perTurn)}, bot/echo ${x(b.perTurn, e.perTurn)}, bot/floor ${x(b.perTurn, f.perTurn)}\n` +
          `  per conversation: floor ${describeWork(f.work)}; bot ${describeWork(b.work)}\n`,
      );
      const differs = sameWork(f.work, b.work);
      if (differs.length) process.stdout.write(`  WARNING: the floor bot's work per conversation differs from the bot's: ${differs.join(', ')}\n`);
    }
    const head = base ? ' / base (same bot, base build) |' : '';
    const rule = base ? '---:|' : '';
    process.stdout.write(`\n| round | bot | conversations x concurrency | turns | failed conversations | CPU ms/turn | / echo | / floor |${head}\n|---|---|---|---:|---:|---:|---:|---:|${rule}\n${rows.join('\n')}\n`);
    if (process.argv.includes('--azure')) {
      const f = await azureFloor(sim, paths.tmp, DIAGNOSABLE_VMS, Math.min(conversations, 150), concurrency);
      const perTurn = f.perConversationMs / 2; // a diagnose conversation is two turns
      process.stdout.write(
        `\nAzure side alone (the floor under the bot's cost): ${f.perConversationMs.toFixed(2)} ms CPU per conversation ` +
          `(findVms ${f.findVmsMs.toFixed(2)} + diagnoseVm ${f.diagnoseMs.toFixed(2)}) = ${perTurn.toFixed(2)} ms per turn = ` +
          `${(perTurn / echoPerTurn).toFixed(1)}x the echo bot's CPU per turn and ${((100 * perTurn) / floorPerTurn).toFixed(0)}% of the floor bot's (last round)\n`,
      );
    }
    echoParty.client.close();
    floorParty.client.close();
    botParty.client.close();
    baseParty?.client.close();
    baseEchoParty?.client.close();
  } finally {
    await stopAll();
    await connector.stop();
    rmSync(paths.tmp, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write('turn-cost: still running after 8 min, giving up\n');
  void stopAll().finally(() => process.exit(1));
}, 8 * 60 * 1000);
watchdog.unref();

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`turn-cost failed: ${(e as Error).stack ?? String(e)}\n`);
    void stopAll().finally(() => process.exit(1));
  },
);
