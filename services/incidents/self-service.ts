import type { VmSummary } from '../azure/gateway';

/**
 * SELF_SERVICE_SCOPE: which VMs people other than approvers may diagnose. Comma-separated
 * entries, each a resource group name or `tag:<name>=<value>`; a VM is in the scope when its
 * resource group is listed or it carries one of the listed tags. Tag names compare
 * case-insensitively and values exactly, as Azure does ("tag names are case-insensitive for
 * operations; tag values are case-sensitive", Azure Resource Manager tag docs). The tags are the
 * VM's own, as ARM and Resource Graph return them (not inherited from its resource group).
 */
export interface SelfServiceScope {
  resourceGroups: string[];
  tags: Array<{ name: string; value: string }>;
}

const RG = /^[-\w._()]{1,90}$/;
/** Azure refuses < > % & \ ? / in tag names; a value cannot hold a comma here (the list's separator) */
const TAG = /^tag:([^=<>%&\\?/,\s][^=<>%&\\?/,]{0,511})=([^,]{0,256})$/i;

/** One entry of the setting: a resource group, a tag, or null when it is neither. */
export function parseScopeEntry(entry: string): { resourceGroup: string } | { tag: { name: string; value: string } } | null {
  const m = TAG.exec(entry);
  if (m) return { tag: { name: m[1].trim(), value: m[2].trim() } };
  if (/^tag:/i.test(entry)) return null;
  return RG.test(entry) ? { resourceGroup: entry } : null;
}

export function parseSelfServiceScope(entries: readonly string[]): SelfServiceScope {
  const scope: SelfServiceScope = { resourceGroups: [], tags: [] };
  for (const e of entries) {
    const p = parseScopeEntry(e);
    if (!p) throw new Error(`not a resource group name or tag:name=value: ${e}`);
    if ('tag' in p) scope.tags.push(p.tag);
    else scope.resourceGroups.push(p.resourceGroup);
  }
  return scope;
}

/** Empty: everything in scope (as before the setting existed). */
export function scopeIsEmpty(s: SelfServiceScope): boolean {
  return s.resourceGroups.length === 0 && s.tags.length === 0;
}

export function inSelfServiceScope(s: SelfServiceScope, vm: Pick<VmSummary, 'resourceGroup' | 'tags'>): boolean {
  if (scopeIsEmpty(s)) return true;
  if (s.resourceGroups.some((g) => g.toLowerCase() === vm.resourceGroup.toLowerCase())) return true;
  const tags = Object.entries(vm.tags ?? {});
  return s.tags.some((want) => tags.some(([k, v]) => k.toLowerCase() === want.name.toLowerCase() && v === want.value));
}
