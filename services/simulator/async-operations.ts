import { randomUUID } from 'node:crypto';
import type { Json } from './arm-shapes';

/**
 * Long-running operations as ARM runs them: the first answer is 202 with an
 * `Azure-AsyncOperation` URL (status) and a `Location` URL (result). The work finishes on a
 * timer (or immediately when the latency is 0); a "stuck" operation stays InProgress for as
 * long as its `stuck()` says so.
 */
export type AsyncStatus = 'InProgress' | 'Succeeded' | 'Failed';
export type Provider = 'Microsoft.Compute' | 'Microsoft.Network';

export interface AsyncOperation {
  id: string;
  provider: Provider;
  location: string;
  vmName: string;
  kind: string;
  status: AsyncStatus;
  startTime: string;
  endTime?: string;
  error?: { code: string; message: string };
  /** body of the result (Location) GET once Succeeded; undefined = empty 200 */
  result?: Json;
  /** status-body `properties` (Run Command puts its output there too) */
  properties?: Json;
}

export interface Outcome {
  error?: { code: string; message: string };
  result?: Json;
  properties?: Json;
}

interface Entry {
  op: AsyncOperation;
  /** while true, the operation does not finish; when it turns false, `finish` runs */
  stuck?: () => boolean;
  finish: () => Outcome | Promise<Outcome>;
  /** set while an asynchronous `finish` is under way */
  finishing?: boolean;
}

export class AsyncOperations {
  private readonly ops = new Map<string, Entry>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly now: () => Date) {}

  start(args: { provider: Provider; location: string; vmName: string; kind: string; latencyMs: number; finish: () => Outcome | Promise<Outcome>; stuck?: () => boolean }): AsyncOperation {
    const op: AsyncOperation = {
      id: randomUUID(),
      provider: args.provider,
      location: args.location.replace(/\s+/g, '').toLowerCase(),
      vmName: args.vmName,
      kind: args.kind,
      status: 'InProgress',
      startTime: this.now().toISOString(),
    };
    const entry: Entry = { op, stuck: args.stuck, finish: args.finish };
    this.ops.set(op.id, entry);
    if (args.stuck?.()) return op;
    if (args.latencyMs <= 0) this.complete(entry);
    else {
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.refresh(entry, true);
      }, args.latencyMs);
      t.unref();
      this.timers.add(t);
    }
    return op;
  }

  get(id: string): AsyncOperation | undefined {
    const entry = this.ops.get(id);
    if (!entry) return undefined;
    this.refresh(entry, false);
    return entry.op;
  }

  /** Operations of this kind on this VM that have not finished yet. */
  inProgress(vmName: string, kind: string): AsyncOperation[] {
    const out: AsyncOperation[] = [];
    for (const entry of this.ops.values()) {
      this.refresh(entry, false);
      if (entry.op.status === 'InProgress' && entry.op.kind === kind && entry.op.vmName.toLowerCase() === vmName.toLowerCase()) out.push(entry.op);
    }
    return out;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private refresh(entry: Entry, due: boolean): void {
    if (entry.op.status !== 'InProgress') return;
    if (entry.stuck) {
      // a stuck operation finishes once whatever held it is gone
      if (!entry.stuck()) this.complete(entry);
      return;
    }
    if (due) this.complete(entry);
  }

  private complete(entry: Entry): void {
    if (entry.finishing) return;
    let outcome: Outcome | Promise<Outcome>;
    try {
      outcome = entry.finish();
    } catch (e) {
      outcome = { error: { code: 'InternalExecutionError', message: (e as Error).message } };
    }
    if (outcome instanceof Promise) {
      // the work (a real script under PowerShell) is still running: the operation stays InProgress until it ends
      entry.finishing = true;
      outcome.then(
        (o) => this.settle(entry, o),
        (e: unknown) => this.settle(entry, { error: { code: 'InternalExecutionError', message: (e as Error).message } }),
      );
      return;
    }
    this.settle(entry, outcome);
  }

  private settle(entry: Entry, outcome: Outcome): void {
    entry.finishing = false;
    entry.op.endTime = this.now().toISOString();
    entry.op.properties = outcome.properties;
    if (outcome.error) {
      entry.op.status = 'Failed';
      entry.op.error = outcome.error;
    } else {
      entry.op.status = 'Succeeded';
      entry.op.result = outcome.result;
    }
  }
}
