import type { AzureGateway, EffectiveNsg, NsgDetails, RepairGateway, VmDetails } from '../azure/gateway';
import { DomainError } from '../errors';
import type { DiagnosticFacts } from '../runbook/diagnostic-output';
import { buildFixRun, FIXES, isFixId, type FixRun, type NsgRuleChange } from '../runbook/fixes';
import { normalRule, planOf, sameJson, type FixPlan } from '../runbook/plan';
import { getScript } from '../runbook/scripts';
import { noUndoReason, noUndoText, undoScriptFor } from '../runbook/undo';
import type { AppStore } from '../store/store';
import type { Planner } from './approvals';
import { diagnoseVm, toRecord } from './diagnosis';
import type { DiagnosisRecord, Job } from './model';

/** Fixes whose plan depends on the NSGs as they are now (`readsNsgs` in their cause module): they are read fresh for each plan. */
const readsNsgs = (fixId: string): boolean => isFixId(fixId) && FIXES[fixId].readsNsgs;
/** Fixes whose plan needs the VM's compute model (`readsVmModel`: offline-repair): read fresh for each plan. */
const readsVmModel = (fixId: string): boolean => isFixId(fixId) && FIXES[fixId].readsVmModel;

/** The gateway can run an offline repair (RepairGateway): the SDK gateway can; most test doubles cannot. */
export function isRepairGateway(g: AzureGateway): g is AzureGateway & RepairGateway {
  const r = g as Partial<RepairGateway>;
  return typeof r.getVmModel === 'function' && typeof r.createRescueVm === 'function' && typeof r.swapOsDisk === 'function' && typeof r.listTaggedResources === 'function';
}

export interface PlannedFix {
  plan: FixPlan;
  run: FixRun;
  vm: VmDetails | null;
  nsgs: EffectiveNsg[] | null;
}

/**
 * Works out a fix's exact plan from the VM as it is: the effective rules and the NSGs as ARM
 * stores them (fresh reads) for the fixes that change NSGs, the diagnosis's facts for the
 * parameters of a script. The same function at request time and before the first change.
 */
export async function planFix(
  gateway: AzureGateway,
  req: { vmId: string; fixId: string; params: unknown; facts: DiagnosticFacts | null; now: Date; knownNsgs?: EffectiveNsg[] | null; incidentId?: string },
): Promise<PlannedFix> {
  if (readsVmModel(req.fixId)) {
    // the repair plan is derived from the VM's compute model and the incident's id only
    const reader = gateway as Partial<RepairGateway>;
    if (typeof reader.getVmModel !== 'function') throw refuse('runbook.param.repairUnsupported');
    const vmModel = await reader.getVmModel(req.vmId);
    const run = buildFixRun(req.fixId, req.params, req.facts, { vmModel, incidentId: req.incidentId, now: req.now });
    return { plan: planOf(run, null), run, vm: null, nsgs: req.knownNsgs ?? null };
  }
  if (!readsNsgs(req.fixId)) {
    const run = buildFixRun(req.fixId, req.params, req.facts, { nsgs: req.knownNsgs ?? null, now: req.now });
    return { plan: planOf(run, null), run, vm: null, nsgs: req.knownNsgs ?? null };
  }
  const vm = await gateway.getVm(req.vmId);
  // the effective rules the caller has (the precheck's fresh read, or at request time the
  // diagnosis's, so the turn does not wait for a long-running read); the NSGs themselves are read now
  const nsgs = req.knownNsgs ?? (vm.primaryNicId ? await gateway.getEffectiveNsgRules(vm) : []);
  const ids = [...new Set(nsgs.map((n) => n.networkSecurityGroupId).filter((x): x is string => !!x))];
  const details: NsgDetails[] = await Promise.all(ids.map((id) => gateway.getNsg(id)));
  const run = buildFixRun(req.fixId, req.params, req.facts, { vm, nsgs, nsgDetails: details, now: req.now });
  return { plan: planOf(run, details, vm.primaryNicId), run, vm, nsgs };
}

/**
 * The facts a run-time precheck reads: the newest diagnosis of the VM on record (any incident,
 * verification diagnoses included), unless a job may have changed the VM after it without one
 * (an incident of the VM that failed since) or it has no facts while facts are needed: then a
 * fresh read-only diagnosis.
 */
export async function currentBasis(
  gateway: AzureGateway,
  store: AppStore,
  vmId: string,
  opts: { now: () => Date; needsFacts: boolean },
): Promise<{ record: DiagnosisRecord | null; fresh: boolean }> {
  const incidents = await store.incidents.listByVm(vmId, 50);
  let newest: DiagnosisRecord | null = null;
  for (const i of incidents) if (i.diagnosis && (!newest || Date.parse(i.diagnosis.at) > Date.parse(newest.at))) newest = i.diagnosis;
  const touchedSince = newest !== null && incidents.some((i) => i.state === 'failed' && Date.parse(i.updatedAt) > Date.parse(newest!.at));
  if (newest && !touchedSince && (newest.facts || !opts.needsFacts)) return { record: newest, fresh: false };
  const report = await diagnoseVm(gateway, vmId, { now: opts.now });
  return { record: toRecord(report, opts.now()), fresh: true };
}

const refuse = (detailKey: string, params: Record<string, string | number> = {}) =>
  new DomainError('approval-invalid', detailKey, { params: { ...params, detailKey } });

/**
 * The undo of a completed fix, from what the fix recorded: each NSG rule it wrote back to its
 * "before" (a rule it created is deleted), each only if it is still exactly what the fix left;
 * a script fix through its undo script with the before-values the fix script printed.
 */
export async function planUndo(gateway: AzureGateway, store: AppStore, req: { vmId: string; params: Record<string, unknown> }): Promise<PlannedFix> {
  const originalId = typeof req.params.jobId === 'string' ? req.params.jobId : '';
  const original = originalId ? await store.jobs.get(originalId) : null;
  if (!original || original.state !== 'succeeded' || original.result?.outcome === 'already-fixed' || original.vmId.toLowerCase() !== req.vmId.toLowerCase() || !isFixId(original.fixId)) {
    throw refuse('plans.undo.notPossible');
  }
  const changes: NsgRuleChange[] = [];
  const read = new Map<string, NsgDetails>();
  for (const c of [...(original.plan?.nsg ?? [])].reverse()) {
    const key = c.nsgId.toLowerCase();
    const d = read.get(key) ?? (await gateway.getNsg(c.nsgId));
    read.set(key, d);
    const name = (c.after ?? c.before)?.name ?? '';
    const now = d.rules.find((r) => r.name.toLowerCase() === name.toLowerCase()) ?? null;
    if (!sameJson(normalRule(now), normalRule(c.after))) throw refuse('plans.undo.changedSince', { rule: name });
    if (c.before) changes.push({ nsgId: c.nsgId, action: 'upsert', before: now, rule: c.before, coversOtherPorts: false, otherPorts: c.otherPorts });
    else if (now) changes.push({ nsgId: c.nsgId, action: 'delete', before: now, rule: now, coversOtherPorts: false, otherPorts: c.otherPorts });
  }
  const def = FIXES[original.fixId];
  let run: FixRun | null = null;
  if (def.kind === 'script') {
    const status = original.steps.find((s) => s.name === 'fix')?.detail?.status as Record<string, unknown> | undefined;
    const script = status ? undoScriptFor(original.fixId, status) : null;
    if (!script) throw refuse('plans.undo.notPossible');
    run = { kind: 'script', fixId: original.fixId, scriptId: script.id, script: getScript(script.id).source, parameters: script.parameters, needsRestart: script.needsRestart };
    // change-rdp-port: the script puts the port back, then the NSG rules the fix changed go back to their before
    if (changes.length > 0) run = { ...run, arm: { op: 'nsgRules', rules: changes } };
  } else if (changes.length > 0) {
    run = { kind: 'arm', fixId: original.fixId, arm: { op: 'nsgRules', rules: changes }, needsRestart: false };
  }
  if (!run) throw refuse('plans.undo.notPossible');
  const planned = planOf(run, [...read.values()]);
  const plan: FixPlan = { ...planned, fixId: 'undo', alsoAffects: original.plan?.alsoAffects ?? planned.alsoAffects };
  return { plan, run, vm: null, nsgs: null };
}

/** The ARM Planner the approval service uses: a fix's plan, or an undo's. */
export function gatewayPlanner(gateway: AzureGateway, store: AppStore, now: () => Date = () => new Date()): Planner {
  return {
    async plan(incident, fixId, params) {
      if (!incident.vmId) throw refuse('approval.notReady', { state: incident.state });
      if (fixId === 'undo') return (await planUndo(gateway, store, { vmId: incident.vmId, params })).plan;
      const planned = await planFix(gateway, { vmId: incident.vmId, fixId, params, facts: incident.diagnosis?.facts ?? null, now: now(), knownNsgs: incident.diagnosis?.nsgs ?? null, incidentId: incident.id });
      return planned.plan;
    },
  };
}

/** Whether a finished job can be offered an Undo: it changed something and recorded how it was. */
export function undoAvailable(job: Job | null | undefined): boolean {
  if (!job || job.state !== 'succeeded' || job.result?.outcome === 'already-fixed' || job.fixId === 'undo' || !isFixId(job.fixId)) return false;
  const nsg = job.plan?.nsg.length ?? 0;
  if (FIXES[job.fixId].kind === 'arm') return nsg > 0;
  const status = job.steps.find((s) => s.name === 'fix')?.detail?.status as Record<string, unknown> | undefined;
  // a script fix with NSG changes (change-rdp-port): its undo script and the NSG rules back, in one run
  return !!status && undoScriptFor(job.fixId, status) !== null;
}

/**
 * Why a finished job offers no Undo: a catalogue key and its parameters, for the completed-fix card.
 * null while the job is not finished, when it failed (the card says why), or when Undo is offered.
 */
export function noUndoFor(job: Job | null | undefined): { key: string; params: Record<string, string> } | null {
  if (!job || job.state !== 'succeeded' || undoAvailable(job)) return null;
  const status = job.steps.find((s) => s.name === 'fix')?.detail?.status as Record<string, unknown> | undefined;
  const reason = noUndoReason(job.fixId, status, { alreadyFixed: job.result?.outcome === 'already-fixed', nsgChanges: job.plan?.nsg.length ?? 0 }) ?? 'noBeforeValues';
  return noUndoText(job.fixId, reason, status);
}
