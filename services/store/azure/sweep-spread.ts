import type { TableClient } from '@azure/data-tables';
import type { QueueClient } from '@azure/storage-queue';
import type { SweepDigest, SweepVmResult } from '../../sweeps/types';
import type { SpreadChunk, SpreadMessage, SpreadRow, SpreadState, StoredResult, SweepSpreadStore, SweepWorkQueue } from '../sweep-spread';
import { compareAndSet, CONFLICT, docProps, getOrNull, idKey, query, readDoc, statusOf, vmKey } from './tables';

/**
 * A deep sweep spread over the instances, in Azure Storage (services/store/sweep-spread.ts): the
 * chunks in the sweeps table (partition `c-<sweep id>`), the results in the sweep's results
 * partition (`r-<sweep id>`, as AzureSweepRepo writes them; here each created once), the spread
 * state as extra properties (`spParts`, `sp0..`) of the sweep's own entity, changed under its
 * ETag, and the chunk messages on the queue `<prefix>-sweeps`.
 */
const SWEEP = 'sweep';
const SLOT = 'slot';
const chunksPartition = (sweepId: string) => `c-${idKey(sweepId)}`;
const resultsPartition = (sweepId: string) => `r-${idKey(sweepId)}`;
const chunkKey = (n: number) => String(n).padStart(8, '0');
// a string property holds at most 64 KiB (32 K UTF-16 units)
const PART = 30000;

function spreadProps(state: SpreadState): Record<string, string | number> {
  const text = JSON.stringify(state);
  const parts = Math.max(1, Math.ceil(text.length / PART));
  const out: Record<string, string | number> = { spParts: parts };
  for (let i = 0; i < parts; i++) out[`sp${i}`] = text.slice(i * PART, (i + 1) * PART);
  return out;
}

function readSpread(e: Record<string, unknown>): SpreadState | null {
  const parts = Number(e.spParts ?? 0);
  if (!parts) return null;
  let text = '';
  for (let i = 0; i < parts; i++) text += String(e[`sp${i}`] ?? '');
  return JSON.parse(text) as SpreadState;
}

function storedOf(e: Record<string, unknown>): StoredResult {
  return { result: readDoc<SweepVmResult>(e), runCommands: Number(e.runCommands ?? 0) };
}

export class AzureSweepQueue implements SweepWorkQueue {
  constructor(private readonly queue: QueueClient) {}

  async send(text: string): Promise<void> {
    await this.queue.sendMessage(text);
  }

  async receive(max: number, visibilitySeconds: number): Promise<SpreadMessage[]> {
    const r = await this.queue.receiveMessages({ numberOfMessages: Math.max(1, Math.min(32, max)), visibilityTimeout: visibilitySeconds });
    return r.receivedMessageItems.map((m) => ({ id: m.messageId, receipt: m.popReceipt, text: m.messageText, deliveries: m.dequeueCount }));
  }

  async extend(message: SpreadMessage, visibilitySeconds: number): Promise<void> {
    const r = await this.queue.updateMessage(message.id, message.receipt, undefined, visibilitySeconds);
    if (r.popReceipt) message.receipt = r.popReceipt;
  }

  async delete(message: SpreadMessage): Promise<void> {
    await this.queue.deleteMessage(message.id, message.receipt);
  }

  /** tests and tooling (AzureStore.destroy) */
  async deleteQueue(): Promise<void> {
    await this.queue.deleteIfExists();
  }
}

export class AzureSweepSpread implements SweepSpreadStore {
  readonly queue: AzureSweepQueue;

  constructor(private readonly table: TableClient, queue: QueueClient) {
    this.queue = new AzureSweepQueue(queue);
  }

  async putChunk(sweepId: string, n: number, chunk: SpreadChunk): Promise<void> {
    await this.table.upsertEntity({ partitionKey: chunksPartition(sweepId), rowKey: chunkKey(n), ...docProps(chunk) }, 'Replace');
  }

  async getChunk(sweepId: string, n: number): Promise<SpreadChunk | null> {
    const e = await getOrNull(this.table, chunksPartition(sweepId), chunkKey(n));
    return e ? readDoc<SpreadChunk>(e) : null;
  }

  async storedResults(sweepId: string, vmIds: string[]): Promise<Map<string, StoredResult>> {
    const out = new Map<string, StoredResult>();
    const found = await Promise.all(vmIds.map((id) => getOrNull(this.table, resultsPartition(sweepId), vmKey(id))));
    found.forEach((e, i) => {
      if (e) out.set(vmIds[i], storedOf(e));
    });
    return out;
  }

  async putResultOnce(sweepId: string, stored: StoredResult): Promise<StoredResult> {
    const partitionKey = resultsPartition(sweepId);
    const rowKey = vmKey(stored.result.vmId);
    try {
      // the result document as AzureSweepRepo writes it (results() reads it), and the Run Commands beside it
      await this.table.createEntity({ partitionKey, rowKey, ...docProps(stored.result), runCommands: stored.runCommands });
      return stored;
    } catch (e) {
      if (statusOf(e) !== CONFLICT) throw e;
      const existing = await getOrNull(this.table, partitionKey, rowKey);
      return existing ? storedOf(existing) : stored;
    }
  }

  async slotHolder(vmId: string): Promise<string | null> {
    const e = await getOrNull(this.table, SLOT, vmKey(vmId));
    return e && e.released !== true ? String(e.sweepId) : null;
  }

  async get(sweepId: string): Promise<SpreadRow | null> {
    const e = await getOrNull(this.table, SWEEP, idKey(sweepId));
    return e ? { digest: readDoc<SweepDigest>(e), spread: readSpread(e) } : null;
  }

  async abandoned(now: Date): Promise<string[]> {
    const rows = await query(this.table, `PartitionKey eq '${SWEEP}' and starterLeaseUntil lt '${now.toISOString()}'`, 100);
    return rows.map((e) => readDoc<SweepDigest>(e).id);
  }

  change(sweepId: string, change: (row: SpreadRow) => SpreadRow | null): Promise<SpreadRow | null> {
    return compareAndSet(async () => {
      const e = await getOrNull(this.table, SWEEP, idKey(sweepId));
      if (!e) return null;
      const next = change({ digest: readDoc<SweepDigest>(e), spread: readSpread(e) });
      if (!next) return null;
      const entity = { partitionKey: SWEEP, rowKey: idKey(sweepId), ...docProps(next.digest), ...(next.spread ? spreadProps(next.spread) : {}) };
      // a running sweep whose starter still pages: its lease as a property of its own, for abandoned()'s filter
      const lease = next.digest.state === 'running' && next.spread && !next.spread.starterFinal ? next.spread.starterLeaseUntil : undefined;
      if (lease) Object.assign(entity, { starterLeaseUntil: lease });
      // Replace under the ETag read: of two instances folding at once, one is refused (412) and re-reads
      await this.table.updateEntity(entity, 'Replace', { etag: e.etag });
      return next;
    });
  }
}
