import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
    expect(await store.audit.verify()).toEqual({ ok: true, count: 3, legacy: 0 });
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
});
