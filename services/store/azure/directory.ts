import { odata, type TableClient } from '@azure/data-tables';
import type { KnownUser } from '../../incidents/model';
import type { SettingsRepo, UserRepo } from '../store';
import { CONFLICT, docProps, getOrNull, idKey, PRECONDITION_FAILED, query, readDoc, statusOf } from './tables';

export class AzureUserRepo implements UserRepo {
  constructor(private readonly table: TableClient) {}

  async upsert(u: KnownUser): Promise<void> {
    await this.table.upsertEntity({ partitionKey: idKey(u.id), rowKey: 'user', aad: u.aadObjectId?.toLowerCase() ?? '', ...docProps(u) }, 'Replace');
  }

  async get(id: string): Promise<KnownUser | null> {
    const e = await getOrNull(this.table, idKey(id), 'user');
    return e ? readDoc<KnownUser>(e) : null;
  }

  async findByAadObjectId(aadObjectId: string): Promise<KnownUser | null> {
    const [e] = await query(this.table, odata`aad eq ${aadObjectId.toLowerCase()}`, 1);
    return e ? readDoc<KnownUser>(e) : null;
  }
}

export class AzureSettingsRepo implements SettingsRepo {
  constructor(private readonly table: TableClient) {}

  async get<T>(key: string): Promise<T | null> {
    const e = await getOrNull(this.table, 'setting', idKey(key));
    return e ? readDoc<T>(e) : null;
  }

  async set<T>(key: string, value: T): Promise<void> {
    await this.table.upsertEntity({ partitionKey: 'setting', rowKey: idKey(key), ...docProps(value) }, 'Replace');
  }

  async claim(key: string): Promise<boolean> {
    const entity = { partitionKey: 'setting', rowKey: idKey(key), ...docProps(true) };
    try {
      await this.table.createEntity(entity);
      return true;
    } catch (e) {
      if (statusOf(e) !== CONFLICT) throw e;
    }
    // it exists: only a released flag (false) may be taken, and only with its ETag (412: another instance took it first)
    const existing = await getOrNull(this.table, entity.partitionKey, entity.rowKey);
    if (!existing || readDoc<unknown>(existing) === true) return false;
    try {
      await this.table.updateEntity(entity, 'Replace', { etag: existing.etag });
      return true;
    } catch (e) {
      if (statusOf(e) === PRECONDITION_FAILED || statusOf(e) === 404) return false;
      throw e;
    }
  }
}
