import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EffectiveNsg, VmDetails } from '../../services/azure/gateway';
import { fleetVmSchema, type FleetVm } from '../../services/simulator/fleet';
import { unorderedRules } from '../../services/simulator/arm-shapes';
import { AZURE_DEFAULT_INBOUND_RULES } from '../../services/runbook/nsg';
import { factsFromWindows } from '../../services/simulator/vm-interior';
import type { DiagnosticFacts } from '../../services/runbook/diagnostic-output';

export const NOW = new Date('2026-11-25T16:00:00Z');

/**
 * The demo fleet's VMs, parsed with the fleet schema. (The file's nil-style subscription id is not
 * an RFC 4122 UUID, which zod 4's .uuid() rejects; the VMs are what these tests need.)
 */
export function demoFleetVms(): FleetVm[] {
  const json = JSON.parse(readFileSync(join(__dirname, '..', '..', 'services', 'simulator', 'fleets', 'demo-fleet.json'), 'utf8')) as { vms: unknown[] };
  return json.vms.map((v) => fleetVmSchema.parse(v));
}

export function demoVm(name: string): FleetVm {
  const vm = demoFleetVms().find((v) => v.name === name);
  if (!vm) throw new Error(`no demo VM ${name}`);
  return vm;
}

/** Facts of a healthy VM (the demo fleet's vm-healthy-01), to be altered per test. */
export function healthyFacts(change: (f: DiagnosticFacts) => void = () => undefined): DiagnosticFacts {
  const w = demoVm('vm-healthy-01').windows;
  if (!w) throw new Error('no windows state');
  const f = factsFromWindows(w, NOW, new Date(NOW.getTime() - 86_400_000));
  change(f);
  return f;
}

export function vmDetailsOf(vm: FleetVm, subscriptionId = '00000000-0000-0000-0000-000000000001'): VmDetails {
  const rg = `/subscriptions/${subscriptionId}/resourceGroups/${vm.resourceGroup}`;
  return {
    id: `${rg}/providers/Microsoft.Compute/virtualMachines/${vm.name}`,
    name: vm.name,
    resourceGroup: vm.resourceGroup,
    subscriptionId,
    location: vm.location,
    osType: vm.osType,
    powerState: vm.powerState,
    provisioningState: 'Succeeded',
    agentStatus: vm.agentStatus,
    primaryNicId: `${rg}/providers/Microsoft.Network/networkInterfaces/${vm.name}-nic`,
    bootDiagnosticsEnabled: true,
    // §1b: what the NIC read gives (fleet publicIp null = none)
    publicIp: vm.publicIp !== null,
  };
}

/**
 * The NIC's effective NSG as the simulator serves it: the fleet's rules plus Azure's defaults, in
 * the simulator's seeded non-priority order (Azure promises none).
 */
export function effectiveNsgsOf(vm: FleetVm, subscriptionId = '00000000-0000-0000-0000-000000000001'): EffectiveNsg[] {
  const networkSecurityGroupId = `/subscriptions/${subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Network/networkSecurityGroups/${vm.name}-nsg`;
  return [
    {
      networkSecurityGroupId,
      associatedWith: 'networkInterface',
      rules: unorderedRules([
        ...vm.nsgRules.map((r) => ({
          name: `securityRules/${r.name}`,
          protocol: r.protocol,
          sourceAddressPrefix: r.sourceAddressPrefix,
          sourceAddressPrefixes: r.sourceAddressPrefixes,
          destinationPortRange: r.destinationPortRange,
          destinationPortRanges: r.destinationPortRanges,
          access: r.access,
          priority: r.priority,
          direction: r.direction,
        })),
        ...AZURE_DEFAULT_INBOUND_RULES,
      ], networkSecurityGroupId),
    },
  ];
}
