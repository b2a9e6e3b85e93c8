import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { OperationLogEntry } from '../../services/simulator/operation-log';
import { startBot, type BenchPaths } from '../bots';
import { aadObjectIdOf, BotClient } from '../client';
import type { BenchConnector } from '../connector';
import { DIAGNOSABLE_VMS, diagnoseConversation, openIncident, type Party } from '../conversations';
import { row, type Row } from '../report';
import type { SimulatorChild } from '../simulator';

export interface AzureCalls {
  runCommands: number;
  diagnoseScripts: number;
  reads: number;
  writes: number;
}

export interface DiagnosisSample {
  vm: string;
  toFindingsMs: number;
  calls: AzureCalls;
}

export interface FixSample {
  vm: string;
  fixId: string;
  ms: number;
  calls: AzureCalls & { snapshots: number; restarts: number };
  plan: { runCommands: number; snapshots: number; restarts: number };
}

/** The fixes measured per run: one with a restart, one without. */
const FIX_RUNS: Array<[string, string]> = [
  ['vm-tlsoff-06', 'enable-tls'],
  ['vm-certexpired-04', 'renew-rdp-cert'],
];
const APPROVER = '29:bench-approver';

export interface DiagnosisFigures {
  rows: Row[];
  raw: { latencyMs: number; bot: DiagnosisSample[]; cli: Array<DiagnosisSample & { wallMs: number; reported: unknown }>; fixes: FixSample[] };
}

const TIME_TARGET = 1.1;

export function countCalls(ops: OperationLogEntry[]): AzureCalls {
  return {
    runCommands: ops.filter((o) => o.kind === 'runCommand').length,
    diagnoseScripts: ops.filter((o) => o.kind === 'runCommand' && o.scriptId === 'diagnose').length,
    reads: ops.filter((o) => o.kind === 'read').length,
    writes: ops.filter((o) => o.kind !== 'read' && o.kind !== 'runCommand').length,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Figures 2 and 3: a few diagnoses one after the other against a simulator whose Run Command
 * takes `sim.latencyMs`; each one's operations are those the log gained meanwhile. Baseline:
 * the same diagnosis through the CLI (`rdp-doctor diagnose --json`, no chat) on the same simulator.
 */
export async function diagnosisFigures(paths: BenchPaths, connector: BenchConnector, sim: SimulatorChild, runs: number, log: (s: string) => void): Promise<DiagnosisFigures> {
  const L = sim.latencyMs;
  const bot = await startBot(paths, { sim, env: { APPROVER_IDS: aadObjectIdOf(APPROVER) } });
  const party: Party = { client: new BotClient(bot.child.port, connector.url), connector };
  const botSamples: DiagnosisSample[] = [];
  const cliSamples: DiagnosisFigures['raw']['cli'] = [];
  const fixSamples: FixSample[] = [];
  const fixConversation = async (p: Party, vm: string, fixId: string): Promise<FixSample> => {
    const conv = `a:fix-${fixId}`;
    const approverConv = `a:fix-approver-${fixId}`;
    p.connector.watch(approverConv);
    await p.client.say(approverConv, APPROVER, 'help'); // the approver has a personal chat with the bot
    const opened = await openIncident(p, conv, `29:fix-user-${fixId}`, vm);
    await p.client.invoke(conv, `29:fix-user-${fixId}`, 'diagnose.start', { incidentId: opened.incidentId }, opened.consentActivityId);
    await p.connector.waitFor(conv, (e) => e.kind === 'update' && e.activityId === opened.consentActivityId && e.raw.includes('fix.request'), 60000);
    const before = (await sim.operations()).length;
    const started = Date.now();
    await p.client.invoke(conv, `29:fix-user-${fixId}`, 'fix.request', { incidentId: opened.incidentId, fixId });
    // the approver's copy is the base card (its Approve comes with the approver's own view, approval.refresh)
    const card = await p.connector.waitFor(approverConv, (e) => e.kind === 'send' && /approval\.(approve|refresh)/.test(e.raw), 10000);
    const approvalId = /"approvalId":"([0-9a-f-]{36})"/.exec(card.raw)?.[1] ?? '';
    await p.client.invoke(approverConv, APPROVER, 'approval.approve', { approvalId }, card.activityId);
    await p.connector.waitFor(conv, (e) => e.kind === 'send' && /has finished|failed:/.test(e.raw), 120000);
    const ops = (await sim.operations()).slice(before);
    p.connector.unwatch(conv);
    p.connector.unwatch(approverConv);
    const restart = fixId === 'enable-tls' ? 1 : 0;
    return {
      vm,
      fixId,
      ms: Date.now() - started,
      calls: { ...countCalls(ops), snapshots: ops.filter((o) => o.kind === 'snapshot').length, restarts: ops.filter((o) => o.kind === 'restart').length },
      plan: { runCommands: 2, snapshots: 1, restarts: restart },
    };
  };
  try {
    for (let i = 0; i < runs; i++) {
      const vm = DIAGNOSABLE_VMS[i % DIAGNOSABLE_VMS.length];
      const before = (await sim.operations()).length;
      const run = await diagnoseConversation(party, `a:time-${i}`, `29:time-${i}`, vm);
      const { toFindingsMs } = await (run.background ?? Promise.reject(new Error('no background work')));
      const calls = countCalls((await sim.operations()).slice(before));
      botSamples.push({ vm, toFindingsMs, calls });
      log(`  chat ${vm}: consent → findings ${toFindingsMs.toFixed(0)} ms (${(toFindingsMs / L).toFixed(3)} L); ${JSON.stringify(calls)}`);
    }
    for (let i = 0; i < runs; i++) {
      const vm = DIAGNOSABLE_VMS[i % DIAGNOSABLE_VMS.length];
      const before = (await sim.operations()).length;
      const { wallMs, reported } = await cliDiagnose(paths, sim, vm);
      const calls = countCalls((await sim.operations()).slice(before));
      const elapsed = (reported as { elapsedMs?: unknown }).elapsedMs;
      const toFindingsMs = typeof elapsed === 'number' ? elapsed : wallMs;
      cliSamples.push({ vm, toFindingsMs, calls, wallMs, reported });
      log(`  cli  ${vm}: elapsedMs ${toFindingsMs.toFixed(0)} (${(toFindingsMs / L).toFixed(3)} L), process ${wallMs.toFixed(0)} ms; ${JSON.stringify(calls)}`);
    }
    for (const [vm, fixId] of FIX_RUNS) {
      const r = await fixConversation(party, vm, fixId);
      fixSamples.push(r);
      log(`  fix  ${fixId} on ${vm}: ${JSON.stringify(r.calls)} (plan: ${JSON.stringify(r.plan)}), ${r.ms.toFixed(0)} ms`);
    }
  } finally {
    party.client.close();
    await bot.child.stop();
  }

  const botTime = median(botSamples.map((s) => s.toFindingsMs));
  const cliTime = median(cliSamples.map((s) => s.toFindingsMs));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const botRc = mean(botSamples.map((s) => s.calls.runCommands));
  const cliRc = mean(cliSamples.map((s) => s.calls.runCommands));
  const rows: Row[] = [
    row({
      figure: '2',
      metric: `time to diagnosis, consent → findings card, median of ${runs}`,
      unit: 'ms',
      value: botTime,
      baseline: L,
      target: `≤ ${TIME_TARGET}x L`,
      pass: botTime / L <= TIME_TARGET,
      note: `L = simulated Run Command latency, 20 s scaled down by ${(20000 / L).toFixed(0)}`,
    }),
    row({ figure: '2', metric: 'same diagnosis by the CLI (elapsedMs), for reference', unit: 'ms', value: cliTime, baseline: L, target: '', pass: null }),
    row({
      figure: '3',
      metric: 'Run Commands per diagnosis (operation log)',
      unit: '',
      value: botRc,
      baseline: cliRc,
      target: '= 1',
      pass: botSamples.every((s) => s.calls.runCommands === 1 && s.calls.diagnoseScripts === 1),
      note: 'baseline: CLI diagnosis',
    }),
    row({
      figure: '3',
      metric: 'ARM reads per diagnosis conversation (operation log)',
      unit: '',
      value: mean(botSamples.map((s) => s.calls.reads)),
      baseline: mean(cliSamples.map((s) => s.calls.reads)),
      target: '',
      pass: null,
      note: 'incl. the VM look-up of the message turn; baseline: CLI diagnosis',
    }),
    row({
      figure: '3',
      metric: 'Azure writes per diagnosis (operation log)',
      unit: '',
      value: mean(botSamples.map((s) => s.calls.writes)),
      baseline: mean(cliSamples.map((s) => s.calls.writes)),
      target: '= 0',
      pass: botSamples.every((s) => s.calls.writes === 0),
      ratio: null,
    }),
    ...fixSamples.map((f) =>
      row({
        figure: '3',
        metric: `Run Commands per fix: ${f.fixId} on ${f.vm} (the fix script, then the verification diagnosis)`,
        unit: '',
        value: f.calls.runCommands,
        baseline: f.plan.runCommands,
        target: '= plan',
        pass: f.calls.runCommands === f.plan.runCommands && f.calls.snapshots === f.plan.snapshots && f.calls.restarts === f.plan.restarts,
        note: `snapshots ${f.calls.snapshots}/${f.plan.snapshots}, restarts ${f.calls.restarts}/${f.plan.restarts}, ARM reads ${f.calls.reads}; baseline: the plan`,
      }),
    ),
  ];
  return { rows, raw: { latencyMs: L, bot: botSamples, cli: cliSamples, fixes: fixSamples } };
}

function cliDiagnose(paths: BenchPaths, sim: SimulatorChild, vm: string): Promise<{ wallMs: number; reported: unknown }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(paths.repo, 'dist', 'cli', 'index.js'), 'diagnose', vm, '--json'],
      {
        cwd: paths.tmp,
        timeout: 60000,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AZURE_ARM_ENDPOINT: sim.endpoint, AZURE_ARM_CA_FILE: sim.caFile, LOG_LEVEL: 'warn' },
      },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`cli diagnose ${vm}: ${err.message} ${stderr}`));
        try {
          resolve({ wallMs: Date.now() - started, reported: JSON.parse(stdout) as unknown });
        } catch {
          reject(new Error(`cli diagnose ${vm}: not JSON: ${stdout.slice(0, 300)}`));
        }
      },
    );
  });
}
