import type { z } from 'zod';
import type { EffectiveNsg, NsgDetails, ScriptParameter, SecurityRuleSpec, VmDetails, VmModel } from '../azure/gateway';
import type { Finding, FindingId } from './findings';
import { registryFix, REGISTRY, type RegistryFixId } from './causes';
import { badInput } from './causes/kit';
import type { CauseInput } from './causes/types';
import type { DiagnosticFacts } from './diagnostic-output';
import type { ScriptId } from './scripts';
import type { RepairPlan } from './repair-plan';

export { conflictingServices } from './causes/listener';
export { validateSourceCidr } from './causes/nsg-changes';
export { defaultSnapshotName } from './causes/snapshot';

/** CONTRACTS.md §2: the approved catalogue, each fix declared by one cause module (services/runbook/causes). */
export type FixId = RegistryFixId;
/** CONTRACTS.md §2: the approved catalogue, in the order of the registry. */
export const FIX_IDS: readonly FixId[] = REGISTRY.flatMap((c) => (c.fixes ?? []).map((f) => f.id as FixId));
export type Risk = 'low' | 'medium' | 'high';

/** An ARM change, described as data; the caller performs it through the AzureGateway. */
export type ArmOp =
  | { op: 'startVm' }
  | { op: 'restartVm' }
  | { op: 'snapshotOsDisk'; snapshotName: string }
  | { op: 'nsgRules'; rules: NsgRuleChange[] }
  /** issue #15: the whole rescue-VM repair, run step by step by services/incidents/repair-runner.ts */
  | { op: 'offlineRepair'; plan: RepairPlan };

export interface NsgRuleChange {
  nsgId: string;
  /** `upsert`: PUT `rule`; `delete`: remove the rule named `rule.name` (it is `before`) */
  action?: 'upsert' | 'delete';
  /** the complete rule to PUT (same name and priority as the effective rule it replaces), or the rule to delete */
  rule: SecurityRuleSpec;
  /** the rule as it is now, as ARM stores it; null when the change creates it */
  before?: SecurityRuleSpec | null;
  /** the rule also covers ports other than RDP: changing its source changes them too */
  coversOtherPorts: boolean;
  /** the ports other than RDP that the touched rule opens: they stay exactly as they are */
  otherPorts?: string[];
  /** a new rule that takes over RDP from this broader rule (which is left as it is) */
  standsFor?: string;
}

export interface FixDef {
  id: FixId;
  addresses: readonly FindingId[];
  risk: Risk;
  /** the VM must be restarted (through ARM, by the caller) before the change takes effect */
  needsRestart: boolean;
  /** the fix changes what is on the OS disk (or may): the runner takes an OS disk snapshot first */
  changesDisk: boolean;
  kind: 'script' | 'arm';
  scriptId?: ScriptId;
  /** strict schema of the parameters the user (or the card) supplies */
  params: z.ZodType;
  /** its plan depends on the NSGs as they are now (read fresh for each plan) */
  readsNsgs: boolean;
  /** its plan needs the VM's compute model (offline-repair; read fresh for each plan) */
  readsVmModel: boolean;
  /** what the findings card asks for (cards/diagnosis.ts) */
  inputs: readonly CauseInput[];
}

export interface ScriptFixRun {
  kind: 'script';
  fixId: FixId;
  scriptId: ScriptId;
  script: string;
  parameters: ScriptParameter[];
  needsRestart: boolean;
  /** an ARM change to make after the script succeeded (change-rdp-port: the NSG rule for the new port) */
  arm?: ArmOp;
}

export interface ArmFixRun {
  kind: 'arm';
  fixId: FixId;
  arm: ArmOp;
  needsRestart: false;
}

export type FixRun = ScriptFixRun | ArmFixRun;

/** What buildFixRun may need besides the facts. */
export interface FixContext {
  vm?: VmDetails;
  nsgs?: EffectiveNsg[] | null;
  /** the NSGs as ARM stores them (descriptions, exact spelling): the "before" of a rule change */
  nsgDetails?: NsgDetails[] | null;
  now?: Date;
  /** offline-repair: the VM's compute model (RepairGateway.getVmModel) and the incident whose id names what the repair creates */
  vmModel?: VmModel;
  incidentId?: string;
}

export const FIX_PARAMS = Object.fromEntries(REGISTRY.flatMap((c) => (c.fixes ?? []).map((f) => [f.id, f.params]))) as Record<FixId, z.ZodType>;

export const FIXES = Object.fromEntries(
  REGISTRY.flatMap((c) => c.fixes ?? []).map((f): [string, FixDef] => [
    f.id,
    {
      id: f.id as FixId,
      addresses: f.addresses as readonly FindingId[],
      risk: f.risk,
      needsRestart: f.needsRestart,
      changesDisk: f.changesDisk,
      kind: f.kind,
      scriptId: f.scriptId,
      params: f.params,
      readsNsgs: f.readsNsgs ?? false,
      readsVmModel: f.readsVmModel ?? false,
      inputs: f.inputs ?? [],
    },
  ]),
) as Record<FixId, FixDef>;

export function isFixId(id: string): id is FixId {
  return (FIX_IDS as readonly string[]).includes(id);
}

export interface FixSuggestion {
  id: FixId;
  /** the findings of this diagnosis the fix addresses */
  addresses: FindingId[];
  risk: Risk;
  needsRestart: boolean;
  kind: 'script' | 'arm';
}

/** Fixes for a diagnosis, the one for the most severe finding first. */
export function fixesFor(findings: readonly Finding[]): FixSuggestion[] {
  const order = findings.map((f) => f.id);
  const present = new Set(order);
  const out: FixSuggestion[] = [];
  for (const id of FIX_IDS) {
    const def = FIXES[id];
    const addresses = def.addresses.filter((a) => present.has(a));
    if (addresses.length === 0) continue;
    out.push({ id, addresses, risk: def.risk, needsRestart: def.needsRestart, kind: def.kind });
  }
  const firstIndex = (s: FixSuggestion) => Math.min(...s.addresses.map((a) => order.indexOf(a)));
  const sorted = out.sort((a, b) => firstIndex(a) - firstIndex(b) || FIX_IDS.indexOf(a.id) - FIX_IDS.indexOf(b.id));
  return applyPlanOrder(sorted);
}

/**
 * Fixes that must run before another when both are offered (SCRIPT-REVIEW A17): Microsoft's
 * event-ID article grants the MachineKeys rights first and renews the certificate only if the
 * problem persists; a renewal while the folder blocks key creation deletes the certificate and
 * gets no new one.
 */
export const RUN_BEFORE: ReadonlyArray<readonly [FixId, FixId]> = [['reset-machinekeys-acl', 'renew-rdp-cert']];

function applyPlanOrder(list: FixSuggestion[]): FixSuggestion[] {
  const out = [...list];
  for (const [first, then] of RUN_BEFORE) {
    const i = out.findIndex((s) => s.id === first);
    const j = out.findIndex((s) => s.id === then);
    if (i > j && j >= 0) {
      const [moved] = out.splice(i, 1);
      out.splice(j, 0, moved);
    }
  }
  return out;
}

/**
 * Validates the parameters against the fix's schema and the diagnosis, and returns what to run.
 * Throws DomainError('bad-input') with `params.detailKey` (an i18n key) when they do not fit.
 */
export function buildFixRun(fixId: string, params: unknown, facts: DiagnosticFacts | null, ctx: FixContext = {}): FixRun {
  if (!isFixId(fixId)) throw badInput('runbook.param.unknownFix', { fix: String(fixId).slice(0, 40) });
  const cause = registryFix(fixId);
  if (!cause) throw badInput('runbook.param.unknownFix', { fix: String(fixId).slice(0, 40) });
  return cause.build(params, facts, ctx);
}
