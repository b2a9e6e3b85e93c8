import type { ScriptEngine } from './interior';

/** CONTRACTS.md §7: one entry per ARM operation the simulator carried out, oldest first. */
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
  private readonly entries: OperationLogEntry[] = [];

  add(entry: Omit<OperationLogEntry, 'at'>, at: Date): void {
    this.entries.push({ at: at.toISOString(), ...entry });
  }

  list(): OperationLogEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }
}
