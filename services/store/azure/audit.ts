import { randomBytes } from 'node:crypto';
import { odata, type TableClient } from '@azure/data-tables';
import type { AuditEntry } from '../../incidents/model';
import type { AuditLog } from '../store';
import { docProps, idKey, query, readDoc, vmKey } from './tables';

/**
 * Append-only: entities are only ever created (an existing RowKey refuses the insert), never
 * updated or deleted. Each entry is written to the partitions it is read from: `all`,
 * `vm-<hash>` and `incident-<id>`. The RowKey orders by time of writing: zero-padded
 * milliseconds, then a per-process counter, then a random suffix against other instances.
 */
let counter = 0;

function timeOrderedKey(): string {
  counter = (counter + 1) % 1_000_000;
  return `${Date.now().toString().padStart(15, '0')}-${counter.toString().padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
}

const ALL = 'all';
const vmPartition = (vmId: string) => `vm-${vmKey(vmId)}`;
const incidentPartition = (id: string) => `incident-${idKey(id)}`;

export class AzureAuditLog implements AuditLog {
  constructor(private readonly table: TableClient) {}

  async append(e: AuditEntry): Promise<void> {
    const rowKey = timeOrderedKey();
    const props = { ...docProps(e), vmKey: e.vmId ? vmKey(e.vmId) : '', incidentId: e.incidentId ?? '' };
    const partitions = [ALL];
    if (e.vmId) partitions.push(vmPartition(e.vmId));
    if (e.incidentId) partitions.push(incidentPartition(e.incidentId));
    await Promise.all(partitions.map((partitionKey) => this.table.createEntity({ partitionKey, rowKey, ...props })));
  }

  async list(filter: { vmId?: string; incidentId?: string; limit?: number }): Promise<AuditEntry[]> {
    let where: string;
    if (filter.incidentId) {
      where = odata`PartitionKey eq ${incidentPartition(filter.incidentId)}`;
      if (filter.vmId) where += odata` and vmKey eq ${vmKey(filter.vmId)}`;
    } else if (filter.vmId) {
      where = odata`PartitionKey eq ${vmPartition(filter.vmId)}`;
    } else {
      where = odata`PartitionKey eq ${ALL}`;
    }
    // within a partition the service returns entities in RowKey order: oldest first
    return (await query(this.table, where, filter.limit ?? 200)).map((x) => readDoc<AuditEntry>(x));
  }
}
