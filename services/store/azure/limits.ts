import type { TableClient } from '@azure/data-tables';
import type { LimitWindows } from '../../incidents/rate-limit';
import { compareAndSet, CONFLICT, getOrNull, idKey, PRECONDITION_FAILED } from './tables';

/** At most this many hits are kept per window row (every limit is far below it). */
const MAX_HITS = 1000;

/**
 * The per-user limit windows of every instance in one Table row per limit and user: the hits'
 * times as JSON, replaced with the ETag that was read (or created when there is none), so two
 * instances counting at once cannot both take the last slot: the loser re-reads and counts again.
 */
export class AzureLimitWindows implements LimitWindows {
  constructor(private readonly table: TableClient) {}

  take(scope: string, key: string, limit: number, windowInMs: number, now: number): Promise<boolean> {
    const partitionKey = `limit-${idKey(scope)}`;
    const rowKey = idKey(key);
    return compareAndSet(async () => {
      const e = await getOrNull(this.table, partitionKey, rowKey);
      const stored = e && typeof e.hits === 'string' ? (JSON.parse(e.hits) as unknown) : [];
      const recent = (Array.isArray(stored) ? stored : []).filter((x): x is number => typeof x === 'number' && now - x < windowInMs);
      if (recent.length >= limit) return false;
      const hits = JSON.stringify([...recent, now].slice(-MAX_HITS));
      if (e) await this.table.updateEntity({ partitionKey, rowKey, hits }, 'Replace', { etag: e.etag });
      else await this.table.createEntity({ partitionKey, rowKey, hits });
      return true;
    }, [PRECONDITION_FAILED, CONFLICT]);
  }
}
