import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { AuditEntry } from '../../incidents/model';
import { seal, verifyChain, type AuditPage, type AuditPageFilter, type AuditRecord, type AuditVerification } from '../audit-chain';
import type { AuditLog } from '../store';
import { CONFLICT, compareAndSet, docProps, getOrNull, idKey, PRECONDITION_FAILED, query, readDoc, statusOf, vmKey, type Entity } from './tables';

/**
 * Append-only and hash-chained. The chain lives in partition `all`: a `head` entity (last seq and
 * hash, ETag-guarded) and one entity per entry, written together in one entity-group
 * transaction, so two instances cannot fork the chain. Entries are only ever created (an
 * existing RowKey refuses the insert), never updated or deleted. Copies go to `vm-<hash>` and
 * `incident-<id>` for the lists by VM and incident. RowKeys are `r` + the seq inverted, so a
 * partition reads newest first; keys of the log before the chain start with a digit and are
 * not listed.
 */
const ALL = 'all';
const HEAD = 'head';
const vmPartition = (vmId: string) => `vm-${vmKey(vmId)}`;
const incidentPartition = (id: string) => `incident-${idKey(id)}`;
const MAX_SEQ = 1e15;
const seqKey = (seq: number) => `r${(MAX_SEQ - seq).toString().padStart(15, '0')}`;
const CHAINED = "RowKey ge 'r' and RowKey lt 's'";

function toRecord(e: Entity): AuditRecord {
  return { ...readDoc<AuditEntry>(e), seq: Number(e.seq), prevHash: String(e.prevHash ?? ''), hash: String(e.hash ?? '') };
}

export class AzureAuditLog implements AuditLog {
  constructor(private readonly table: TableClient) {}

  async append(e: AuditEntry): Promise<void> {
    const r = await compareAndSet(async () => {
      const head = await getOrNull(this.table, ALL, HEAD);
      const record = seal(head ? { seq: Number(head.seq), hash: String(head.hash) } : null, e);
      const headEntity = { partitionKey: ALL, rowKey: HEAD, seq: record.seq, hash: record.hash };
      const actions: TransactionAction[] = [
        head ? ['update', headEntity, 'Replace', { etag: head.etag }] : ['create', headEntity],
        ['create', this.entity(ALL, record)],
      ];
      await this.table.submitTransaction(actions);
      return record;
    }, [PRECONDITION_FAILED, CONFLICT]);
    const copies: string[] = [];
    if (e.vmId) copies.push(vmPartition(e.vmId));
    if (e.incidentId) copies.push(incidentPartition(e.incidentId));
    await Promise.all(
      copies.map((p) =>
        this.table.createEntity(this.entity(p, r)).catch((err: unknown) => {
          if (statusOf(err) !== CONFLICT) throw err;
        }),
      ),
    );
  }

  private entity(partitionKey: string, r: AuditRecord) {
    const { seq, prevHash, hash, ...entry } = r;
    return { partitionKey, rowKey: seqKey(seq), seq, prevHash, hash, vmKey: r.vmId ? vmKey(r.vmId) : '', incidentId: r.incidentId ?? '', ...docProps(entry) };
  }

  async page(filter: AuditPageFilter): Promise<AuditPage> {
    const limit = Math.max(1, Math.min(filter.limit ?? 200, 1000));
    let where: string;
    if (filter.incidentId) {
      where = odata`PartitionKey eq ${incidentPartition(filter.incidentId)}`;
      if (filter.vmId) where += odata` and vmKey eq ${vmKey(filter.vmId)}`;
    } else if (filter.vmId) {
      where = odata`PartitionKey eq ${vmPartition(filter.vmId)}`;
    } else {
      where = odata`PartitionKey eq ${ALL}`;
    }
    where += ` and ${CHAINED}`;
    if (filter.beforeSeq !== undefined) where += odata` and RowKey gt ${seqKey(filter.beforeSeq)}`;
    // within a partition the service returns entities in RowKey order: newest first
    const rows = (await query(this.table, where, limit + 1)).map(toRecord);
    const entries = rows.slice(0, limit);
    return { entries, olderThan: rows.length > limit ? entries[entries.length - 1].seq : undefined };
  }

  async list(filter: { vmId?: string; incidentId?: string; limit?: number }): Promise<AuditRecord[]> {
    return (await this.page(filter)).entries.reverse();
  }

  /** The whole chain, and the head's seq and hash against its last entry (a cut-off tail shows there). */
  async verify(): Promise<AuditVerification & { legacy: number }> {
    const records = (await query(this.table, odata`PartitionKey eq ${ALL}` + ` and ${CHAINED}`)).map(toRecord).reverse();
    const legacy = (await query(this.table, odata`PartitionKey eq ${ALL} and RowKey lt ${HEAD}`)).length;
    const result = verifyChain(records);
    if (!result.ok) return { ...result, legacy };
    const head = await getOrNull(this.table, ALL, HEAD);
    const last = records[records.length - 1];
    if ((head ? Number(head.seq) : 0) !== (last?.seq ?? 0) || (head && String(head.hash) !== last?.hash)) {
      return { ok: false, count: records.length, firstBadSeq: (last?.seq ?? 0) + 1, reason: 'seq-gap', legacy };
    }
    return { ...result, legacy, head: last ? { seq: last.seq, hash: last.hash } : undefined };
  }
}
