import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { SweepDigest, SweepVmResult } from '../../sweeps/types';
import { mayAdvance, slotFree, type RunCommandSlot, type SlotPhase, type SweepRepo } from '../sweeps';
import { compareAndSet, CONFLICT, docProps, getOrNull, idKey, PRECONDITION_FAILED, query, readDoc, vmKey } from './tables';

const SWEEP = 'sweep';
const BY_TIME = 'sweep-by-time';
const SLOT = 'slot';
/** a Table batch holds at most 100 actions, all in one partition */
const BATCH = 100;
const resultsPartition = (sweepId: string) => `r-${idKey(sweepId)}`;
/** newest first in key order: the time's complement, then the id */
const timeKey = (d: SweepDigest) => `${String(9_999_999_999_999 - Date.parse(d.startedAt)).padStart(13, '0')}-${idKey(d.id)}`;

/**
 * Sweeps in one Table: the digest (`sweep`/id), a time index (`sweep-by-time`), the results of a
 * sweep in their own partition (one entity per VM, written in batches) and the Run Command slot
 * of each VM (`slot`/vm key), taken with an ETag-conditional write as the fix jobs' claim is.
 */
export class AzureSweepRepo implements SweepRepo {
  constructor(private readonly table: TableClient) {}

  async create(digest: SweepDigest): Promise<void> {
    await this.table.createEntity({ partitionKey: SWEEP, rowKey: idKey(digest.id), ...docProps(digest) });
    await this.table.createEntity({ partitionKey: BY_TIME, rowKey: timeKey(digest), sweepId: digest.id });
  }

  async get(id: string): Promise<SweepDigest | null> {
    const e = await getOrNull(this.table, SWEEP, idKey(id));
    return e ? readDoc<SweepDigest>(e) : null;
  }

  async update(digest: SweepDigest): Promise<void> {
    await this.table.upsertEntity({ partitionKey: SWEEP, rowKey: idKey(digest.id), ...docProps(digest) }, 'Replace');
  }

  async list(limit: number): Promise<SweepDigest[]> {
    const index = await query(this.table, `PartitionKey eq '${BY_TIME}'`, Math.max(1, Math.min(limit, 1000)));
    const out: SweepDigest[] = [];
    for (const e of index) {
      const d = await this.get(String(e.sweepId));
      if (d) out.push(d);
    }
    return out;
  }

  async putResults(sweepId: string, results: SweepVmResult[]): Promise<void> {
    const partitionKey = resultsPartition(sweepId);
    // one VM once per batch (a batch may not touch an entity twice): the last result wins
    const byKey = new Map(results.map((r) => [vmKey(r.vmId), r]));
    const actions: TransactionAction[] = [...byKey].map(([rowKey, r]) => ['upsert', { partitionKey, rowKey, ...docProps(r) }, 'Replace']);
    for (let i = 0; i < actions.length; i += BATCH) await this.table.submitTransaction(actions.slice(i, i + BATCH));
  }

  async results(sweepId: string, limit: number, after?: string): Promise<{ results: SweepVmResult[]; next?: string }> {
    const partitionKey = resultsPartition(sweepId);
    const filter = `PartitionKey eq '${partitionKey}'${after ? ` and RowKey gt '${after.replace(/'/g, "''")}'` : ''}`;
    const rows = await query(this.table, filter, Math.max(1, limit));
    const next = rows.length === limit ? rows[rows.length - 1].rowKey : undefined;
    return { results: rows.map((e) => readDoc<SweepVmResult>(e)), next };
  }

  claimRunCommand(vmId: string, sweepId: string, now: Date, windowMs: number, holder?: string): Promise<boolean> {
    const rowKey = vmKey(vmId);
    return compareAndSet(async () => {
      const e = await getOrNull(this.table, SLOT, rowKey);
      if (!slotFree(slotOf(e), now, windowMs)) return false;
      // sweep-resume: a fresh slot is `claimed` (Replace drops an older token)
      const entity = { partitionKey: SLOT, rowKey, sweepId, at: now.toISOString(), released: false, phase: 'claimed', ...(holder ? { holder } : {}) };
      // conditional on what was read: of two instances taking the same slot, one write is refused and re-reads
      if (e) await this.table.updateEntity(entity, 'Replace', { etag: e.etag });
      else await this.table.createEntity(entity);
      return true;
    }, [PRECONDITION_FAILED, CONFLICT]);
  }

  async releaseRunCommand(vmId: string, sweepId: string): Promise<void> {
    const rowKey = vmKey(vmId);
    await compareAndSet(async () => {
      const e = await getOrNull(this.table, SLOT, rowKey);
      if (!e || String(e.sweepId) !== sweepId) return;
      await this.table.updateEntity({ partitionKey: SLOT, rowKey, sweepId, at: String(e.at), released: true }, 'Replace', { etag: e.etag });
    });
  }

  async runCommandSlot(vmId: string): Promise<RunCommandSlot | null> {
    return slotOf(await getOrNull(this.table, SLOT, vmKey(vmId)));
  }

  advanceRunCommand(vmId: string, sweepId: string, holder: string, next: { phase: SlotPhase; token?: string; holder?: string }): Promise<boolean> {
    const rowKey = vmKey(vmId);
    return compareAndSet(async () => {
      const e = await getOrNull(this.table, SLOT, rowKey);
      if (!e || !mayAdvance(slotOf(e), sweepId, holder)) return false;
      // conditional on what was read: a takeover and the check it replaced cannot both advance the slot
      await this.table.updateEntity(
        { partitionKey: SLOT, rowKey, sweepId, at: String(e.at), released: false, phase: next.phase, holder: next.holder ?? holder, ...(next.token ? { token: next.token } : {}) },
        'Replace',
        { etag: e.etag },
      );
      return true;
    }, [PRECONDITION_FAILED]);
  }
}

/** A slot entity as RunCommandSlot; one written before sweep-resume has no phase (read as `sending`). */
function slotOf(e: Record<string, unknown> | null): RunCommandSlot | null {
  if (!e) return null;
  return {
    sweepId: String(e.sweepId),
    at: String(e.at),
    released: e.released === true,
    ...(typeof e.phase === 'string' ? { phase: e.phase as SlotPhase } : {}),
    ...(typeof e.token === 'string' ? { token: e.token } : {}),
    ...(typeof e.holder === 'string' ? { holder: e.holder } : {}),
  };
}
