import { vmSubscriptionOf, type Fleet, type FleetNsgRule, type FleetVm } from './fleet';

/**
 * Response bodies shaped like Azure Resource Manager's (see the upstream examples in the
 * design fixtures). Names of the resources that the fleet file does not describe (NIC, NSG,
 * OS disk) are derived from the VM name, the way the portal names them.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json | undefined };
export type JsonObject = { [key: string]: Json | undefined };

export const nicNameOf = (vm: FleetVm): string => vm.nicName ?? `${vm.name}-nic`;
export const nsgNameOf = (vm: FleetVm): string => `${vm.name}-nsg`;
// issue #15: a swapped OS disk, or a rescue VM's, has its own name (fleet `osDiskName`)
export const osDiskNameOf = (vm: FleetVm): string => vm.osDiskName ?? `${vm.name}_OsDisk_1`;

const rgPath = (fleet: Fleet, vm: FleetVm): string => `/subscriptions/${vmSubscriptionOf(fleet, vm)}/resourceGroups/${vm.resourceGroup}`;
export const vmIdOf = (fleet: Fleet, vm: FleetVm): string => `${rgPath(fleet, vm)}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
export const nicIdOf = (fleet: Fleet, vm: FleetVm): string => `${rgPath(fleet, vm)}/providers/Microsoft.Network/networkInterfaces/${nicNameOf(vm)}`;
export const nsgIdOf = (fleet: Fleet, vm: FleetVm): string => `${rgPath(fleet, vm)}/providers/Microsoft.Network/networkSecurityGroups/${nsgNameOf(vm)}`;
export const osDiskIdOf = (fleet: Fleet, vm: FleetVm): string => `${rgPath(fleet, vm)}/providers/Microsoft.Compute/disks/${osDiskNameOf(vm)}`;
export const subnetIdOf = (fleet: Fleet, vm: FleetVm): string =>
  `${rgPath(fleet, vm)}/providers/Microsoft.Network/virtualNetworks/${vm.resourceGroup}-vnet/subnets/default`;

/** A stable GUID-looking id per VM name (Azure's vmId), so repeated reads agree. */
export function stableGuid(seed: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (const ch of seed) {
    h1 = Math.imul(h1 ^ ch.charCodeAt(0), 16777619) >>> 0;
    h2 = Math.imul(h2 + ch.charCodeAt(0), 2246822519) >>> 0;
  }
  const hex = (h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0')).repeat(2);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const POWER_DISPLAY: Record<string, string> = {
  running: 'VM running',
  stopped: 'VM stopped',
  deallocated: 'VM deallocated',
  starting: 'VM starting',
};

export function instanceViewOf(vm: FleetVm): JsonObject {
  const statuses: Json[] = [
    { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: '2024-01-01T00:00:00+00:00' },
    { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: POWER_DISPLAY[vm.powerState] ?? vm.powerState },
  ];
  const view: JsonObject = {
    computerName: vm.name,
    osName: vm.osType === 'Windows' ? 'Windows Server 2022 Datacenter' : 'ubuntu',
    osVersion: vm.osType === 'Windows' ? 'Microsoft Windows NT 10.0.20348.0' : '22.04',
    hyperVGeneration: vm.hyperVGeneration ?? 'V1',
    disks: [{ name: osDiskNameOf(vm), statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded' }] }],
    bootDiagnostics: {},
    statuses,
  };
  // Azure reports no agent at all for a VM that is not running.
  if (vm.powerState === 'running' || vm.powerState === 'starting') {
    view.vmAgent =
      vm.agentStatus === 'Ready'
        ? {
            vmAgentVersion: '2.7.41491.1102',
            statuses: [{ code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Ready', message: 'GuestAgent is running and processing the extensions.', time: new Date().toISOString() }],
          }
        : {
            vmAgentVersion: 'Unknown',
            statuses: [{ code: 'ProvisioningState/Unavailable', level: 'Warning', displayStatus: 'Not Ready', message: 'VM Agent is unresponsive.', time: new Date().toISOString() }],
          };
  }
  return view;
}

export function vmResourceOf(fleet: Fleet, vm: FleetVm, withInstanceView: boolean): JsonObject {
  const properties: JsonObject = {
    vmId: stableGuid(vmIdOf(fleet, vm)),
    hardwareProfile: { vmSize: vm.vmSize ?? 'Standard_D2s_v5' },
    storageProfile: {
      imageReference:
        vm.osType === 'Windows'
          ? { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: vm.hyperVGeneration === 'V2' ? '2022-datacenter-azure-edition' : '2022-datacenter', version: 'latest' }
          : { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2', version: 'latest' },
      osDisk: {
        osType: vm.osType,
        name: osDiskNameOf(vm),
        createOption: 'FromImage',
        caching: 'ReadWrite',
        managedDisk: { storageAccountType: 'Premium_LRS', id: osDiskIdOf(fleet, vm) },
        deleteOption: 'Delete',
        diskSizeGB: 127,
      },
      // issue #15: data disks attached through the repair routes (routes-repair.ts)
      dataDisks: (vm.dataDisks ?? []).map((d) => ({ lun: d.lun, name: d.name, createOption: 'Attach', caching: 'None', deleteOption: 'Detach', toBeDetached: false, managedDisk: { id: d.id, storageAccountType: 'Premium_LRS' } })),
    },
    osProfile: {
      computerName: vm.name,
      adminUsername: 'azureuser',
      ...(vm.osType === 'Windows'
        ? { windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: true } }
        : { linuxConfiguration: { disablePasswordAuthentication: true, provisionVMAgent: true } }),
      secrets: [],
    },
    networkProfile: { networkInterfaces: [{ id: nicIdOf(fleet, vm), properties: { primary: true } }] },
    diagnosticsProfile: { bootDiagnostics: { enabled: true } },
    provisioningState: 'Succeeded',
    timeCreated: '2024-01-01T00:00:00+00:00',
  };
  if (withInstanceView) properties.instanceView = instanceViewOf(vm);
  // issue #15: Trusted Launch / confidential VMs carry their security profile
  if (vm.securityType) properties.securityProfile = { securityType: vm.securityType, uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } };
  return {
    name: vm.name,
    id: vmIdOf(fleet, vm),
    type: 'Microsoft.Compute/virtualMachines',
    location: vm.location,
    ...(vm.zone ? { zones: [vm.zone] } : {}),
    tags: { ...(vm.tags ?? {}) },
    properties,
  };
}

/** The VM as Resource Graph returns it (lower-case type, `properties.extended.instanceView`). */
export function graphRowOf(fleet: Fleet, vm: FleetVm): JsonObject {
  const arm = vmResourceOf(fleet, vm, false);
  const props = arm.properties as JsonObject;
  return {
    id: vmIdOf(fleet, vm),
    name: vm.name,
    type: 'microsoft.compute/virtualmachines',
    tenantId: '00000000-0000-0000-0000-0000000000aa',
    kind: '',
    location: vm.location,
    resourceGroup: vm.resourceGroup.toLowerCase(),
    subscriptionId: vmSubscriptionOf(fleet, vm),
    tags: { ...(vm.tags ?? {}) },
    properties: {
      ...props,
      extended: {
        instanceView: {
          powerState: { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: POWER_DISPLAY[vm.powerState] ?? vm.powerState },
        },
      },
    },
  };
}

export function nicResourceOf(fleet: Fleet, vm: FleetVm): JsonObject {
  const id = nicIdOf(fleet, vm);
  return {
    name: nicNameOf(vm),
    id,
    type: 'Microsoft.Network/networkInterfaces',
    location: vm.location,
    properties: {
      provisioningState: 'Succeeded',
      ipConfigurations: [
        {
          name: 'ipconfig1',
          id: `${id}/ipConfigurations/ipconfig1`,
          properties: {
            primary: true,
            privateIPAddress: '10.0.0.4',
            privateIPAddressVersion: 'IPv4',
            privateIPAllocationMethod: 'Dynamic',
            provisioningState: 'Succeeded',
            // fleet `publicIp`: null = none; absent or a string = one exists (CONTRACTS §3b)
            ...(vm.publicIp === null ? {} : { publicIPAddress: { id: `${rgPath(fleet, vm)}/providers/Microsoft.Network/publicIPAddresses/${vm.name}-ip` } }),
            subnet: { id: subnetIdOf(fleet, vm) },
          },
        },
      ],
      dnsSettings: { dnsServers: [], appliedDnsServers: [] },
      enableAcceleratedNetworking: true,
      enableIPForwarding: false,
      networkSecurityGroup: { id: nsgIdOf(fleet, vm) },
      primary: true,
      virtualMachine: { id: vmIdOf(fleet, vm) },
    },
  };
}

interface RuleProps {
  name: string;
  description?: string;
  protocol: string;
  sourcePortRange?: string;
  sourcePortRanges?: string[];
  destinationPortRange?: string;
  destinationPortRanges?: string[];
  sourceAddressPrefix?: string;
  sourceAddressPrefixes?: string[];
  destinationAddressPrefix?: string;
  access: string;
  priority: number;
  direction: string;
}

export const DEFAULT_RULES: readonly RuleProps[] = [
  { name: 'AllowVnetInBound', description: 'Allow inbound traffic from all VMs in VNET', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork', access: 'Allow', priority: 65000, direction: 'Inbound' },
  { name: 'AllowAzureLoadBalancerInBound', description: 'Allow inbound traffic from azure load balancer', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'AzureLoadBalancer', destinationAddressPrefix: '*', access: 'Allow', priority: 65001, direction: 'Inbound' },
  { name: 'DenyAllInBound', description: 'Deny all inbound traffic', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: '*', access: 'Deny', priority: 65500, direction: 'Inbound' },
  { name: 'AllowVnetOutBound', description: 'Allow outbound traffic from all VMs to all VMs in VNET', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: 'VirtualNetwork', destinationAddressPrefix: 'VirtualNetwork', access: 'Allow', priority: 65000, direction: 'Outbound' },
  { name: 'AllowInternetOutBound', description: 'Allow outbound traffic from all VMs to Internet', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: 'Internet', access: 'Allow', priority: 65001, direction: 'Outbound' },
  { name: 'DenyAllOutBound', description: 'Deny all outbound traffic', protocol: '*', sourcePortRange: '*', destinationPortRange: '*', sourceAddressPrefix: '*', destinationAddressPrefix: '*', access: 'Deny', priority: 65500, direction: 'Outbound' },
];

function ruleProps(rule: FleetNsgRule): RuleProps {
  return {
    name: rule.name,
    description: rule.description,
    protocol: rule.protocol,
    sourcePortRange: rule.sourcePortRange ?? '*',
    destinationPortRange: rule.destinationPortRange,
    destinationPortRanges: rule.destinationPortRanges,
    sourceAddressPrefix: rule.sourceAddressPrefix,
    sourceAddressPrefixes: rule.sourceAddressPrefixes,
    destinationAddressPrefix: rule.destinationAddressPrefix ?? '*',
    access: rule.access,
    priority: rule.priority,
    direction: rule.direction,
  };
}

function armRule(nsgId: string, kind: 'securityRules' | 'defaultSecurityRules', p: RuleProps): JsonObject {
  const { name, ...rest } = p;
  return { name, id: `${nsgId}/${kind}/${name}`, type: `Microsoft.Network/networkSecurityGroups/${kind}`, properties: { provisioningState: 'Succeeded', ...rest } };
}

export function securityRuleResourceOf(fleet: Fleet, vm: FleetVm, rule: FleetNsgRule): JsonObject {
  return armRule(nsgIdOf(fleet, vm), 'securityRules', ruleProps(rule));
}

export function nsgResourceOf(fleet: Fleet, vm: FleetVm): JsonObject {
  const id = nsgIdOf(fleet, vm);
  return {
    name: nsgNameOf(vm),
    id,
    type: 'Microsoft.Network/networkSecurityGroups',
    location: vm.location,
    properties: {
      provisioningState: 'Succeeded',
      securityRules: vm.nsgRules.map((r) => armRule(id, 'securityRules', ruleProps(r))),
      defaultSecurityRules: DEFAULT_RULES.map((r) => armRule(id, 'defaultSecurityRules', r)),
      networkInterfaces: [{ id: nicIdOf(fleet, vm) }],
    },
  };
}

/** Effective rules spell ranges out ("3389-3389", "0-65535") and say "All" for any protocol. */
function effectiveRange(range: string): string {
  if (range === '*') return '0-65535';
  return range.includes('-') ? range : `${range}-${range}`;
}

function effectivePrefix(prefix: string): string {
  return prefix === '*' ? '0.0.0.0/0' : prefix;
}

function effectiveRule(kind: 'securityRules' | 'defaultSecurityRules', p: RuleProps): JsonObject {
  const out: JsonObject = {
    name: `${kind}/${p.name}`,
    protocol: p.protocol === '*' ? 'All' : p.protocol,
    sourcePortRange: effectiveRange(p.sourcePortRange ?? '*'),
  };
  if (p.destinationPortRanges && p.destinationPortRanges.length > 0) out.destinationPortRanges = p.destinationPortRanges.map(effectiveRange);
  else out.destinationPortRange = effectiveRange(p.destinationPortRange ?? '*');
  if (p.sourceAddressPrefixes && p.sourceAddressPrefixes.length > 0) out.sourceAddressPrefixes = p.sourceAddressPrefixes.map(effectivePrefix);
  else out.sourceAddressPrefix = effectivePrefix(p.sourceAddressPrefix ?? '*');
  if (p.sourceAddressPrefix === 'Internet') out.expandedSourceAddressPrefix = ['32.0.0.0/3', '4.0.0.0/6', '2.0.0.0/7', '1.0.0.0/8'];
  out.destinationAddressPrefix = effectivePrefix(p.destinationAddressPrefix ?? '*');
  out.access = p.access;
  out.priority = p.priority;
  out.direction = p.direction;
  return out;
}

/**
 * The rules in an order that is fixed per seed but never by priority: Azure documents no order
 * for effectiveSecurityRules (its examples happen to be sorted), so a client that relies on one
 * must fail here rather than on a real subscription.
 */
export function unorderedRules<T extends { priority?: Json | undefined }>(rules: readonly T[], seed: string): T[] {
  const out = [...rules];
  let state = Number.parseInt(stableGuid(seed).slice(0, 8), 16) || 1;
  const next = (): number => {
    // xorshift32: small, seeded, the same on every run
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  const priorities = out.map((r) => Number(r.priority));
  const ascending = priorities.every((p, i) => i === 0 || priorities[i - 1] <= p);
  // a shuffle may land on the sorted order: then the lowest priority goes last
  if (ascending && new Set(priorities).size > 1) out.push(out.shift() as T);
  return out;
}

export function effectiveNsgListOf(fleet: Fleet, vm: FleetVm): JsonObject {
  const rules = [...vm.nsgRules.map((r) => effectiveRule('securityRules', ruleProps(r))), ...DEFAULT_RULES.map((r) => effectiveRule('defaultSecurityRules', r))];
  return {
    value: [
      {
        networkSecurityGroup: { id: nsgIdOf(fleet, vm) },
        association: { networkInterface: { id: nicIdOf(fleet, vm) } },
        effectiveSecurityRules: unorderedRules(rules, nsgIdOf(fleet, vm)),
      },
    ],
  };
}

export function diskResourceOf(fleet: Fleet, vm: FleetVm): JsonObject {
  return {
    name: osDiskNameOf(vm),
    id: osDiskIdOf(fleet, vm),
    type: 'Microsoft.Compute/disks',
    location: vm.location,
    managedBy: vmIdOf(fleet, vm),
    sku: { name: 'Premium_LRS', tier: 'Premium' },
    properties: {
      osType: vm.osType,
      hyperVGeneration: vm.hyperVGeneration ?? 'V1',
      creationData: { createOption: 'FromImage' },
      diskSizeGB: 127,
      diskState: 'Attached',
      encryption: { type: 'EncryptionAtRestWithPlatformKey' },
      timeCreated: '2024-01-01T00:00:00+00:00',
      provisioningState: 'Succeeded',
    },
  };
}

export function armError(code: string, message: string): JsonObject {
  return { error: { code, message } };
}
