import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
