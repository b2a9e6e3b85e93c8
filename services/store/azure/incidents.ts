import { odata, type TableClient } from '@azure/data-tables';
import { OPEN_STATES, type Incident, type IncidentState } from '../../incidents/model';
import { matchesFilter, type IncidentFilter, type IncidentRepo } from '../store';
import { compareAndSet, docProps, getOrNull, idKey, query, readDoc, vmKey } from './tables';

const ROW = 'incident';

/** One entity per incident (PartitionKey = id); every change is an ETag-conditional replace. */
export class AzureIncidentRepo implements IncidentRepo {
  constructor(private readonly table: TableClient) {}

  private entity(i: Incident) {
    return { partitionKey: idKey(i.id), rowKey: ROW, state: i.state, vmKey: i.vmId ? vmKey(i.vmId) : '', createdAt: i.createdAt, ...docProps(i) };
  }

  async create(i: Incident): Promise<void> {
    await this.table.createEntity(this.entity(i));
  }

  async get(id: string): Promise<Incident | null> {
    const e = await getOrNull(this.table, idKey(id), ROW);
    return e ? readDoc<Incident>(e) : null;
  }

  transition(id: string, from: IncidentState[], patch: Partial<Incident>): Promise<Incident | null> {
    return this.change(id, from, patch);
  }

  patch(id: string, patch: Partial<Omit<Incident, 'state' | 'id'>>): Promise<Incident | null> {
    return this.change(id, null, patch);
  }

  private change(id: string, from: IncidentState[] | null, patch: Partial<Incident>): Promise<Incident | null> {
    return compareAndSet(async () => {
      const e = await getOrNull(this.table, idKey(id), ROW);
      if (!e) return null;
      const current = readDoc<Incident>(e);
      if (from && !from.includes(current.state)) return null;
      const next: Incident = { ...current, ...patch, id: current.id, updatedAt: new Date().toISOString() };
      await this.table.updateEntity(this.entity(next), 'Replace', { etag: e.etag });
      return next;
    });
  }

  async listOpen(limit = 50): Promise<Incident[]> {
    const filter = OPEN_STATES.map((s) => odata`state eq ${s}`).join(' or ');
    return newestFirst(await query(this.table, filter), limit);
  }

  async listByVm(vmId: string, limit = 50, only?: IncidentFilter): Promise<Incident[]> {
    return newestFirst(await query(this.table, odata`vmKey eq ${vmKey(vmId)}`), limit).filter((i) => matchesFilter(i, only));
  }
}

function newestFirst(entities: Array<Record<string, unknown>>, limit: number): Incident[] {
  return entities
    .map((e) => readDoc<Incident>(e))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
    .slice(0, limit);
}
