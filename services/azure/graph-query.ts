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
