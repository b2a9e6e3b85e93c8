import type { EffectiveNsg, EffectiveSecurityRule, SecurityRuleSpec, SweepNic, SweepNsg, SweepVmStatus, VmDetails, VmSummary } from '../azure/gateway';
import { blockers, evaluate, type Finding } from '../runbook/findings';
import { AZURE_DEFAULT_INBOUND_RULES } from '../runbook/nsg';

/**
 * The fast sweep's view of one VM, from the bulk reads only, evaluated by the SAME code as a
 * diagnosis: `blockers()` and every cause's `check()` with no diagnostic facts (the causes that
 * need the script's facts find nothing, as for a blocked VM's diagnosis). What the ARM view gives:
 * the VM's state and agent, its effective NSGs (the NIC's and the subnet's, default rules
 * included), whether its NIC has a public IP. Without the script the RDP port is taken as 3389.
 */

/** An NSG's own rules as effectiveNetworkSecurityGroups would list them, Azure's default inbound rules after them. */
export function effectiveNsgOf(nsg: SweepNsg, associatedWith: EffectiveNsg['associatedWith']): EffectiveNsg {
  return {
    networkSecurityGroupId: nsg.id,
    associatedWith,
    rules: [...nsg.rules.map(effectiveRuleOf), ...AZURE_DEFAULT_INBOUND_RULES],
  };
}

function effectiveRuleOf(r: SecurityRuleSpec): EffectiveSecurityRule {
  return {
    name: `securityRules/${r.name}`,
    protocol: r.protocol === '*' ? 'All' : r.protocol,
    sourceAddressPrefix: r.sourceAddressPrefixes && r.sourceAddressPrefixes.length > 0 ? undefined : (r.sourceAddressPrefix ?? '*'),
    sourceAddressPrefixes: r.sourceAddressPrefixes && r.sourceAddressPrefixes.length > 0 ? r.sourceAddressPrefixes : undefined,
    destinationPortRange: r.destinationPortRanges && r.destinationPortRanges.length > 0 ? undefined : (r.destinationPortRange ?? '*'),
    destinationPortRanges: r.destinationPortRanges && r.destinationPortRanges.length > 0 ? r.destinationPortRanges : undefined,
    access: r.access,
    priority: r.priority,
    direction: r.direction,
  };
}

/** What the fast sweep keeps of the network between the bulk reads and the VMs: by id, lower case. */
export class NetworkView {
  /** vm id -> its (first) NIC */
  private readonly nicByVm = new Map<string, { subnetId?: string; nsgId?: string; hasPublicIp: boolean }>();
  private readonly nsgById = new Map<string, EffectiveNsg>();
  private readonly nsgBySubnet = new Map<string, string>();

  addNsg(nsg: SweepNsg): void {
    const id = nsg.id.toLowerCase();
    this.nsgById.set(id, effectiveNsgOf(nsg, 'unknown'));
    for (const s of nsg.subnetIds) this.nsgBySubnet.set(s.toLowerCase(), id);
  }

  addNic(nic: SweepNic): void {
    if (!nic.vmId) return;
    const vm = nic.vmId.toLowerCase();
    if (!this.nicByVm.has(vm)) this.nicByVm.set(vm, { subnetId: nic.subnetId?.toLowerCase(), nsgId: nic.nsgId?.toLowerCase(), hasPublicIp: nic.hasPublicIp });
  }

  /** The VM's effective NSGs (subnet first, then NIC), null when it has no NIC in the view (as a diagnosis without a NIC). */
  nsgsOf(vmId: string): EffectiveNsg[] | null {
    const nic = this.nicByVm.get(vmId.toLowerCase());
    if (!nic) return null;
    const out: EffectiveNsg[] = [];
    const subnetNsg = nic.subnetId ? this.nsgBySubnet.get(nic.subnetId) : undefined;
    const s = subnetNsg ? this.nsgById.get(subnetNsg) : undefined;
    if (s) out.push({ ...s, associatedWith: 'subnet' });
    const n = nic.nsgId ? this.nsgById.get(nic.nsgId) : undefined;
    if (n) out.push({ ...n, associatedWith: 'networkInterface' });
    return out;
  }

  publicIpOf(vmId: string): boolean | undefined {
    return this.nicByVm.get(vmId.toLowerCase())?.hasPublicIp;
  }

  hasNic(vmId: string): boolean {
    return this.nicByVm.has(vmId.toLowerCase());
  }
}

/** The VmDetails a diagnosis would read, built from the bulk view (what the evaluation uses of it). */
export function detailsOf(vm: VmSummary, status: Pick<SweepVmStatus, 'powerState' | 'agentStatus'> | undefined, network: NetworkView): VmDetails {
  const os = (vm.osType ?? '').toLowerCase();
  return {
    id: vm.id,
    name: vm.name,
    resourceGroup: vm.resourceGroup,
    subscriptionId: vm.subscriptionId,
    location: vm.location,
    tags: vm.tags,
    osType: os === 'windows' ? 'Windows' : os === 'linux' ? 'Linux' : 'unknown',
    powerState: status?.powerState ?? 'unknown',
    provisioningState: 'Succeeded',
    agentStatus: status?.agentStatus ?? 'Unknown',
    primaryNicId: network.hasNic(vm.id) ? `${vm.id}/nic` : undefined,
    bootDiagnosticsEnabled: false,
    publicIp: network.publicIpOf(vm.id),
  };
}

/** The fast sweep's findings for one VM: the blockers, then every cause's ARM-view check, sorted as a diagnosis sorts them. */
export function fastFindings(vm: VmDetails, nsgs: EffectiveNsg[] | null, now: Date): Finding[] {
  return [...blockers(vm), ...evaluate({ vm, nsgs, facts: null, now })];
}

/** A VM the deep sweep may run the diagnostic on: Windows, running, agent Ready (no blocker). */
export function deepEligible(vm: VmDetails): boolean {
  return blockers(vm).length === 0;
}
