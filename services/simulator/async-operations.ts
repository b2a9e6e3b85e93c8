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

/**
 * How long an ended operation is kept: long enough for a late poll of its status or result (a
 * client resuming from a poller's saved state), bounded also by count so that a simulator left
 * running for days does not grow without end. An operation in progress is never forgotten.
 */
export interface OperationRetention {
  retentionMs: number;
  maxEnded: number;
}

export class AsyncOperations {
  static readonly DEFAULT_RETENTION: OperationRetention = { retentionMs: 60 * 60_000, maxEnded: 20_000 };
  private readonly ops = new Map<string, Entry>();
  /** ended operations, in the order they ended (so the oldest is first), with when */
  private readonly ended = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly retention: OperationRetention;

  constructor(private readonly now: () => Date, retention: Partial<OperationRetention> = {}) {
    this.retention = { ...AsyncOperations.DEFAULT_RETENTION, ...retention };
  }

  /** operations kept (in progress and ended) */
  size(): number {
    return this.ops.size;
  }

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
    this.prune();
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

  /** Forgets ended operations past the retention, and the oldest beyond the count. */
  private prune(): void {
    const cutoff = this.now().getTime() - this.retention.retentionMs;
    for (const [id, endedAt] of this.ended) {
      if (endedAt > cutoff && this.ended.size <= this.retention.maxEnded) break;
      this.ended.delete(id);
      this.ops.delete(id);
    }
  }

  private settle(entry: Entry, outcome: Outcome): void {
    entry.finishing = false;
    const endedAt = this.now();
    entry.op.endTime = endedAt.toISOString();
    this.ended.set(entry.op.id, endedAt.getTime());
    if (this.ended.size > this.retention.maxEnded) this.prune();
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
