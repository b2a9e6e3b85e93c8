import 'dotenv/config';
import { parseArgs } from 'node:util';
import type { AuditVerification } from '../services/store/audit-chain';
import { DomainError, isDomainError } from '../services/errors';
import { t, type Lang } from '../services/i18n';
import { diagnoseVm, assertVmQuery, type DiagnosisReport } from '../services/incidents/diagnosis';
import { findVmCandidates } from '../services/incidents/vm-lookup';
import { guidanceFor } from '../services/runbook/causes/guidance';
import { createLogger } from '../services/log';
import { loadFleetFile } from '../services/simulator/fleet';
import { openStore } from '../services/store';
import { openAzure } from '../services/wiring/azure';
import { ConfigError, loadConfig } from '../services/wiring/config';
import { sweepCommand, SWEEP_USAGE } from './sweep';

/**
 * `rdp-doctor diagnose <vm-name-or-resource-id> [--fleet FILE] [--json] [--lang en|ru]`
 * (CONTRACTS.md §4): the bot's diagnosis without the chat. Exit 0 when the diagnosis ran,
 * 2 for bad input, 1 when it could not diagnose.
 */
const USAGE = [
  'usage: rdp-doctor diagnose <vm-name-or-resource-id> [--fleet FILE] [--json] [--lang en|ru]',
  '       rdp-doctor audit verify [--json] [--head SEQ:HASH]   (the store of the configuration: STORAGE, DATA_DIR, ...;',
  '                                 --head: a head printed by an earlier verify, kept outside the store)',
  SWEEP_USAGE,
].join('\n');

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        fleet: { type: 'string' },
        json: { type: 'boolean', default: false },
        head: { type: 'string' },
        lang: { type: 'string', default: 'en' },
        // --- sweep (issue #16, sweep-core) ---
        deep: { type: 'boolean', default: false },
        subscription: { type: 'string' },
        'resource-group': { type: 'string' },
        // --- end sweep ---
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, target, ...extra] = positionals;
  if (command === 'audit') {
    if (target !== 'verify') throw new UsageError(target ? `unknown audit command ${JSON.stringify(target)}` : 'missing audit command (verify)');
    if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    let witness: { seq: number; hash: string } | undefined;
    if (values.head !== undefined) {
      const m = /^([1-9][0-9]{0,14}):([0-9a-f]{64})$/.exec(values.head);
      if (!m) throw new UsageError('--head must be SEQ:HASH (a seq and a 64-digit lower-case SHA-256, as verify prints them)');
      witness = { seq: Number(m[1]), hash: m[2] };
    }
    return auditVerify(values.json, witness);
  }
  if (command === 'sweep') {
    if (target !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(target)}`);
    if (values.lang !== 'en' && values.lang !== 'ru') throw new UsageError('--lang must be en or ru');
    return sweepCommand({ fleet: values.fleet, deep: values.deep, subscription: values.subscription, resourceGroup: values['resource-group'], json: values.json, lang: values.lang }, (m) => new UsageError(m));
  }
  if (values.deep || values.subscription !== undefined || values['resource-group'] !== undefined) throw new UsageError('--deep, --subscription and --resource-group are options of sweep');
  if (command !== 'diagnose') throw new UsageError(command ? `unknown command ${JSON.stringify(command)}` : 'missing command');
  if (!target) throw new UsageError('missing VM name or resource id');
  if (extra.length) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (values.lang !== 'en' && values.lang !== 'ru') throw new UsageError('--lang must be en or ru');
  const lang: Lang = values.lang;
  const query = assertVmQuery(target);

  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', SIM_RUN_COMMAND_LATENCY_MS: process.env.SIM_RUN_COMMAND_LATENCY_MS ?? '0' };
  if (values.fleet) {
    // --fleet: always the simulator, whatever Azure the environment names
    delete env.AZURE_SUBSCRIPTION_IDS;
    delete env.AZURE_ARM_ENDPOINT;
    delete env.AZURE_ARM_CA_FILE;
    env.SIM_FLEET = values.fleet;
    try {
      loadFleetFile(values.fleet);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const config = loadConfig(env);
  const logger = createLogger(process.env.LOG_LEVEL === undefined ? 'silent' : config.LOG_LEVEL, process.stderr as never);
  const azure = await openAzure(config, logger);
  try {
    const started = Date.now();
    const matches = await resolve(azure.gateway, query);
    const report = await diagnoseVm(azure.gateway, matches.id);
    // the calls are those of the diagnosis, counted by diagnoseVm as for the bot's findings card
    // (the VM and its effective NSG rules); the search for the name before it is not one of them
    report.elapsedMs = Date.now() - started;
    // against the simulator: which engine ran the diagnostic (the operation log says, per Run Command)
    const ran = azure.simulator?.operations().filter((o) => o.kind === 'runCommand' && o.engine !== null).pop()?.engine;
    const scriptEngine = azure.simulator ? (ran ?? azure.scriptEngine) : undefined;
    process.stdout.write(values.json ? `${JSON.stringify({ ...toJson(report), ...(scriptEngine ? { scriptEngine } : {}) })}\n` : toText(report, lang));
    return 0;
  } finally {
    await azure.close();
  }
}

/**
 * `rdp-doctor audit verify`: walks the audit chain of the configured store. Exit 0 when every
 * entry fits the chain, 1 with the first entry that does not.
 */
async function auditVerify(json: boolean, witness?: { seq: number; hash: string }): Promise<number> {
  const config = loadConfig(process.env);
  const store = await openStore(config);
  try {
    let r: AuditVerification & { legacy?: number } = await store.audit.verify();
    // a head kept outside the store: the entry must still be there with the same hash. Catches a
    // rewrite by someone who recomputed the whole chain (and its anchor) from that seq on.
    if (r.ok && witness) {
      const at = (await store.audit.page({ beforeSeq: witness.seq + 1, limit: 1 })).entries[0];
      if (!at || at.seq !== witness.seq || at.hash !== witness.hash) r = { ...r, ok: false, firstBadSeq: witness.seq, reason: 'witness-mismatch' };
    }
    if (json) process.stdout.write(`${JSON.stringify({ storage: store.kind, ...r })}\n`);
    else if (r.ok) {
      process.stdout.write(`audit log intact: ${r.count} entries chained${r.legacy ? ` (${r.legacy} older entries from before the chain)` : ''}${witness ? `, seq ${witness.seq} as given` : ''}\n`);
      if (r.head) process.stdout.write(`head: ${r.head.seq}:${r.head.hash}   (keep it outside this store; check later with --head)\n`);
    } else process.stdout.write(`audit log BROKEN at seq ${r.firstBadSeq} (${r.reason}) after ${Math.max(0, r.count - 1)} intact entries\n`);
    return r.ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

async function resolve(gateway: Awaited<ReturnType<typeof openAzure>>['gateway'], query: string): Promise<{ id: string }> {
  const pick = await findVmCandidates(gateway, query);
  if (pick.length === 0) throw new DomainError('not-found', `no VM matches ${JSON.stringify(query)}`, { params: { what: query } });
  if (pick.length > 1) {
    throw new DomainError('bad-input', `${pick.length} VMs match ${JSON.stringify(query)}: ${pick.map((v) => v.id).join(', ')}`, {
      params: { detail: pick.map((v) => v.name).join(', ') },
    });
  }
  return pick[0];
}

function toJson(r: DiagnosisReport) {
  return {
    vm: {
      id: r.vm.id,
      name: r.vm.name,
      resourceGroup: r.vm.resourceGroup,
      subscriptionId: r.vm.subscriptionId,
      location: r.vm.location,
      osType: r.vm.osType,
      powerState: r.vm.powerState,
      provisioningState: r.vm.provisioningState,
      agentStatus: r.vm.agentStatus,
    },
    findings: r.findings.map((f) => ({
      id: f.id,
      severity: f.severity,
      evidence: f.evidence.map((e) => ({ key: e.key, params: e.params, text: t('en', e.key, e.params) })),
    })),
    fixes: r.fixes,
    blocked: r.blocked,
    runCommandCalls: r.runCommandCalls,
    armCalls: r.armCalls,
    elapsedMs: r.elapsedMs,
  };
}

function toText(r: DiagnosisReport, lang: Lang): string {
  const lines = [t(lang, 'findings.title', { vm: r.vm.name }), ''];
  if (r.findings.length === 0) lines.push(t(lang, 'findings.none'));
  if (!r.findings.some((f) => f.severity !== 'info')) lines.push('', t(lang, 'chat.healthyNext'));
  for (const f of r.findings) {
    lines.push(`[${t(lang, `severity.${f.severity}`)}] ${t(lang, `findings.${f.id}.title`)} (${f.id})`);
    for (const e of f.evidence) lines.push(`    - ${t(lang, e.key, e.params)}`);
    for (const fix of r.fixes.filter((x) => x.addresses.includes(f.id))) lines.push(`    > ${t(lang, `fixes.${fix.id}.title`)} (${fix.id})`);
    // a finding without a safe fix: what to do, by whom, and Microsoft's article (as on the findings card)
    const g = guidanceFor(f.id);
    if (g) {
      lines.push(`    ${t(lang, 'guidance.title')} (${t(lang, 'guidance.by', { who: t(lang, `guidance.who.${g.who}`) })}):`);
      for (const step of t(lang, g.textKey).split('\n').filter((x) => x.trim() !== '')) lines.push(`      ${step}`);
      lines.push(`      ${t(lang, 'guidance.article')}: ${g.article}`);
    }
  }
  lines.push('', t(lang, 'findings.stats', { runCommands: r.runCommandCalls, armCalls: r.armCalls, seconds: (r.elapsedMs / 1000).toFixed(1), at: new Date().toISOString() }));
  return `${lines.join('\n')}\n`;
}

/**
 * What a failure prints and its exit code. With `--json`, one object on stdout,
 * `{ "error": { "code", "message" } }` (CONTRACTS.md §4), the code stable: `usage`,
 * `configuration`, a domain error's code (`bad-input`, `not-found`, `conflict`, ...) or `internal`.
 */
function failure(e: unknown): { code: string; message: string; text: string; exit: 1 | 2 } {
  if (e instanceof UsageError) return { code: 'usage', message: e.message, text: `${e.message}\n${USAGE}`, exit: 2 };
  if (e instanceof ConfigError) return { code: 'configuration', message: e.message, text: `configuration error: ${e.message}`, exit: 2 };
  if (isDomainError(e)) {
    return { code: e.code, message: e.message, text: e.message, exit: e.code === 'bad-input' || e.code === 'not-found' || e.code === 'out-of-scope' ? 2 : 1 };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'internal', message, text: message, exit: 1 };
}

const argv = process.argv.slice(2);
main(argv)
  .then((code) => process.exit(code))
  .catch((e: unknown) => {
    const f = failure(e);
    // --json asked for JSON, also when the arguments around it are wrong
    if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { code: f.code, message: f.message } })}\n`);
    else process.stderr.write(`rdp-doctor: ${f.text}\n`);
    process.exit(f.exit);
  });
