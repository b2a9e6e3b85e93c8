import type { SecurityRuleSpec, SweepNsg } from '../../services/azure/gateway';
import { detailsOf, fastFindings, NetworkView } from '../../services/sweeps/evaluate';

/** The fast sweep's network view: NIC and subnet NSGs, Azure's default rules, evaluated by nsg.ts. */

const VM = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1';
const SUBNET = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/default';
const nsg = (name: string, rules: SecurityRuleSpec[], subnetIds: string[] = []): SweepNsg => ({
  id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/${name}`,
  name,
  subscriptionId: 's',
  resourceGroup: 'rg',
  rules,
  networkInterfaceIds: [],
  subnetIds,
});
const rule = (name: string, access: 'Allow' | 'Deny', source: string, priority = 300): SecurityRuleSpec => ({ name, priority, direction: 'Inbound', access, protocol: 'Tcp', sourceAddressPrefix: source, destinationPortRange: '3389' });

function findings(nsgs: SweepNsg[], nic: { nsg?: string; subnet?: boolean; publicIp?: boolean } | null) {
  const view = new NetworkView();
  for (const n of nsgs) view.addNsg(n);
  if (nic) view.addNic({ id: `${VM}-nic`, vmId: VM, nsgId: nic.nsg ? nsgs.find((n) => n.name === nic.nsg)?.id : undefined, subnetId: nic.subnet ? SUBNET : undefined, hasPublicIp: nic.publicIp ?? true });
  const vm = detailsOf({ id: VM, name: 'vm1', resourceGroup: 'rg', subscriptionId: 's', location: 'x', osType: 'Windows' }, { powerState: 'running', agentStatus: 'Ready' }, view);
  return fastFindings(vm, view.nsgsOf(VM), new Date());
}

it('reads Azure default rules after the NSG own: a deny of the Internet still lets the virtual network in (not blocked)', () => {
  expect(findings([nsg('n', [rule('deny-internet', 'Deny', 'Internet')])], { nsg: 'n' }).map((f) => f.id)).toEqual([]);
});

it('an NSG without any RDP rule: AllowVnetInBound lets VPN and Bastion in, DenyAllInBound keeps the Internet out: no finding', () => {
  expect(findings([nsg('n', [])], { nsg: 'n' }).map((x) => x.id)).toEqual([]);
});

it('a deny of every source before the defaults: blocked, with that rule as the evidence', () => {
  const f = findings([nsg('n', [rule('deny-all', 'Deny', '*', 100)])], { nsg: 'n' });
  expect(f.map((x) => x.id)).toEqual(['rdp-blocked-by-nsg']);
  expect(f[0].evidence[0].params).toMatchObject({ rule: 'deny-all', priority: 100 });
});

it('the subnet NSG counts too: an open NIC NSG behind a closed subnet NSG is blocked, not exposed', () => {
  const f = findings([nsg('nic-nsg', [rule('any', 'Allow', '*')]), nsg('subnet-nsg', [rule('deny', 'Deny', '*', 100)], [SUBNET])], { nsg: 'nic-nsg', subnet: true });
  expect(f.map((x) => x.id)).toEqual(['rdp-blocked-by-nsg']);
});

it('exposed when both NSGs let the Internet in; no NSG at all is exposed too', () => {
  expect(findings([nsg('nic-nsg', [rule('any', 'Allow', '*')]), nsg('subnet-nsg', [rule('web', 'Allow', 'Internet')], [SUBNET])], { nsg: 'nic-nsg', subnet: true }).map((f) => f.id)).toEqual(['rdp-exposed-to-internet']);
  expect(findings([], {}).map((f) => f.id)).toEqual(['rdp-exposed-to-internet']);
});

it('no NIC in the view: no network finding (as a diagnosis without a NIC); no public IP is info', () => {
  expect(findings([], null).map((f) => f.id)).toEqual([]);
  expect(findings([nsg('n', [rule('office', 'Allow', '198.51.100.0/24')])], { nsg: 'n', publicIp: false }).map((f) => f.id)).toEqual(['rdp-no-public-ip']);
});
