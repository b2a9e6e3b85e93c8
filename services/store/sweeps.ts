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
  claimRunCommand(vmId: string, sweepId: string, now: Date, windowMs: number, holder?: string): Promise<boolean>;
  /** Gives the slot back (the VM was busy: no Run Command ran), only when `sweepId` holds it. */
  releaseRunCommand(vmId: string, sweepId: string): Promise<void>;
  // ---- sweep-resume (issue #16 item 3): the slot's phase, read and advanced by the spread worker ----
  /** The VM's slot as stored (null: none); old rows read as phase `sending`. */
  runCommandSlot?(vmId: string): Promise<RunCommandSlot | null>;
  /**
   * Advances the slot's phase (and its holder, on a takeover) only while `sweepId` holds it, not
   * released, with `holder` as its holder (an ETag-conditional write): false when another check
   * took it over in between, or it was released. `token`: the resume token of phase `sent`.
   */
  advanceRunCommand?(vmId: string, sweepId: string, holder: string, next: { phase: SlotPhase; token?: string; holder?: string }): Promise<boolean>;
}

/**
 * sweep-resume: where a slot's Run Command is. `claimed`: taken, no Run Command sent (a takeover
 * checks the VM); `sending`: written just before the POST (it may or may not have reached Azure:
 * never run again); `sent`: Azure accepted it (202), `token` resumes its polling.
 */
export type SlotPhase = 'claimed' | 'sending' | 'sent';

/** The stored record of one VM's slot. */
export interface RunCommandSlot {
  sweepId: string;
  at: string;
  released: boolean;
  /** sweep-resume: absent on rows written before it (read as `sending`, the safe reading: see slotPhase) */
  phase?: SlotPhase;
  /** the core-lro poller's serialized state, once `sent` */
  token?: string;
  /** who checks the VM (a fresh id per check), so that a takeover and the check it replaced cannot both advance the slot */
  holder?: string;
}

/** A slot's phase; a row without one (written before phases existed) may have had its Run Command sent. */
export function slotPhase(slot: RunCommandSlot): SlotPhase {
  return slot.phase ?? 'sending';
}

/** The rule of advanceRunCommand, shared by the backends. */
export function mayAdvance(current: RunCommandSlot | null, sweepId: string, holder: string): boolean {
  return !!current && !current.released && current.sweepId === sweepId && (current.holder ?? '') === holder;
}

/** The rule of claimRunCommand, shared by the backends. */
export function slotFree(current: RunCommandSlot | null, now: Date, windowMs: number): boolean {
  if (!current || current.released) return true;
  return now.getTime() - Date.parse(current.at) >= windowMs;
}
