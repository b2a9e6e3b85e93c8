import { z } from 'zod';

/**
 * Issue #15 (offline repair): the optional fleet fields the rescue-VM repair needs, kept apart
 * from fleet.ts so the schema there grows by one spread per object. docs/fleet-format.md
 * documents each ("Offline repair" section). Absent = the old behaviour.
 */

/** The repair operations a fleet VM can make fail (`faults.repair.<op>: 'fail'`); routes-repair.ts says how each fails. */
export const REPAIR_FAULT_OPS = ['snapshot', 'createDisk', 'createVm', 'attach', 'runCommand', 'detach', 'deallocate', 'swap', 'start', 'delete'] as const;
export type RepairFaultOp = (typeof REPAIR_FAULT_OPS)[number];

export const repairFaultsSchema = z.object(
  Object.fromEntries(REPAIR_FAULT_OPS.map((op) => [op, z.enum(['none', 'fail']).optional()])) as Record<RepairFaultOp, z.ZodOptional<z.ZodEnum<{ none: 'none'; fail: 'fail' }>>>,
);

/** Fields of a fleet VM (spread into fleetVmSchema). */
export const repairVmFields = {
  /** ARM hardwareProfile.vmSize (default Standard_D2s_v5) */
  vmSize: z.string().regex(/^[A-Za-z0-9_]{1,64}$/).optional(),
  /** availability zone (default none) */
  zone: z.enum(['1', '2', '3']).optional(),
  /** the OS disk's Hyper-V generation (default V1) */
  hyperVGeneration: z.enum(['V1', 'V2']).optional(),
  /** securityProfile.securityType (default Standard: none) */
  securityType: z.enum(['TrustedLaunch', 'ConfidentialVM']).optional(),
  /** the OS disk's name, when not `<vm>_OsDisk_1` (an OS disk swap changes it) */
  osDiskName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/).optional(),
  /** the primary NIC's name, when not `<vm>-nic` */
  nicName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/).optional(),
  /** managed data disks attached to the VM (the repair attaches the OS disk's copy to the rescue VM) */
  dataDisks: z.array(z.object({ lun: z.number().int().min(0).max(63), name: z.string().min(1), id: z.string().min(1) })).optional(),
};

/** Fields of `faults` (spread into faultsSchema). */
export const repairFaultFields = {
  repair: repairFaultsSchema.optional(),
};

/**
 * `windows.boot`: the boot manager settings of the disk's BCD store (bcdedit names). With the boot
 * menu displayed and no timeout, Windows Boot Manager waits for a key press on a console nobody
 * sees: Windows never starts, so the VM agent never reports Ready, and a restart stops at the same
 * menu. offline-bcd.ps1 sets a timeout of 5 s (and EMS), after which the VM boots.
 */
export const bootSchema = z.object({
  displayBootMenu: z.boolean().optional(),
  /** seconds; null = the value is absent (the menu waits for ever) */
  timeout: z.number().int().min(0).nullable().optional(),
  bootEms: z.boolean().optional(),
  ems: z.boolean().optional(),
});
export type BootState = z.infer<typeof bootSchema>;

export interface CanonicalBoot {
  displayBootMenu: boolean;
  timeout: number | null;
  bootEms: boolean;
  ems: boolean;
}

/** Azure's images: no boot menu, a 30 s timeout, EMS off. */
export function canonicalBoot(b: BootState | undefined): CanonicalBoot {
  return {
    displayBootMenu: b?.displayBootMenu ?? false,
    timeout: b?.timeout === undefined ? 30 : b.timeout,
    bootEms: b?.bootEms ?? false,
    ems: b?.ems ?? false,
  };
}

/** Whether Windows on this disk gets past the boot manager unattended (and so its agent can report Ready). */
export function bootsUnattended(b: BootState | undefined): boolean {
  const c = canonicalBoot(b);
  return !(c.displayBootMenu && c.timeout === null);
}
