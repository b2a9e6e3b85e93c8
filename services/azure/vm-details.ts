import type { VirtualMachine, VirtualMachineInstanceView } from '@azure/arm-compute';
import { parseVmId } from './arm-ids';
import type { AgentStatus, PowerState, VmDetails, VmSummary } from './gateway';

const POWER_STATES: readonly PowerState[] = ['running', 'stopped', 'deallocated', 'starting', 'stopping', 'deallocating'];

export function powerStateOf(code: string | undefined): PowerState {
  const s = (code ?? '').replace(/^PowerState\//i, '').toLowerCase();
  return (POWER_STATES as readonly string[]).includes(s) ? (s as PowerState) : 'unknown';
}

/** No vmAgent block at all (a stopped VM) is "Unknown", not "NotReady". */
export function agentStatusOf(view: VirtualMachineInstanceView | undefined): AgentStatus {
  const statuses = view?.vmAgent?.statuses;
  if (!statuses || statuses.length === 0) return 'Unknown';
  return statuses.some((s) => (s.displayStatus ?? '').toLowerCase() === 'ready') ? 'Ready' : 'NotReady';
}

export function powerOf(view: VirtualMachineInstanceView | undefined): PowerState {
  return powerStateOf(view?.statuses?.find((s) => (s.code ?? '').startsWith('PowerState/'))?.code);
}

function osTypeOf(vm: VirtualMachine): VmDetails['osType'] {
  const t = vm.storageProfile?.osDisk?.osType ?? (vm.osProfile?.windowsConfiguration ? 'Windows' : vm.osProfile?.linuxConfiguration ? 'Linux' : undefined);
  return t === 'Windows' || t === 'Linux' ? t : 'unknown';
}

export function vmDetailsOf(vm: VirtualMachine): VmDetails {
  const id = vm.id ?? '';
  const parsed = parseVmId(id);
  const view = vm.instanceView;
  const nics = vm.networkProfile?.networkInterfaces ?? [];
  const primaryNic = nics.find((n) => n.primary) ?? nics[0];
  const osDisk = vm.storageProfile?.osDisk;
  return {
    id,
    name: vm.name ?? parsed?.name ?? '',
    resourceGroup: parsed?.resourceGroup ?? '',
    subscriptionId: parsed?.subscriptionId ?? '',
    location: vm.location ?? '',
    osType: osTypeOf(vm),
    powerState: powerOf(view),
    provisioningState: vm.provisioningState ?? 'Unknown',
    agentStatus: agentStatusOf(view),
    agentVersion: view?.vmAgent?.vmAgentVersion,
    osDiskId: osDisk?.managedDisk?.id,
    osDiskName: osDisk?.name,
    primaryNicId: primaryNic?.id,
    bootDiagnosticsEnabled: vm.diagnosticsProfile?.bootDiagnostics?.enabled === true,
    tags: tagsOf(vm.tags),
  };
}

/** One Resource Graph row (the columns our query projects) as a VmSummary. */
export function vmSummaryOfRow(row: Record<string, unknown>): VmSummary | null {
  const id = typeof row.id === 'string' ? row.id : '';
  const parsed = parseVmId(id);
  if (!parsed) return null;
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const power = text(row.powerState);
  return {
    id,
    name: text(row.name) ?? parsed.name,
    resourceGroup: parsed.resourceGroup,
    subscriptionId: text(row.subscriptionId) ?? parsed.subscriptionId,
    location: text(row.location) ?? '',
    osType: text(row.osType),
    powerState: power ? powerStateOf(power) : undefined,
    tags: tagsOf(row.tags),
  };
}

/** Azure tags as strings (ARM allows 50 per resource; anything else in the field is ignored). */
export function tagsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!v || typeof v !== 'object' || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v as Record<string, unknown>).slice(0, 50)) if (typeof x === 'string') out[k] = x;
  return out;
}
