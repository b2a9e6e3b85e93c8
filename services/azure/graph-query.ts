import { DomainError } from '../errors';

/** VM names are 1-64 of [A-Za-z0-9_.-]; a search text outside that cannot match one, and never reaches KQL. */
export const VM_SEARCH_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
const RG_PATTERN = /^[-\w._()]{1,90}$/;
export const GRAPH_PAGE_SIZE = 100;

/**
 * The one Resource Graph query we send (the simulator parses exactly this shape).
 * Values are checked against strict patterns first, so quoting cannot be escaped.
 */
export function graphQueryForName(text: string, resourceGroups?: readonly string[]): string {
  if (!VM_SEARCH_PATTERN.test(text)) {
    throw new DomainError('bad-input', 'VM search text must be a VM name or part of one', { params: { field: 'vm' } });
  }
  const lines = ["Resources", "| where type =~ 'microsoft.compute/virtualmachines'", `| where name contains '${text}'`];
  const groups = (resourceGroups ?? []).filter((g) => RG_PATTERN.test(g) && !g.includes("'"));
  if (groups.length > 0) lines.push(`| where resourceGroup in~ (${groups.map((g) => `'${g}'`).join(', ')})`);
  lines.push(
    '| project id, name, resourceGroup, subscriptionId, location, osType = tostring(properties.storageProfile.osDisk.osType), powerState = tostring(properties.extended.instanceView.powerState.code), tags',
    '| order by name asc',
  );
  return lines.join('\n');
}

// --- sweep-sim: the fast sweep's bulk reads (issue #16) ---

/** Resource Graph's largest page ($top). */
export const SWEEP_PAGE_SIZE = 1000;
const SUBSCRIPTION_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export type SweepResource = 'vms' | 'nics' | 'nsgs';

const SWEEP_SHAPES: Record<SweepResource, { type: string; project: string }> = {
  vms: {
    type: 'microsoft.compute/virtualmachines',
    project: 'id, name, resourceGroup, subscriptionId, location, osType = tostring(properties.storageProfile.osDisk.osType), powerState = tostring(properties.extended.instanceView.powerState.code), tags',
  },
  nics: {
    type: 'microsoft.network/networkinterfaces',
    project: 'id, resourceGroup, subscriptionId, vmId = tostring(properties.virtualMachine.id), nsgId = tostring(properties.networkSecurityGroup.id), ipConfigurations = properties.ipConfigurations',
  },
  nsgs: {
    type: 'microsoft.network/networksecuritygroups',
    project: 'id, name, resourceGroup, subscriptionId, securityRules = properties.securityRules, networkInterfaces = properties.networkInterfaces, subnets = properties.subnets',
  },
};

export function isSubscriptionId(s: string): boolean {
  return SUBSCRIPTION_PATTERN.test(s);
}

export function isResourceGroupName(s: string): boolean {
  return RG_PATTERN.test(s) && !s.includes("'");
}

/**
 * The sweep's queries: every resource of one type, optionally in the given resource groups,
 * ordered by id so that `$skipToken` pages are stable. Subscriptions travel in the request body,
 * never in the text. Every value is checked against a strict pattern first: one that does not
 * match is refused (`bad-input`), never quoted or dropped.
 */
export function graphQueryForSweep(resource: SweepResource, resourceGroups?: readonly string[]): string {
  const bad = (resourceGroups ?? []).find((g) => !isResourceGroupName(g));
  if (bad !== undefined) throw new DomainError('bad-input', 'resource group names are 1-90 letters, digits, and - _ . ( )', { params: { field: 'resourceGroup' } });
  const shape = SWEEP_SHAPES[resource];
  const lines = ['Resources', `| where type =~ '${shape.type}'`];
  const groups = resourceGroups ?? [];
  if (groups.length === 1) lines.push(`| where resourceGroup =~ '${groups[0]}'`);
  else if (groups.length > 1) lines.push(`| where resourceGroup in~ (${groups.map((g) => `'${g}'`).join(', ')})`);
  lines.push(`| project ${shape.project}`, '| order by id asc');
  return lines.join('\n');
}
// --- end sweep-sim ---
