import type { AzureGateway, EffectiveNsg, VmDetails } from '../azure/gateway';
import { DomainError } from '../errors';
import { blockers, evaluate, type Finding } from '../runbook/findings';
import { parseDiagnosticOutput, type DiagnosticFacts } from '../runbook/diagnostic-output';
import { fixesFor } from '../runbook/fixes';
import { DIAGNOSE_SCRIPT, diagnoseParameters } from '../runbook/scripts';
import type { DiagnosisRecord } from './model';

export type DiagnosisPhase = 'precheck' | 'runCommand' | 'analysis';

export interface DiagnosisReport {
  vm: VmDetails;
  findings: Finding[];
  fixes: Array<{ id: string; addresses: string[] }>;
  /** true when a blocker stopped the diagnosis before Run Command */
  blocked: boolean;
  runCommandCalls: number;
  armCalls: number;
  elapsedMs: number;
  facts: DiagnosticFacts | null;
  nsgs: EffectiveNsg[] | null;
}

export interface DiagnoseOptions {
  now?: () => Date;
  onPhase?: (phase: DiagnosisPhase) => void | Promise<void>;
  runCommandTimeoutInMs?: number;
  abortSignal?: AbortSignal;
  /** count events only since then (the verification after a fix), never more than 24 h back */
  since?: Date;
}

/** What the gateway counts, when it counts (the SDK gateway and test doubles do). */
interface CountingGateway {
  callCounts?: () => { runCommand: number; armReads: number; armWrites: number };
}

/**
 * The runbook made automatic: the ARM reads in parallel, the blockers, then ONE read-only Run
 * Command with the diagnostic script, and the findings from both. Shared by the bot and the CLI.
 */
export async function diagnoseVm(gateway: AzureGateway & CountingGateway, vmId: string, opts: DiagnoseOptions = {}): Promise<DiagnosisReport> {
  const now = opts.now ?? (() => new Date());
  const started = Date.now();
  const before = gateway.callCounts?.() ?? { runCommand: 0, armReads: 0, armWrites: 0 };
  await opts.onPhase?.('precheck');

  const vm = await gateway.getVm(vmId);
  const stop = blockers(vm);
  // The NSG read does not need the VM running; start it with the blockers' verdict known
  // only when it is useful: a blocked VM still gets the network evidence.
  const nsgPromise: Promise<EffectiveNsg[] | null> = vm.primaryNicId ? gateway.getEffectiveNsgRules(vm).catch(() => null) : Promise.resolve(null);
  // §1b (famhost): the public IP presence (rdp-no-public-ip), read beside the NSGs; unknown on a failure
  const ipPromise: Promise<boolean | undefined> = vm.primaryNicId && gateway.hasPublicIp ? gateway.hasPublicIp(vm).catch(() => undefined) : Promise.resolve(undefined);

  let facts: DiagnosticFacts | null = null;
  if (stop.length === 0) {
    await opts.onPhase?.('runCommand');
    const [nsgs, output] = await Promise.all([
      nsgPromise,
      gateway.runScript(vm.id, {
        scriptId: DIAGNOSE_SCRIPT.id,
        script: DIAGNOSE_SCRIPT.source,
        parameters: diagnoseParameters(opts.since),
        timeoutInMs: opts.runCommandTimeoutInMs,
        abortSignal: opts.abortSignal,
      }),
    ]);
    await opts.onPhase?.('analysis');
    vm.publicIp = await ipPromise;
    facts = parseDiagnosticOutput(output.stdout);
    return finish(vm, evaluate({ vm, nsgs, facts, now: now() }), false, facts, nsgs);
  }
  const nsgs = await nsgPromise;
  vm.publicIp = await ipPromise;
  return finish(vm, [...stop, ...evaluate({ vm, nsgs, facts: null, now: now() })], true, null, nsgs);

  function finish(v: VmDetails, findings: Finding[], blocked: boolean, f: DiagnosticFacts | null, n: EffectiveNsg[] | null): DiagnosisReport {
    const after = gateway.callCounts?.() ?? before;
    return {
      vm: v,
      findings,
      fixes: fixesFor(findings).map((x) => ({ id: x.id, addresses: [...x.addresses] })),
      blocked,
      runCommandCalls: after.runCommand - before.runCommand,
      armCalls: after.armReads + after.armWrites - before.armReads - before.armWrites,
      elapsedMs: Date.now() - started,
      facts: f,
      nsgs: n,
    };
  }
}

/** What an incident keeps of a diagnosis. */
export function toRecord(report: DiagnosisReport, at: Date): DiagnosisRecord {
  return {
    at: at.toISOString(),
    findings: report.findings.map((f) => ({ id: f.id, severity: f.severity, evidence: f.evidence })),
    fixes: report.fixes,
    runCommandCalls: report.runCommandCalls,
    armCalls: report.armCalls,
    elapsedMs: report.elapsedMs,
    vm: { id: report.vm.id, name: report.vm.name, powerState: report.vm.powerState, agentStatus: report.vm.agentStatus, osType: report.vm.osType },
    facts: report.facts,
    nsgs: report.nsgs,
  };
}

export function assertVmQuery(q: string): string {
  const s = q.trim();
  if (!s || s.length > 300 || /[\u0000-\u001f<>"'`;|&$]/.test(s)) {
    throw new DomainError('bad-input', `invalid VM name or resource id: ${JSON.stringify(s.slice(0, 80))}`, {
      params: { detail: s.slice(0, 80) },
    });
  }
  return s;
}
