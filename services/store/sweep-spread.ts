import type { EffectiveNsg, VmDetails } from '../azure/gateway';
import type { SweepDigest, SweepVmResult } from '../sweeps/types';

/**
 * A deep sweep spread over the instances (issue #16 item 3, docs/sweeps.md "Across instances"):
 * what the sweep workers share besides `SweepRepo`. The instance that starts a deep sweep stores
 * its eligible VMs in chunks and puts one small message per chunk on a queue; every instance's
 * worker takes messages with a visibility timeout (the lease), checks the chunk's VMs, stores each
 * VM's result once and folds the chunk into the sweep's row with an ETag-conditional write.
 * Only the Azure Storage backend has it (several instances); SQLite keeps the in-process path.
 */

/** One chunk of a sweep's deep-eligible VMs: what a worker needs to check them with no ARM read of its own. */
export interface SpreadChunk {
  /** each VM with the indexes of its effective NSGs in `nsgs` (null: no NIC in the bulk view) */
  vms: Array<{ vm: VmDetails; nsgs: number[] | null }>;
  /** the chunk's effective NSGs, each once */
  nsgs: EffectiveNsg[];
}

/** A chunk's queue message: the sweep, the chunk's number, how many VMs it holds. */
export interface SpreadTicket {
  s: string;
  c: number;
  k: number;
}

/** A received queue message. */
export interface SpreadMessage {
  id: string;
  receipt: string;
  text: string;
  /** how often it was delivered (this delivery included) */
  deliveries: number;
}

/** At-least-once delivery with a visibility timeout: a message not deleted in time is delivered again. */
export interface SweepWorkQueue {
  send(text: string): Promise<void>;
  receive(max: number, visibilitySeconds: number): Promise<SpreadMessage[]>;
  /** keeps the message hidden `visibilitySeconds` longer (the lease renewed); the message gets a new receipt */
  extend(message: SpreadMessage, visibilitySeconds: number): Promise<void>;
  delete(message: SpreadMessage): Promise<void>;
}

/** The spread part of a sweep's row, beside its digest (the digest is what `SweepRepo.get` reads). */
export interface SpreadState {
  /** the starter's own part: the VMs it evaluated itself, its bulk reads (a digest with only those) */
  starter: SweepDigest;
  /** the starter has enqueued every chunk: `chunks` is their number */
  starterFinal: boolean;
  chunks: number;
  /** the workers' part: every folded chunk's VMs */
  workers: SweepDigest;
  /** the chunks folded into `workers`, each once */
  folded: number[];
  /** until the starter is final: it renews this while it pages; past it, the starter is taken for dead */
  starterLeaseUntil?: string;
}

export interface SpreadRow {
  digest: SweepDigest;
  spread: SpreadState | null;
}

/** A VM's result as a worker stores it: with the Run Commands it took (the digest counts them when its chunk is folded). */
export interface StoredResult {
  result: SweepVmResult;
  runCommands: number;
}

export interface SweepSpreadStore {
  readonly queue: SweepWorkQueue;
  putChunk(sweepId: string, n: number, chunk: SpreadChunk): Promise<void>;
  getChunk(sweepId: string, n: number): Promise<SpreadChunk | null>;
  /** the results already stored for these VMs of the sweep, with the Run Commands each took */
  storedResults(sweepId: string, vmIds: string[]): Promise<Map<string, StoredResult>>;
  /** Stores a VM's result unless one is stored already; returns the stored one (the first wins). */
  putResultOnce(sweepId: string, stored: StoredResult): Promise<StoredResult>;
  /** which sweep holds the VM's Run Command slot (null: none) */
  slotHolder(vmId: string): Promise<string | null>;
  get(sweepId: string): Promise<SpreadRow | null>;
  /** the running spread sweeps whose starter's lease ended before `now`, its part not final (it died while paging) */
  abandoned(now: Date): Promise<string[]>;
  /**
   * Changes the sweep's row with `change` (applied to a fresh read; null: no change) under the
   * ETag that was read, again while another instance wrote in between: no lost update. Returns
   * the row written, or null when nothing was.
   */
  change(sweepId: string, change: (row: SpreadRow) => SpreadRow | null): Promise<SpreadRow | null>;
}
