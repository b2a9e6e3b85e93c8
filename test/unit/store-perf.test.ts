import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Incident } from '../../services/incidents/model';
import { samePerson } from '../../services/incidents/identity';
import { openSqliteDatabase, SqliteStore } from '../../services/store/sqlite';

/**
 * What the bench profile asked of the SQLite store, checked without a clock: every new incident
 * of a VM lists that VM's incidents (supersede), so the query must be served by an index, not a
 * scan and sort of every incident ever opened; statements are reused, and reusing one never
 * mixes up results.
 */
const VM = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-one';

function incident(n: number, vmId: string): Incident {
  const at = new Date(Date.UTC(2026, 10, 30, 12, 0, n)).toISOString();
  return {
    id: randomUUID(),
    createdAt: at,
    updatedAt: at,
    state: 'awaiting-consent',
    lang: 'en',
    symptom: 'internal-error',
    requester: { id: `29:user-${n}`, name: 'Alex' },
    conversation: { conversation: { id: `a:user-${n}`, isGroup: false, conversationType: 'personal', name: '' }, serviceUrl: 'http://localhost/' },
    vmId,
    vmName: 'vm',
    candidates: [],
  };
}

describe('SQLite store: the hot queries', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-store-perf-'));
    store = SqliteStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a VM's incidents are found through an index (any case of the id), newest first, bounded", async () => {
    const plan = store.db
      .prepare<[string, number], { detail: string }>('EXPLAIN QUERY PLAN SELECT doc FROM incidents WHERE lower(vm_id) = lower(?) ORDER BY created_at DESC LIMIT ?')
      .all(VM, 50)
      .map((r) => r.detail)
      .join('; ');
    expect(plan).toContain('USING INDEX incidents_vm_lower');
    expect(plan).not.toContain('SCAN incidents');
    expect(plan).not.toContain('TEMP B-TREE');

    for (let n = 0; n < 60; n++) await store.incidents.create(incident(n, n % 2 ? VM : VM.toUpperCase()));
    await store.incidents.create(incident(99, VM.replace('vm-one', 'vm-two')));
    const listed = await store.incidents.listByVm(VM.replace('vm-one', 'VM-ONE'), 50);
    expect(listed).toHaveLength(50);
    expect(listed.every((i) => i.vmId?.toLowerCase() === VM.toLowerCase())).toBe(true);
    expect(listed[0].requester.id).toBe('29:user-59');
    expect(listed.map((i) => i.createdAt)).toEqual([...listed.map((i) => i.createdAt)].sort().reverse());
    expect(await store.incidents.listByVm(VM, 3)).toHaveLength(3);
  });

  it("a VM's incidents filtered by state and person: the same as filtering the 50 newest, whatever the case of the Entra id", async () => {
    const alex = { id: '29:alex', aadObjectId: 'AAD-ALEX', name: 'Alex' };
    const people = [
      alex,
      { id: '29:alex-other-account', aadObjectId: 'aad-alex', name: 'Alex' }, // the same person (Entra id)
      { id: '29:alex', name: 'Alex' }, // the same channel account, no Entra id
      { id: '29:alex', aadObjectId: 'aad-someone-else', name: 'Alex?' }, // same channel id, another Entra id
      { id: '29:sam', aadObjectId: 'aad-sam', name: 'Sam' },
      { id: '29:kim', name: 'Kim' },
    ];
    const states = ['awaiting-consent', 'diagnosed', 'closed', 'diagnosing', 'failed'] as const;
    for (let n = 0; n < 70; n++) {
      await store.incidents.create({ ...incident(n, n % 3 ? VM : VM.toUpperCase()), state: states[n % states.length], requester: people[n % people.length] });
    }
    const only = { states: ['awaiting-consent', 'diagnosed', 'blocked', 'failed'] as const, requester: { id: '29:alex', aadObjectId: 'aad-alex' } };
    const all = await store.incidents.listByVm(VM, 50);
    const expected = all.filter((i) => only.states.includes(i.state as never) && samePerson(i.requester, only.requester)).map((i) => i.id);
    const filtered = (await store.incidents.listByVm(VM.replace('vm-one', 'VM-ONE'), 50, { ...only, states: [...only.states] })).map((i) => i.id);
    expect(filtered.length).toBeGreaterThan(5);
    expect(filtered).toEqual(expected);
    // the filter applies to the newest 50 only, as before: older matches are not reached
    const older = (await store.incidents.listByVm(VM, 1000)).slice(50).filter((i) => samePerson(i.requester, only.requester));
    expect(older.length).toBeGreaterThan(0);
    expect(filtered.some((id) => older.some((o) => o.id === id))).toBe(false);
    // a person who opened nothing there: nothing
    expect(await store.incidents.listByVm(VM, 50, { requester: { id: '29:nobody' } })).toEqual([]);
    // without `states`, every state of the person
    expect((await store.incidents.listByVm(VM, 50, { requester: { id: '29:kim' } })).map((i) => i.id)).toEqual(all.filter((i) => i.requester.id === '29:kim').map((i) => i.id));
  });

  it("a database from before the requester's Entra id had its column: filled from the documents when opened", async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    const old = openSqliteDatabase(dir);
    old.exec(`CREATE TABLE incidents (id TEXT PRIMARY KEY, state TEXT NOT NULL, vm_id TEXT, requester_id TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, doc TEXT NOT NULL);`);
    const add = old.prepare('INSERT INTO incidents (id, state, vm_id, requester_id, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const viaWeb = { ...incident(1, VM), state: 'diagnosed' as const, requester: { id: '29:web', aadObjectId: 'AAD-ALEX', name: 'Alex' } };
    const noAad = { ...incident(2, VM), state: 'diagnosed' as const, requester: { id: '29:teams', aadObjectId: '', name: 'Alex' } };
    for (const i of [viaWeb, noAad]) add.run(i.id, i.state, i.vmId, i.requester.id, i.createdAt, i.updatedAt, JSON.stringify(i));
    old.close();
    store = SqliteStore.open(dir);
    expect((await store.incidents.listByVm(VM, 50, { requester: { id: '29:teams', aadObjectId: 'aad-alex' } })).map((i) => i.id)).toEqual([noAad.id, viaWeb.id]);
    expect((await store.incidents.listByVm(VM, 50, { requester: { id: '29:other', aadObjectId: 'aad-alex' } })).map((i) => i.id)).toEqual([viaWeb.id]);
    // and opened again, nothing to do
    await store.close();
    store = SqliteStore.open(dir);
    expect(await store.incidents.listByVm(VM, 50, { requester: { id: '29:web' } })).toHaveLength(1);
  });

  it('a reused statement answers each call with its own arguments', async () => {
    await store.users.upsert({ id: '29:a', aadObjectId: 'AAD-A', name: 'A', updatedAt: '2026-11-30T12:00:00Z' });
    await store.users.upsert({ id: '29:b', aadObjectId: 'aad-b', name: 'B', updatedAt: '2026-11-30T12:00:00Z' });
    await store.users.upsert({ id: '29:a', aadObjectId: 'aad-a', name: 'A2', updatedAt: '2026-11-30T12:00:01Z' });
    expect((await store.users.get('29:a'))?.name).toBe('A2');
    expect((await store.users.get('29:b'))?.name).toBe('B');
    expect(await store.users.get('29:c')).toBeNull();
    expect((await store.users.findByAadObjectId('AAD-B'))?.id).toBe('29:b');
    await store.settings.set('k', { v: 1 });
    await store.settings.set('k', { v: 2 });
    expect(await store.settings.get('k')).toEqual({ v: 2 });
  });
});
