import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchPaths } from './bots';
import { BenchConnector } from './connector';
import { diagnosisFigures, countCalls } from './figures/diagnosis';
import { memoryFigures } from './figures/memory';
import { startupFigures } from './figures/startup';
import { repairFigures } from './repair';
import { turnFigures } from './figures/turns';
import { stopAll } from './procs';
import { markdownTable, row, type Row } from './report';
import { startSimulatorChild, type SimulatorChild } from './simulator';
import { sweepFigures } from './sweep';
import { sweepFloorFigure } from './sweep-floor';
import { sweepInstancesFigures } from './sweep-instances';

/**
 * `npm run bench`: every figure beside its baseline measured in the same run, on this machine.
 * Everything runs on 127.0.0.1, every process it starts is stopped, and it ends by itself
 * (`--quick` for a shorter, noisier run; `--only=1,3` for some figures; `--profile` for a CPU
 * profile of the bot under figure 1's load).
 */
interface Options {
  quick: boolean;
  /** --profile: the bot of figure 1 runs with --cpu-prof, profiles in bench/profiles/ */
  profile: boolean;
  only: Set<string>;
}

function parseOptions(argv: string[]): Options {
  const only = argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  return { quick: argv.includes('--quick'), profile: argv.includes('--profile'), only: new Set((only ?? '1,2,3,4,5,6,7,8,9').split(',').map((s) => s.trim())) };
}

const HARD_LIMIT_MS = 9 * 60 * 1000;
const RUN_COMMAND_LATENCY_MS = 2000;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const repo = resolve(__dirname, '..', '..');
  for (const f of ['dist/bot/index.js', 'dist/cli/index.js', 'dist/services/simulator/cli.js', 'dist-bench/bench/echo-bot.js', 'dist-bench/bench/floor-bot.js', 'dist-bench/bench/probe.js']) {
    if (!existsSync(join(repo, f))) throw new Error(`${f} is missing: run \`npm run bench\` (it builds first)`);
  }
  const paths: BenchPaths = { repo, tmp: mkdtempSync(join(tmpdir(), 'rdp-doctor-bench-')) };
  const started = Date.now();
  const log = (s: string): void => {
    process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${s}\n`);
  };
  const connector = new BenchConnector();
  await connector.start();
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  const sims: SimulatorChild[] = [];
  const want = (f: string): boolean => opts.only.has(f);

  try {
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
    if (want('5')) {
      log('figure 5: start-up time');
      const r = await startupFigures(paths, opts.quick ? 1 : 3, log);
      rows.push(...r.rows);
      raw.startup = r.raw;
    }
    if (want('1') || want('4')) {
      const sim0 = await startSimulatorChild(repo, join(paths.tmp, 'sim0'), 0);
      sims.push(sim0);
      if (want('1')) {
        log('figure 1: turns against the echo bot and the floor bot (Run Command latency 0)');
        // issue #16 (floor-bot): the floor bot's own simulator, so figure 3 counts the bot's Run Commands alone
        const simF = await startSimulatorChild(repo, join(paths.tmp, 'simF'), 0);
        sims.push(simF);
        const opsBefore = (await sim0.operations()).length;
        const r = await turnFigures(paths, connector, sim0, {
            levels: [1, 50, 200],
            warmupMs: opts.quick ? 1000 : 2000,
            measureMs: opts.quick ? 3000 : 8000,
            profileDir: opts.profile ? join(repo, 'bench', 'profiles') : undefined,
          }, log, simF);
        rows.push(...r.rows);
        const calls = countCalls((await sim0.operations()).slice(opsBefore));
        const invoked = r.raw.reduce((n, l) => n + l.bot.invoked, 0);
        rows.push(
          row({
            figure: '3',
            metric: 'Run Commands per consent click, under load (figure 1)',
            unit: '',
            value: calls.runCommands / invoked,
            baseline: 1,
            target: '= 1',
            pass: calls.runCommands === invoked,
            note: `${calls.runCommands} Run Commands for ${invoked} clicks`,
          }),
        );
        raw.turns = { ...r, azureCalls: calls, invoked };
      }
      if (want('4')) {
        log('figure 4: memory with 1,000 open incidents');
        const r = await memoryFigures(paths, connector, sim0, opts.quick ? 200 : 1000, log);
        rows.push(...r.rows);
        raw.memory = r.raw;
      }
    }
    if (want('6')) await sweepFloorFigure(paths, opts.quick, rows, raw, log); // sweep-sim: the fast sweep's floor (bench/sweep-floor.ts)
    if (want('2') || want('3')) {
      log(`figures 2 and 3: time to diagnosis and Azure calls (Run Command latency ${RUN_COMMAND_LATENCY_MS} ms)`);
      const simL = await startSimulatorChild(repo, join(paths.tmp, 'simL'), RUN_COMMAND_LATENCY_MS);
      sims.push(simL);
      const r = await diagnosisFigures(paths, connector, simL, opts.quick ? 1 : 3, log);
      rows.push(...r.rows);
      raw.diagnosis = r.raw;
    }
    // issue #16 (sweep-core): figures 6 and 7 (sweep-pace: `--only=7` runs the deep sweep alone)
    if (want('6') || want('7')) Object.assign(raw, { sweeps: await sweepFigures(paths.tmp, opts.quick, log, { fast: want('6'), deep: want('7') }).then((r) => (rows.push(...r.rows), r.raw)) });
    if (want('8')) Object.assign(raw, { repair: await repairFigures(paths.tmp, log).then((r) => (rows.push(...r.rows), r.raw)) }); // issue #15 (repair-run)
    if (want('9')) Object.assign(raw, { sweepInstances: await sweepInstancesFigures(repo, opts.quick, log).then((r) => (rows.push(...r.rows), r.raw)) }); // issue #16 item 3 (sweep-spread)
  } finally {
    await Promise.all(sims.map((s) => s.child.stop()));
    await stopAll();
    await connector.stop();
    rmSync(paths.tmp, { recursive: true, force: true });
  }

  rows.sort((a, b) => a.figure.localeCompare(b.figure, 'en', { numeric: true }));
  const durationMs = Date.now() - started;
  const machine = { cores: cpus().length, model: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, loadAverageAtEnd: loadavg() };
  const table = markdownTable(rows);
  const failed = rows.filter((r) => r.pass === false);
  writeFileSync(join(repo, 'bench', 'results.json'), `${JSON.stringify({ at: new Date().toISOString(), durationMs, quick: opts.quick, machine, rows, raw }, null, 2)}\n`);
  writeFileSync(
    join(repo, 'bench', 'results.md'),
    [
      `# RDP Doctor benchmark results`,
      '',
      `${new Date().toISOString()}, ${machine.cores} cores (${machine.model ?? '?'}), node ${machine.node}, ${(durationMs / 1000).toFixed(0)} s${opts.quick ? ', --quick' : ''}. Ratio = value / baseline; baselines are measured in the same run. See bench/README.md.`,
      '',
      table,
      '',
      failed.length ? `Missed targets: ${failed.map((r) => `${r.figure} ${r.metric}`).join('; ')}.` : 'All targets met.',
      '',
    ].join('\n'),
  );
  process.stdout.write(`\n${table}\n\n${failed.length ? `${failed.length} target(s) missed` : 'all targets met'}; bench/results.md and bench/results.json written in ${(durationMs / 1000).toFixed(0)} s\n`);
}

// bounded whatever happens: a wedged child or connection cannot keep the bench running
const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${HARD_LIMIT_MS / 60000} min, giving up\n`);
  void stopAll().finally(() => process.exit(1));
}, HARD_LIMIT_MS);
watchdog.unref();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stopAll().finally(() => process.exit(130)));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
    void stopAll().finally(() => process.exit(1));
  },
);
