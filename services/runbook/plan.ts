import { createHash } from 'node:crypto';
import type { NsgDetails, ScriptParameter, SecurityRuleSpec } from '../azure/gateway';
import { FIXES, isFixId, type FixRun, type NsgRuleChange } from './fixes';
import type { RepairPlan } from './repair-plan';

/**
 * What exactly a fix will do, worked out when it is requested: shown on the approval card,
 * sealed in the approval's hash, and worked out again before the first change (a different
 * plan is refused). Pure data: no time stamps, nothing that changes by itself.
 */
export interface FixPlan {
  fixId: string;
  /** the Run Command script and its exact parameters, when the fix runs one */
  script: { id: string; parameters: ScriptParameter[] } | null;
  /** the ARM operation, when the fix is one (`nsgRules` also after a script: change-rdp-port) */
  arm: 'startVm' | 'restartVm' | 'snapshotOsDisk' | 'nsgRules' | 'offlineRepair' | null;
  /** every security rule written or deleted, with what it is now */
  nsg: PlannedRuleChange[];
  /** the VM is restarted after the script, if the script reports a change that needs it */
  restart: boolean;
  /** network interfaces and subnets besides this VM's NIC that the changed NSGs also apply to */
  alsoAffects: string[];
  /** offline-repair (issue #15): every step and every resource created, sealed in the approval's hash like the rest */
  repair?: RepairPlan;
}

export interface PlannedRuleChange {
  nsgId: string;
  nsgName: string;
  action: 'upsert' | 'delete';
  before: SecurityRuleSpec | null;
  after: SecurityRuleSpec | null;
  /** ports other than RDP opened by the touched rule: they stay exactly as they are */
  otherPorts: string[];
  /** a new rule that takes over RDP from this broader rule, which is left as it is */
  standsFor: string | null;
}

const lastSegment = (id: string): string => id.split('/').filter(Boolean).pop() ?? id;

/** The plan of a built fix run; `details` are the NSGs read for it (what else they reach). */
export function planOf(run: FixRun, details: NsgDetails[] | null, vmNicId?: string): FixPlan {
  const arm = run.kind === 'arm' ? run.arm : run.arm;
  const rules: NsgRuleChange[] = arm?.op === 'nsgRules' ? arm.rules : [];
  const nsg = rules.map(plannedChange);
  const touched = new Set(rules.map((r) => r.nsgId.toLowerCase()));
  const alsoAffects: string[] = [];
  for (const d of details ?? []) {
    if (!touched.has(d.id.toLowerCase())) continue;
    for (const nic of d.networkInterfaceIds) if (nic.toLowerCase() !== vmNicId?.toLowerCase()) alsoAffects.push(`nic:${lastSegment(nic)}`);
    for (const subnet of d.subnetIds) alsoAffects.push(`subnet:${lastSegment(subnet)}`);
  }
  return {
    fixId: run.fixId,
    script: run.kind === 'script' ? { id: run.scriptId, parameters: run.parameters.map((p) => ({ name: p.name, value: p.value })) } : null,
    arm: arm ? arm.op : null,
    nsg,
    restart: run.needsRestart,
    alsoAffects: [...new Set(alsoAffects)].sort(),
    ...(arm?.op === 'offlineRepair' ? { repair: arm.plan } : {}),
  };
}

function plannedChange(c: NsgRuleChange): PlannedRuleChange {
  const action = c.action ?? 'upsert';
  return {
    nsgId: c.nsgId,
    nsgName: lastSegment(c.nsgId),
    action,
    before: c.before ?? null,
    after: action === 'delete' ? null : c.rule,
    otherPorts: c.otherPorts ?? [],
    standsFor: c.standsFor ?? null,
  };
}

/** Canonical JSON: object keys sorted, undefined left out (what is hashed and compared). */
export function canonicalJson(v: unknown): string {
  const canon = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(canon);
    if (x && typeof x === 'object') {
      return Object.fromEntries(
        Object.keys(x as object)
          .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
          .sort()
          .map((k) => [k, canon((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(canon(v));
}

export const sameJson = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

export function planDigest(plan: FixPlan): string {
  return createHash('sha256').update(canonicalJson(plan)).digest('hex');
}

/** Changes that need a second approver when TWO_PERSON_FIXES names them. */
export type HighRiskKind = 'restart' | 'nsg';

export function highRiskKinds(plan: FixPlan): HighRiskKind[] {
  const out: HighRiskKind[] = [];
  const def = isFixId(plan.fixId) ? FIXES[plan.fixId] : undefined;
  // offline-repair deallocates the VM and starts it again on the repaired disk: a restart and more
  if (plan.restart || plan.arm === 'restartVm' || plan.arm === 'offlineRepair' || plan.fixId === 'restart-vm' || def?.needsRestart) out.push('restart');
  if (plan.nsg.length > 0) out.push('nsg');
  return out;
}

/** The rule as compared: what ARM keeps (defaults spelled out, "3389-3389" as "3389"). */
export function normalRule(r: SecurityRuleSpec | null | undefined): SecurityRuleSpec | null {
  if (!r) return null;
  const short = (s: string) => {
    const m = /^(\d+)-(\d+)$/.exec(s.trim());
    return m && m[1] === m[2] ? m[1] : s.trim();
  };
  const out: SecurityRuleSpec = { ...r, sourcePortRange: r.sourcePortRange ?? '*', destinationAddressPrefix: r.destinationAddressPrefix ?? '*' };
  if (out.destinationPortRange !== undefined) out.destinationPortRange = short(out.destinationPortRange);
  if (out.destinationPortRanges) out.destinationPortRanges = out.destinationPortRanges.map(short);
  if (out.description === '') delete out.description;
  return out;
}
