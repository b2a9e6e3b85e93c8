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

/** One resource the repair creates (and removes at the end, except the repaired disk that becomes the OS disk and the snapshot kept with the original disk). */
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
