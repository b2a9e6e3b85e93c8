import { odata, type TableClient } from '@azure/data-tables';
import type { KnownUser } from '../../incidents/model';
import type { SettingsRepo, UserRepo } from '../store';
import { docProps, getOrNull, idKey, query, readDoc } from './tables';

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
}
