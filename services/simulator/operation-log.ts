import type { ScriptEngine } from './interior';

/** CONTRACTS.md §7: one entry per ARM operation the simulator carried out, oldest first (the newest `OperationLog.DEFAULT_LIMIT`, docs/simulator.md). */
export type OperationKind =
  | 'read' | 'runCommand' | 'start' | 'restart' | 'snapshot' | 'nsgRuleWrite'
  // issue #15 (repair-sim): the offline repair's operations (services/simulator/routes-repair.ts)
  | 'diskCreate' | 'diskUpdate' | 'nicCreate' | 'vmCreate' | 'attachDisk' | 'detachDisk' | 'deallocate' | 'swapOsDisk'
  | 'vmDelete' | 'nicDelete' | 'diskDelete' | 'snapshotDelete'
  // sweep-sim: a request refused by the simulator's ARM / Resource Graph throttling (429), logged so tests and the bench can count them
  | 'throttled'
  // issue #17 (graph): Microsoft Graph served by the simulator (routes-graph.ts): the Teams app installed for a user
  | 'graphInstall';

export interface OperationLogEntry {
  at: string;
  method: string;
  path: string;
  vm: string | null;
  kind: OperationKind;
  scriptId: string | null;
  /** for a Run Command that carried a project script: what ran it (`pwsh`: the real script under the modelled Windows; `emulate`: the TypeScript emulation) */
  engine: ScriptEngine | null;
  /** for a Run Command: SHA-256 (hex) of the script as the VM got it, its `script` lines joined by newlines */
  scriptSha256?: string;
  /** issue #15: the operation was carried out and failed (an injected `faults.repair` fault); absent = it did what it was asked */
  failed?: boolean;
}

/**
 * What counts: requests that reached the resource and were carried out. Requests refused
 * before that (401, 403, 404, injected 429/500, 409 conflicts) and polls of a long-running
 * operation's status are not operations and are not logged.
 */
export class OperationLog {
  /** far above what the 10,000-VM bench and any test writes; a simulator left running for days keeps its newest entries */
  static readonly DEFAULT_LIMIT = 1_000_000;
  private entries: OperationLogEntry[] = [];
  private droppedCount = 0;

  constructor(private readonly limit: number = OperationLog.DEFAULT_LIMIT) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error('the operation log limit must be a positive integer');
  }

  add(entry: Omit<OperationLogEntry, 'at'>, at: Date): void {
    this.entries.push({ at: at.toISOString(), ...entry });
    // the oldest are dropped in batches (a tenth of the limit), not one shift per entry
    if (this.entries.length >= this.limit + Math.max(1, Math.floor(this.limit / 10))) this.trim();
  }

  /** the newest `limit` entries, oldest first */
  list(): OperationLogEntry[] {
    this.trim();
    return this.entries.map((e) => ({ ...e }));
  }

  /** how many of the oldest entries were dropped to keep the limit */
  dropped(): number {
    this.trim();
    return this.droppedCount;
  }

  private trim(): void {
    const over = this.entries.length - this.limit;
    if (over <= 0) return;
    this.entries = this.entries.slice(over);
    this.droppedCount += over;
  }
}
