import type { AzureGateway, SecurityRuleSpec, SweepGateway, SweepNic, SweepNsg, SweepScopeFilter, SweepVmStatus, VmSummary } from '../../services/azure/gateway';
import { nicIdOf, nsgIdOf, vmIdOf } from '../../services/simulator/arm-shapes';
import type { Fleet, FleetVm } from '../../services/simulator/fleet';

/**
 * A SweepGateway over a fleet file, paged like Resource Graph and the status list (sweep-core's
 * tests until sweep-sim's simulator routes land). Counts its calls; `fail` makes one call kind
 * fail. The rest of AzureGateway (the Run Command) goes to `inner`, the simulator's gateway.
 */
export interface FleetSweepGateway extends SweepGateway {
  calls: Record<'vms' | 'nics' | 'nsgs' | 'status', number>;
}

function page<T>(items: T[], pageSize: number, token: string | undefined): { items: T[]; next?: string } {
  const at = token ? Number(token) : 0;
  const next = at + pageSize < items.length ? String(at + pageSize) : undefined;
  return { items: items.slice(at, at + pageSize), next };
}

export function fleetSweepGateway(fleet: Fleet, pageSize = 3): FleetSweepGateway {
  const inFilter = (vm: FleetVm, f: SweepScopeFilter) =>
    (!f.subscriptionIds || f.subscriptionIds.some((s) => s.toLowerCase() === fleet.subscriptionId.toLowerCase())) &&
    (!f.resourceGroup || f.resourceGroup.toLowerCase() === vm.resourceGroup.toLowerCase());
  const calls = { vms: 0, nics: 0, nsgs: 0, status: 0 };
  return {
    calls,
    async listVmsPage(filter, skipToken) {
      calls.vms++;
      const vms: VmSummary[] = fleet.vms
        .filter((v) => inFilter(v, filter))
        .map((v) => ({ id: vmIdOf(fleet, v), name: v.name, resourceGroup: v.resourceGroup, subscriptionId: fleet.subscriptionId, location: v.location, osType: v.osType, tags: v.tags }));
      const p = page(vms, pageSize, skipToken);
      return { vms: p.items, skipToken: p.next };
    },
    async listNicsPage(filter, skipToken) {
      calls.nics++;
      const nics: SweepNic[] = fleet.vms
        .filter((v) => inFilter(v, filter))
        .map((v) => ({ id: nicIdOf(fleet, v), vmId: vmIdOf(fleet, v), nsgId: nsgIdOf(fleet, v), hasPublicIp: v.publicIp !== null }));
      const p = page(nics, pageSize, skipToken);
      return { nics: p.items, skipToken: p.next };
    },
    async listNsgsPage(filter, skipToken) {
      calls.nsgs++;
      const nsgs: SweepNsg[] = fleet.vms
        .filter((v) => inFilter(v, filter))
        .map((v) => ({
          id: nsgIdOf(fleet, v),
          name: `${v.name}-nsg`,
          subscriptionId: fleet.subscriptionId,
          resourceGroup: v.resourceGroup,
          rules: v.nsgRules.map((r) => ({ ...r }) as SecurityRuleSpec),
          networkInterfaceIds: [nicIdOf(fleet, v)],
          subnetIds: [],
        }));
      const p = page(nsgs, pageSize, skipToken);
      return { nsgs: p.items, skipToken: p.next };
    },
    async listVmStatusPage(subscriptionId, nextLink) {
      calls.status++;
      const statuses: SweepVmStatus[] =
        subscriptionId.toLowerCase() === fleet.subscriptionId.toLowerCase()
          ? fleet.vms.map((v) => ({ vmId: vmIdOf(fleet, v), powerState: v.powerState, agentStatus: v.agentStatus }))
          : [];
      const p = page(statuses, pageSize, nextLink);
      return { statuses: p.items, nextLink: p.next };
    },
  };
}

/** The simulator's gateway with the fleet's bulk reads beside it. */
export function withFleetSweeps<G extends AzureGateway>(inner: G, sweep: FleetSweepGateway): G & FleetSweepGateway {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop in sweep) return (sweep as unknown as Record<string | symbol, unknown>)[prop];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as G & FleetSweepGateway;
}
