import { parseVmId } from '../azure/arm-ids';
import type { AzureGateway, VmSummary } from '../azure/gateway';

/**
 * The VMs a user's words name: a resource id (checked against the scope by the gateway), else the
 * VMs whose name contains the query, exact names only when there are any, sorted by name.
 * Shared by the chat's intake and the CLI.
 */
export async function findVmCandidates(gateway: AzureGateway, query: string): Promise<VmSummary[]> {
  const q = query.trim();
  if (parseVmId(q)) return [await gateway.getVm(q)];
  return rankVmCandidates(await gateway.findVms(q), q);
}

/** Of the VMs whose name contains `query`: the exact names only when there are any, sorted by name. */
export function rankVmCandidates(found: VmSummary[], query: string): VmSummary[] {
  const q = query.trim().toLowerCase();
  const exact = found.filter((v) => v.name.toLowerCase() === q);
  return [...(exact.length ? exact : found)].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}
