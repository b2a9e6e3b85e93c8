/** Parsing of ARM resource ids; everything is compared case-insensitively, as ARM does. */
export interface ParsedResourceId {
  subscriptionId: string;
  resourceGroup: string;
  provider: string;
  /** e.g. "virtualMachines", "networkSecurityGroups" */
  type: string;
  name: string;
}

const RESOURCE_ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/([^/]+)\/([^/]+)\/([^/]+)$/i;

export function parseResourceId(id: string): ParsedResourceId | null {
  const m = RESOURCE_ID.exec(id.trim().replace(/\/+$/, ''));
  if (!m) return null;
  return { subscriptionId: m[1], resourceGroup: m[2], provider: m[3], type: m[4], name: m[5] };
}

export function parseTypedId(id: string, provider: string, type: string): ParsedResourceId | null {
  const p = parseResourceId(id);
  if (!p || p.provider.toLowerCase() !== provider.toLowerCase() || p.type.toLowerCase() !== type.toLowerCase()) return null;
  return p;
}

/**
 * A VM's resource id within ARM's limits (subscription GUID, resource group 1-90, VM name 1-64
 * characters): the one pattern for ids that come from people and cards. `_IN_TEXT` finds one in
 * a message; `VM_RESOURCE_ID` checks a whole value (card data).
 */
export const VM_RESOURCE_ID_IN_TEXT = /\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[-\w._()]{1,90}\/providers\/Microsoft\.Compute\/virtualMachines\/[-\w.]{1,64}/i;
export const VM_RESOURCE_ID = new RegExp(`^${VM_RESOURCE_ID_IN_TEXT.source}$`, 'i');

export const parseVmId = (id: string): ParsedResourceId | null => parseTypedId(id, 'Microsoft.Compute', 'virtualMachines');

export function vmIdFrom(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`;
}

export function looksLikeResourceId(text: string): boolean {
  return /^\/subscriptions\//i.test(text.trim());
}
