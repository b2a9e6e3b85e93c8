import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { t, type Lang } from '../services/i18n';
import { createLogger } from '../services/log';
import { loadFleetFile } from '../services/simulator/fleet';
import { openStore } from '../services/store';
import { worseFirst } from '../services/sweeps/digest';
import type { SweepDigest, SweepVmResult } from '../services/sweeps/types';
import { openSweeps } from '../services/sweeps/wiring';
import { openAzure } from '../services/wiring/azure';
import { loadConfig } from '../services/wiring/config';

/**
 * `rdp-doctor sweep [--fleet FILE] [--deep] [--subscription S[,S2]] [--resource-group RG] [--json] [--lang en|ru]`
 * (docs/sweeps.md): a sweep without the chat, the digest on stdout. Exit 0 when the sweep ran
 * (whatever it found), 2 for bad input (an out-of-scope subscription, say), 1 when it failed.
 */
export const SWEEP_USAGE = '       rdp-doctor sweep [--fleet FILE] [--deep] [--subscription ID[,ID]] [--resource-group RG] [--json] [--lang en|ru]';

export interface SweepArgs {
  fleet?: string;
  deep: boolean;
  subscription?: string;
  resourceGroup?: string;
  json: boolean;
  lang: Lang;
}

/** at most this many VMs in the text output (the JSON lists every VM with a finding or a skip reason) */
const TEXT_VMS = 20;

export async function sweepCommand(args: SweepArgs, usage: (message: string) => Error): Promise<number> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', SIM_RUN_COMMAND_LATENCY_MS: process.env.SIM_RUN_COMMAND_LATENCY_MS ?? '0' };
  let scratch: string | undefined;
  if (args.fleet) {
    // --fleet: always the simulator, and a scratch store (nothing real is checked, no slot is kept)
    delete env.AZURE_SUBSCRIPTION_IDS;
    delete env.AZURE_ARM_ENDPOINT;
    delete env.AZURE_ARM_CA_FILE;
    env.SIM_FLEET = args.fleet;
    env.STORAGE = 'sqlite';
    try {
      loadFleetFile(args.fleet);
    } catch (e) {
      throw usage((e as Error).message);
    }
    scratch = mkdtempSync(join(tmpdir(), 'rdp-doctor-sweep-'));
    env.DATA_DIR = scratch;
  }
  const config = loadConfig(env);
  const logger = createLogger(process.env.LOG_LEVEL === undefined ? 'silent' : config.LOG_LEVEL, process.stderr as never);
  const store = await openStore(config, logger);
  const azure = await openAzure(config, logger).catch(async (e: unknown) => {
    await store.close();
    throw e;
  });
  try {
    // the person at the command line holds the Azure credentials: no approver list applies
    // against the simulator a busy VM is tried again sooner (the demo's vm-busy-09 stays busy)
    const opened = openSweeps({ ...config, SWEEP_SCHEDULE: undefined }, store, azure, logger, {
      isApprover: () => true,
      progressIntervalMs: 60_000,
      ...(args.fleet ? { busyRetryDelayMs: 5000 } : {}),
    });
    if (!opened) throw new Error('this Azure access has no bulk reads (Resource Graph)');
    const subscriptionIds = args.subscription?.split(',').map((x) => x.trim()).filter(Boolean);
    const first = await opened.sweeps.start({
      kind: args.deep ? 'deep' : 'fast',
      scope: { ...(subscriptionIds?.length ? { subscriptionIds } : {}), ...(args.resourceGroup !== undefined ? { resourceGroup: args.resourceGroup } : {}) },
      startedBy: 'cli',
    });
    const digest = await opened.sweeps.whenDone(first.id);
    await opened.stop();
    const vms = await listed(store.sweeps, digest.id);
    process.stdout.write(args.json ? `${JSON.stringify({ ...digest, vms })}\n` : toText(digest, vms, args.lang));
    return digest.state === 'done' ? 0 : 1;
  } finally {
    await azure.close();
    await store.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** Every VM with a finding or a skip reason, the worst first (clean VMs are only counted). */
async function listed(repo: Awaited<ReturnType<typeof openStore>>['sweeps'], sweepId: string): Promise<SweepVmResult[]> {
  const out: SweepVmResult[] = [];
  let after: string | undefined;
  do {
    const page = await repo.results(sweepId, 1000, after);
    out.push(...page.results.filter((r) => r.worst !== null || r.skipped));
    after = page.next;
  } while (after);
  return out.sort(worseFirst);
}

function toText(d: SweepDigest, vms: SweepVmResult[], lang: Lang): string {
  const lines = [t(lang, `sweeps.cli.title.${d.kind}`, { id: d.id, state: t(lang, `sweeps.cli.state.${d.state}`), done: d.done, total: d.total }), ''];
  const counts = Object.entries(d.counts).sort((a, b) => b[1] - a[1]);
  if (counts.length === 0) lines.push(t(lang, 'findings.none'));
  for (const [id, n] of counts) lines.push(`  ${String(n).padStart(6)}  ${t(lang, `findings.${id}.title`)} (${id})`);
  for (const [reason, n] of Object.entries(d.skipped ?? {})) lines.push(`  ${String(n).padStart(6)}  ${t(lang, 'sweeps.cli.notDiagnosed', { reason })}`);
  if (vms.length > 0) lines.push('');
  for (const v of vms.slice(0, TEXT_VMS)) {
    const sev = v.worst ? `[${t(lang, `severity.${v.worst}`)}] ` : '';
    lines.push(`  ${sev}${v.vmName} (${v.resourceGroup}): ${v.findings.join(', ') || '-'}${v.skipped ? `; ${t(lang, 'sweeps.cli.notDiagnosed', { reason: v.skipped })}` : ''}`);
  }
  if (vms.length > TEXT_VMS) lines.push(`  ${t(lang, 'sweeps.cli.more', { count: vms.length - TEXT_VMS })}`);
  lines.push('', `${t(lang, 'sweeps.cli.stats', { armCalls: d.armCalls, runCommands: d.runCommands })}${d.error ? ` (${d.error})` : ''}`);
  return `${lines.join('\n')}\n`;
}
