import { createHash } from 'node:crypto';
import type { TableClient, TableEntityResult } from '@azure/data-tables';

/**
 * What every Table-storage repository shares: safe keys, documents split over properties, the
 * status codes of a refused conditional write, and the retry loop of a compare-and-set.
 */

export type Entity = TableEntityResult<Record<string, unknown>>;

/** Keys may not hold `/ \ # ?` or control characters: ids that are not plain are base64url'd (a leading `_` cannot clash: plain ids have none). */
export function idKey(id: string): string {
  return /^[A-Za-z0-9-]{1,200}$/.test(id) ? id : `_${Buffer.from(id, 'utf8').toString('base64url')}`;
}

/** A VM's resource id (case-insensitive, with slashes) as a key. */
export function vmKey(vmId: string): string {
  return createHash('sha256').update(vmId.toLowerCase()).digest('hex').slice(0, 40);
}

// a string property holds at most 64 KiB (32 K UTF-16 units); an entity at most 1 MiB
const PART = 30000;
const MAX_PARTS = 15;

/** A JSON document as `docParts` + `doc0..docN` properties. */
export function docProps(doc: unknown): Record<string, string | number> {
  const text = JSON.stringify(doc);
  const parts = Math.max(1, Math.ceil(text.length / PART));
  if (parts > MAX_PARTS) throw new Error(`document too large for one table entity (${text.length} characters)`);
  const out: Record<string, string | number> = { docParts: parts };
  for (let i = 0; i < parts; i++) out[`doc${i}`] = text.slice(i * PART, (i + 1) * PART);
  return out;
}

export function readDoc<T>(e: Record<string, unknown>): T {
  const parts = Number(e.docParts ?? 0);
  let text = '';
  for (let i = 0; i < parts; i++) text += String(e[`doc${i}`] ?? '');
  return JSON.parse(text) as T;
}

export function statusOf(e: unknown): number | undefined {
  if (e && typeof e === 'object' && 'statusCode' in e) {
    const s = (e as { statusCode?: unknown }).statusCode;
    return typeof s === 'number' ? s : undefined;
  }
  return undefined;
}

/** 412: the ETag moved (someone wrote first); 409: the entity exists already. */
export const PRECONDITION_FAILED = 412;
export const CONFLICT = 409;

/**
 * Runs `work` (read, check, conditional write) again while the write loses a race. Each
 * attempt re-reads, so the check is made against what the winner wrote.
 */
export async function compareAndSet<T>(work: () => Promise<T>, retryOn: number[] = [PRECONDITION_FAILED]): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (e) {
      if (!retryOn.includes(statusOf(e) ?? 0) || attempt >= 100) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(250, 5 * 2 ** Math.min(attempt, 6))));
    }
  }
}

export async function getOrNull(table: TableClient, partitionKey: string, rowKey: string): Promise<Entity | null> {
  try {
    return await table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
  } catch (e) {
    if (statusOf(e) === 404) return null;
    throw e;
  }
}

export async function query(table: TableClient, filter: string, limit = Number.POSITIVE_INFINITY): Promise<Entity[]> {
  const out: Entity[] = [];
  for await (const e of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}
