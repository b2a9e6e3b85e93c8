import type { VmModel } from '../azure/gateway';

/**
 * Offline repair through a rescue VM (issue #15, RUNBOOK.md "Offline repair"): the steps, in
 * order, and the resources a repair creates, as data. The approval card shows this plan; the
 * repair runner (services/incidents/repair-runner.ts) executes it step by step and records each.
 * Names are derived only from validated ids (the incident id and the VM's name), never from tags
 * or user text (MSRC 115198: `az vm repair` let tag values reach a command line).
 */
export const REPAIR_STEPS = [
  'snapshot',
  'create-disk',
  'create-rescue-vm',
  'attach-disk',
  'run-offline-scripts',
  'detach-disk',
  'deallocate-vm',
  'swap-os-disk',
  'start-vm',
  'wait-agent',
  'rediagnose',
  'cleanup',
] as const;
export type RepairStepId = (typeof REPAIR_STEPS)[number];

export type RepairResourceKind = 'snapshot' | 'disk' | 'vm' | 'nic' | 'vm-os-disk';

/** One resource the repair creates. All are removed at the end except the repaired disk, which becomes the OS disk (the original OS disk, not created by the bot, is kept). */
export interface RepairResource {
  kind: RepairResourceKind;
  name: string;
  /** the full ARM id it will have */
  id: string;
  /** deleted by the clean-up step (false: kept, named on the card, for a person to delete) */
  removedAtEnd: boolean;
  /** catalogue key (en and ru) of what it costs, in plain words */
  costKey: string;
}

export interface RepairPlan {
  incidentId: string;
  vm: Pick<VmModel, 'id' | 'name' | 'resourceGroup' | 'subscriptionId' | 'location' | 'zone' | 'vmSize' | 'hyperVGeneration' | 'securityType' | 'osDiskId' | 'osDiskName'>;
  steps: readonly RepairStepId[];
  /** every resource that will be created, in the order it is created */
  creates: RepairResource[];
  /** the original OS disk: kept after the swap until a person deletes it */
  keepsOriginalDisk: { id: string; name: string };
  /** the offline scripts run on the rescue VM against the attached copy */
  offlineScriptIds: readonly string[];
  /** the drive letter the copy is given on the rescue VM */
  drive: string;
}

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const OFFLINE_SCRIPTS = ['offline-registry', 'offline-machinekeys', 'offline-bcd'] as const;
/** the copy of the OS disk is attached at this LUN on the rescue VM and shows up as this drive */
export const REPAIR_LUN = 0;
export const REPAIR_DRIVE = 'F';

/** Short, stable, derived from the incident's UUID only: the same incident always gives the same names (a resumed repair finds its resources). */
export function repairNameStem(incidentId: string): string {
  if (!ID_PATTERN.test(incidentId)) throw new Error(`not an incident id: ${incidentId.slice(0, 40)}`);
  return `rdpd-${incidentId.replace(/-/g, '').slice(0, 12).toLowerCase()}`;
}

/**
 * The plan of one offline repair of `vm` for `incidentId`. Pure: the same inputs give the same
 * plan, so the approval's hash covers it and a resumed repair recomputes the same names.
 */
export function planRepair(incidentId: string, vm: VmModel): RepairPlan {
  const stem = repairNameStem(incidentId);
  const rg = `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers`;
  const snapshot = `${stem}-snapshot`;
  const disk = `${stem}-osdisk`;
  const rescue = `${stem}-rescue`;
  const creates: RepairResource[] = [
    { kind: 'snapshot', name: snapshot, id: `${rg}/Microsoft.Compute/snapshots/${snapshot}`, removedAtEnd: true, costKey: 'repair.cost.snapshot' },
    { kind: 'disk', name: disk, id: `${rg}/Microsoft.Compute/disks/${disk}`, removedAtEnd: false, costKey: 'repair.cost.disk' },
    { kind: 'nic', name: `${rescue}-nic`, id: `${rg}/Microsoft.Network/networkInterfaces/${rescue}-nic`, removedAtEnd: true, costKey: 'repair.cost.nic' },
    { kind: 'vm', name: rescue, id: `${rg}/Microsoft.Compute/virtualMachines/${rescue}`, removedAtEnd: true, costKey: 'repair.cost.vm' },
    { kind: 'vm-os-disk', name: `${rescue}-os`, id: `${rg}/Microsoft.Compute/disks/${rescue}-os`, removedAtEnd: true, costKey: 'repair.cost.vmOsDisk' },
  ];
  return {
    incidentId,
    vm: {
      id: vm.id,
      name: vm.name,
      resourceGroup: vm.resourceGroup,
      subscriptionId: vm.subscriptionId,
      location: vm.location,
      zone: vm.zone,
      vmSize: vm.vmSize,
      hyperVGeneration: vm.hyperVGeneration,
      securityType: vm.securityType,
      osDiskId: vm.osDiskId,
      osDiskName: vm.osDiskName,
    },
    steps: REPAIR_STEPS,
    creates,
    keepsOriginalDisk: { id: vm.osDiskId, name: vm.osDiskName },
    offlineScriptIds: OFFLINE_SCRIPTS,
    drive: REPAIR_DRIVE,
  };
}
