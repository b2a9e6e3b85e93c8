import { createHash } from 'node:crypto';
import type { AuditEntry } from '../incidents/model';

/**
 * The audit log is a hash chain: entry n stores `hash = SHA-256(prevHash + "\n" + canonical(entry n))`
 * where `prevHash` is the hash of entry n-1 (64 zeros for the first). Changing, removing or
 * reordering any stored entry breaks every hash from there on, whatever the storage allowed.
 */
export const GENESIS_HASH = '0'.repeat(64);

/** An audit entry as stored: its place in the chain and its hashes. */
export interface AuditRecord extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

export interface AuditPageFilter {
  vmId?: string;
  incidentId?: string;
  limit?: number;
  /** only entries older than this seq (the "older" page after a page ending at it) */
  beforeSeq?: number;
}

export interface AuditPage {
  /** newest first */
  entries: AuditRecord[];
  /** pass as `beforeSeq` for the next (older) page; absent on the last page */
  olderThan?: number;
}

export interface AuditVerification {
  ok: boolean;
  /** entries checked */
  count: number;
  /** the seq of the first entry that does not fit the chain */
  firstBadSeq?: number;
  /**
   * `head-mismatch`: every entry fits, but the chain does not end where the store's anchor says
   * (SQLite: newest entries deleted or replaced, or the anchor edited); `firstBadSeq` is the first seq
   * past the shorter of the two, or the newest seq when only its hash differs; `witness-mismatch`:
   * the entry of a head kept outside the store (`audit verify --head SEQ:HASH`) is gone or different
   */
  reason?: 'hash-mismatch' | 'prev-hash-mismatch' | 'seq-gap' | 'unhashed' | 'head-mismatch' | 'witness-mismatch';
  /** the newest chained entry: keep it outside the store (a ticket, a log) to check the log against it later */
  head?: { seq: number; hash: string };
}

/** JSON with object keys sorted at every level; `undefined` members left out (as JSON.stringify does). */
export function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(
          Object.keys(x as object)
            .sort()
            .filter((k) => (x as Record<string, unknown>)[k] !== undefined)
            .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
        )
      : Array.isArray(x)
        ? x.map(sort)
        : x;
  return JSON.stringify(sort(v));
}

/** What the hash covers: the entry's fields and its seq (its place cannot be changed either). */
export function entryBody(seq: number, e: AuditEntry): string {
  return canonicalJson({ seq, at: e.at, actor: e.actor, action: e.action, incidentId: e.incidentId ?? null, vmId: e.vmId ?? null, details: e.details ?? null });
}

export function chainHash(prevHash: string, seq: number, e: AuditEntry): string {
  return createHash('sha256').update(`${prevHash}\n${entryBody(seq, e)}`).digest('hex');
}

export function seal(prev: { seq: number; hash: string } | null, e: AuditEntry): AuditRecord {
  const seq = (prev?.seq ?? 0) + 1;
  const prevHash = prev?.hash ?? GENESIS_HASH;
  return { ...e, seq, prevHash, hash: chainHash(prevHash, seq, e) };
}

/**
 * Checks records given oldest first; stops at the first that does not fit. The chain starts
 * with the genesis hash at the first record given (rows written before the chain existed are
 * left out by the store and counted as legacy).
 */
export function verifyChain(records: Iterable<AuditRecord>): AuditVerification {
  let prev: AuditRecord | null = null;
  let count = 0;
  for (const r of records) {
    count++;
    const bad = (reason: AuditVerification['reason']): AuditVerification => ({ ok: false, count, firstBadSeq: r.seq, reason });
    if (!r.hash) return bad('unhashed');
    if (prev && r.seq !== prev.seq + 1) return bad('seq-gap');
    if (r.prevHash !== (prev ? prev.hash : GENESIS_HASH)) return bad('prev-hash-mismatch');
    if (chainHash(r.prevHash, r.seq, r) !== r.hash) return bad('hash-mismatch');
    prev = r;
  }
  return { ok: true, count };
}
