import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { chainHash } from '../../services/store/audit-chain';
import { SqliteStore } from '../../services/store/sqlite';

describe('SQLite bot storage', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-store-'));
    store = SqliteStore.open(join(dir, 'nested', 'data'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its file on first start and round-trips items with an ETag', async () => {
    await store.botStorage.write({ a: { n: 1 } });
    const got = await store.botStorage.read(['a', 'missing']);
    expect(got.a).toMatchObject({ n: 1 });
    expect(typeof got.a.eTag).toBe('string');
    expect(got.missing).toBeUndefined();
  });

  it('refuses a stale write and keeps the newer value', async () => {
    await store.botStorage.write({ a: { n: 1 } });
    const first = (await store.botStorage.read(['a'])).a;
    await store.botStorage.write({ a: { ...first, n: 2 } });
    await expect(store.botStorage.write({ a: { ...first, n: 3 } })).rejects.toThrow(/eTag conflict/);
    expect((await store.botStorage.read(['a'])).a.n).toBe(2);
  });

  it('writes nothing of a batch that holds one stale item', async () => {
    await store.botStorage.write({ a: { n: 1 } });
    const stale = (await store.botStorage.read(['a'])).a;
    await store.botStorage.write({ a: { ...stale, n: 2 } });
    await expect(store.botStorage.write({ b: { n: 1 }, a: { ...stale, n: 9 } })).rejects.toThrow();
    expect((await store.botStorage.read(['b'])).b).toBeUndefined();
  });

  it('accepts "*" as a wildcard ETag and deletes', async () => {
    await store.botStorage.write({ a: { n: 1 } });
    await store.botStorage.write({ a: { n: 5, eTag: '*' } });
    expect((await store.botStorage.read(['a'])).a.n).toBe(5);
    await store.botStorage.delete(['a']);
    expect(await store.botStorage.read(['a'])).toEqual({});
  });

  it('keeps the audit log append-only', async () => {
    await store.audit.append({ at: new Date().toISOString(), actor: 'u', action: 'x', vmId: '/vm/a' });
    expect(() => store.db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    expect(() => store.db.prepare("UPDATE audit_log SET actor = 'y'").run()).toThrow(/append-only/);
    expect(await store.audit.list({ vmId: '/VM/A' })).toHaveLength(1);
  });

  it('refuses INSERT OR REPLACE over an existing seq: the old entry stays (issue #12.7)', async () => {
    await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor: 'approver', action: 'approval.approved', vmId: '/vm/a' });
    expect(() =>
      store.db.prepare("INSERT OR REPLACE INTO audit_log (seq, at, actor, action) VALUES (1, '2030-01-01T00:00:00.000Z', 'someone-else', 'nothing')").run(),
    ).toThrow(/append-only/);
    expect(() => store.db.prepare("REPLACE INTO audit_log (seq, at, actor, action) VALUES (1, 'x', 'y', 'z')").run()).toThrow(/append-only/);
    expect(await store.audit.list({})).toMatchObject([{ seq: 1, actor: 'approver', action: 'approval.approved' }]);
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 1 });
  });

  it('finds an entry edited in the SQLite file behind its back, and names the first bad seq (issue #12.7)', async () => {
    for (const actor of ['alex', 'approver', 'rdp-doctor']) await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor, action: 'x', details: { n: 1 } });
    expect(await store.audit.verify()).toEqual({ ok: true, count: 3, legacy: 0, head: { seq: 3, hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const file = store.db.name;
    await store.close();
    // someone with the file: drops the guard and rewrites who approved
    const raw = new Database(file);
    raw.exec("DROP TRIGGER audit_no_update; UPDATE audit_log SET actor = 'alex' WHERE seq = 2;");
    raw.close();
    store = SqliteStore.open(join(dir, 'nested', 'data'));
    expect(await store.audit.verify()).toMatchObject({ ok: false, firstBadSeq: 2, reason: 'hash-mismatch' });
  });

  it('finds an entry deleted from the middle of the chain (issue #12.7)', async () => {
    for (const actor of ['a', 'b', 'c', 'd']) await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor, action: 'x' });
    const file = store.db.name;
    await store.close();
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit_log WHERE seq = 3;');
    raw.close();
    store = SqliteStore.open(join(dir, 'nested', 'data'));
    expect(await store.audit.verify()).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'seq-gap' });
  });

  it('finds the newest entries deleted: the chain is intact but ends before its anchor (issue #12)', async () => {
    for (const actor of ['a', 'b', 'c', 'd']) await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor, action: 'x' });
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 4, head: { seq: 4 } });
    const file = store.db.name;
    await store.close();
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit_log WHERE seq >= 3;');
    raw.close();
    store = SqliteStore.open(join(dir, 'nested', 'data'));
    expect(await store.audit.verify()).toMatchObject({ ok: false, count: 2, firstBadSeq: 3, reason: 'head-mismatch' });
  });

  it('finds the newest entry replaced by a freshly chained one (same seq, other hash)', async () => {
    for (const actor of ['a', 'b', 'c']) await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor, action: 'x' });
    const prev = (await store.audit.list({})).find((r) => r.seq === 2)!;
    const forged = { at: '2030-01-01T00:00:00.000Z', actor: 'c', action: 'nothing' };
    const file = store.db.name;
    await store.close();
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_no_delete; DELETE FROM audit_log WHERE seq = 3;');
    raw.prepare('INSERT INTO audit_log (seq, at, actor, action, prev_hash, hash) VALUES (3, ?, ?, ?, ?, ?)').run(forged.at, forged.actor, forged.action, prev.hash, chainHash(prev.hash, 3, forged));
    raw.close();
    store = SqliteStore.open(join(dir, 'nested', 'data'));
    expect(await store.audit.verify()).toMatchObject({ ok: false, firstBadSeq: 3, reason: 'head-mismatch' });
  });

  it('the anchor only moves forward through SQL, and appends keep it in step', async () => {
    for (const actor of ['a', 'b', 'c']) await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor, action: 'x' });
    expect(() => store.db.prepare('UPDATE audit_chain SET head_seq = 2').run()).toThrow(/only moves forward/);
    expect(() => store.db.prepare('UPDATE audit_chain SET start_seq = 3').run()).toThrow(/only moves forward/);
    expect(() => store.db.prepare('DELETE FROM audit_chain').run()).toThrow(/anchor stays/);
    expect(store.db.prepare('SELECT head_seq FROM audit_chain').get()).toEqual({ head_seq: 3 });
    await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor: 'd', action: 'x' });
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 4, head: { seq: 4 } });
  });

  it('anchors a log chained before the anchor existed at its newest row, and a log with legacy rows only', async () => {
    for (const actor of ['a', 'b']) await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor, action: 'x' });
    const file = store.db.name;
    await store.close();
    // the schema of the previous version: audit_chain without the anchor's columns
    const raw = new Database(file);
    raw.exec('DROP TRIGGER audit_chain_forward; DROP TRIGGER audit_chain_no_delete; DROP TABLE audit_chain; CREATE TABLE audit_chain (id INTEGER PRIMARY KEY CHECK (id = 1), start_seq INTEGER NOT NULL); INSERT INTO audit_chain VALUES (1, 1);');
    raw.close();
    store = SqliteStore.open(join(dir, 'nested', 'data'));
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 2, head: { seq: 2 } });
    await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor: 'c', action: 'x' });
    expect(await store.audit.verify()).toMatchObject({ ok: true, count: 3, head: { seq: 3 } });

    // legacy rows (before the chain) and no chained row yet: the first append moves the anchor
    const dir2 = join(dir, 'legacy');
    const old = SqliteStore.open(dir2);
    const f2 = old.db.name;
    await old.close();
    const raw2 = new Database(f2);
    raw2.exec(`DROP TRIGGER audit_chain_forward; DROP TRIGGER audit_chain_no_delete; DROP TABLE audit_chain; DROP TRIGGER audit_no_replace; DROP TABLE audit_log;
      CREATE TABLE audit_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, incident_id TEXT, vm_id TEXT, details TEXT);
      INSERT INTO audit_log (at, actor, action) VALUES ('2029-01-01', 'old', 'x'), ('2029-01-01', 'old', 'y');`);
    raw2.close();
    const legacy = SqliteStore.open(dir2);
    try {
      expect(await legacy.audit.verify()).toEqual({ ok: true, count: 0, legacy: 2 });
      await legacy.audit.append({ at: '2030-01-01T00:00:00.000Z', actor: 'new', action: 'x' });
      expect(await legacy.audit.verify()).toMatchObject({ ok: true, count: 1, legacy: 2, head: { seq: 3 } });
    } finally {
      await legacy.close();
    }
  });
});
