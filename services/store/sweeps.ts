import type { SweepDigest, SweepVmResult } from '../sweeps/types';

/**
 * Fleet sweeps (issue #16, docs/sweeps.md): the sweep's digest (counts folded as results arrive,
 * the worst VMs bounded), one row per VM result written as it arrives, and the per-VM record that
 * keeps a deep sweep to one Run Command per VM per window (shared by every instance).
 */
export interface SweepRepo {
  create(digest: SweepDigest): Promise<void>;
  get(id: string): Promise<SweepDigest | null>;
  /** Replaces the stored digest (progress, counts, state). */
  update(digest: SweepDigest): Promise<void>;
  /** the newest first */
  list(limit: number): Promise<SweepDigest[]>;
  /** Writes (or overwrites) the results of some VMs of one sweep, in one batch. */
  putResults(sweepId: string, results: SweepVmResult[]): Promise<void>;
  /** One page of a sweep's results (in VM key order); `after` is the previous page's cursor. */
  results(sweepId: string, limit: number, after?: string): Promise<{ results: SweepVmResult[]; next?: string }>;
  /**
   * Takes the VM's Run Command slot for `sweepId` atomically: true when no sweep ran one on the VM
   * within `windowMs` before `now` (or the last one released it); false otherwise.
   */
  claimRunCommand(vmId: string, sweepId: string, now: Date, windowMs: number): Promise<boolean>;
  /** Gives the slot back (the VM was busy: no Run Command ran), only when `sweepId` holds it. */
  releaseRunCommand(vmId: string, sweepId: string): Promise<void>;
}

/** The stored record of one VM's slot. */
export interface RunCommandSlot {
  sweepId: string;
  at: string;
  released: boolean;
}

/** The rule of claimRunCommand, shared by the backends. */
export function slotFree(current: RunCommandSlot | null, now: Date, windowMs: number): boolean {
  if (!current || current.released) return true;
  return now.getTime() - Date.parse(current.at) >= windowMs;
}
