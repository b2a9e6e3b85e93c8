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

export const parseVmId = (id: string): ParsedResourceId | null => parseTypedId(id, 'Microsoft.Compute', 'virtualMachines');

export function vmIdFrom(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${name}`;
}

export function looksLikeResourceId(text: string): boolean {
  return /^\/subscriptions\//i.test(text.trim());
}
