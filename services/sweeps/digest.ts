import { SEVERITY, type Finding } from '../runbook/findings';
import type { SweepDigest, SweepVmResult } from './types';

const RANK: Record<string, number> = { blocker: 0, critical: 1, warning: 2, info: 3 };
const rankOf = (r: SweepVmResult): number => (r.worst ? (RANK[r.worst] ?? 4) : 5);

/** worst first: the worst severity, then the most findings, then the name */
export function worseFirst(a: SweepVmResult, b: SweepVmResult): number {
  return rankOf(a) - rankOf(b) || b.findings.length - a.findings.length || a.vmName.localeCompare(b.vmName);
}

/** A VM's result from its findings (already sorted worst first, as the evaluation returns them). */
export function resultOf(vm: { id: string; name: string; resourceGroup: string; subscriptionId: string }, findings: Finding[], skipped?: string): SweepVmResult {
  const ids = [...new Set(findings.map((f) => f.id))];
  const worst = ids.length === 0 ? null : ids.map((id) => SEVERITY[id as keyof typeof SEVERITY] ?? 'info').sort((x, y) => (RANK[x] ?? 4) - (RANK[y] ?? 4))[0];
  return { vmId: vm.id, vmName: vm.name, resourceGroup: vm.resourceGroup, subscriptionId: vm.subscriptionId, findings: ids, worst, ...(skipped ? { skipped } : {}) };
}

/**
 * Folds VM results into the digest as they arrive: counts per finding and per skip reason, and
 * only the `limit` worst VMs (the rest are in the store, not in memory).
 */
export function fold(digest: SweepDigest, r: SweepVmResult, limit: number): void {
  digest.done++;
  for (const id of r.findings) digest.counts[id] = (digest.counts[id] ?? 0) + 1;
  if (r.skipped) {
    const reason = r.skipped.startsWith('error:') ? 'error' : r.skipped;
    digest.skipped = { ...(digest.skipped ?? {}), [reason]: (digest.skipped?.[reason] ?? 0) + 1 };
  }
  if (r.worst === null) return;
  // sweep-ui's `affected` (VMs with a finding; the card's "and N more"), additive on SweepDigest
  const withAffected = digest as SweepDigest & { affected?: number };
  withAffected.affected = (withAffected.affected ?? 0) + 1;
  const list = digest.vms;
  if (list.length >= limit && worseFirst(r, list[list.length - 1]) >= 0) return;
  const at = list.findIndex((x) => worseFirst(r, x) < 0);
  if (at < 0) list.push(r);
  else list.splice(at, 0, r);
  if (list.length > limit) list.length = limit;
}
