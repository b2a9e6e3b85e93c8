import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureStore } from '../../services/store/azure/store';
import { SqliteStore } from '../../services/store/sqlite';
import type { AppStore } from '../../services/store/store';
import type { SweepDigest, SweepVmResult } from '../../services/sweeps/types';
import { startAzurite, type Azurite } from '../support/azurite';

/**
 * The sweep tables' contract, for SQLite (one process) and Azure Tables (several instances, here
 * Azurite): two store handles over the same data race as two instances would.
 */
let azurite: Azurite | undefined;
const opened: AppStore[] = [];

const backends: Array<[string, () => Promise<[AppStore, AppStore]>]> = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rdp-sweep-store-'));
      const pair: [AppStore, AppStore] = [SqliteStore.open(dir), SqliteStore.open(dir)];
      opened.push(...pair);
      return pair;
    },
  ],
  [
    'azure (Azurite)',
    async () => {
      azurite ??= await startAzurite();
      const prefix = `s${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const target = { connectionString: azurite.connectionString };
      const pair: [AppStore, AppStore] = [await AzureStore.open({ target, prefix, instanceId: 'a' }), await AzureStore.open({ target, prefix, instanceId: 'b' })];
      opened.push(...pair);
      return pair;
    },
  ],
];

afterAll(async () => {
  for (const s of opened) await s.close();
  await azurite?.stop();
}, 60_000);

const digest = (id: string, startedAt: string): SweepDigest => ({
  id,
  kind: 'fast',
  state: 'running',
  scope: {},
  startedAt,
  startedBy: 'approver',
  total: 0,
  done: 0,
  counts: {},
  vms: [],
  armCalls: 0,
  runCommands: 0,
});
const vm = (i: number) => `/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-${i}`;
const result = (i: number, findings: string[] = []): SweepVmResult => ({ vmId: vm(i), vmName: `vm-${i}`, resourceGroup: 'rg', subscriptionId: 's', findings, worst: findings.length ? 'critical' : null });

describe.each(backends)('%s', (_name, openPair) => {
  let a: AppStore;
  let b: AppStore;
  beforeAll(async () => {
    [a, b] = await openPair();
  }, 120_000);

  it('stores digests, reads them back on another handle, lists the newest first', async () => {
    const older = digest(randomUUID(), '2026-12-01T01:00:00.000Z');
    const newer = digest(randomUUID(), '2026-12-01T02:00:00.000Z');
    await a.sweeps.create(older);
    await a.sweeps.create(newer);
    await a.sweeps.update({ ...newer, done: 5, counts: { 'rdp-exposed-to-internet': 2 } });
    expect(await b.sweeps.get(newer.id)).toMatchObject({ done: 5, counts: { 'rdp-exposed-to-internet': 2 } });
    expect((await b.sweeps.list(2)).map((d) => d.id)).toEqual([newer.id, older.id]);
    expect(await b.sweeps.get('no-such-sweep')).toBeNull();
  });

  it('writes results in batches (more than a Table batch holds), overwrites a VM, pages through them', async () => {
    const id = randomUUID();
    await a.sweeps.putResults(id, Array.from({ length: 230 }, (_, i) => result(i)));
    await a.sweeps.putResults(id, [result(7, ['rdp-exposed-to-internet'])]);
    const seen: SweepVmResult[] = [];
    let after: string | undefined;
    do {
      const p = await b.sweeps.results(id, 100, after);
      seen.push(...p.results);
      after = p.next;
    } while (after);
    expect(seen).toHaveLength(230);
    expect(new Set(seen.map((r) => r.vmId)).size).toBe(230);
    expect(seen.find((r) => r.vmId === vm(7))?.findings).toEqual(['rdp-exposed-to-internet']);
    expect((await b.sweeps.results(randomUUID(), 10)).results).toEqual([]);
  });

  it('gives a VM slot to one of two instances racing for it, once per window', async () => {
    const now = new Date('2026-12-01T03:00:00Z');
    const day = 24 * 3600_000;
    for (let i = 0; i < 10; i++) {
      const v = `${vm(1000 + i)}-${randomUUID()}`;
      const won = await Promise.all([a.sweeps.claimRunCommand(v, 'sweep-a', now, day), b.sweeps.claimRunCommand(v, 'sweep-b', now, day)]);
      expect(won.filter(Boolean)).toHaveLength(1);
      // the same day: nobody; a day later: again one
      expect(await a.sweeps.claimRunCommand(v, 'sweep-c', new Date(now.getTime() + day - 1), day)).toBe(false);
      expect(await b.sweeps.claimRunCommand(v, 'sweep-d', new Date(now.getTime() + day), day)).toBe(true);
    }
  }, 120_000);

  it('a released slot is free again; only its holder can release it', async () => {
    const now = new Date('2026-12-01T03:00:00Z');
    const v = `${vm(1)}-${randomUUID()}`;
    expect(await a.sweeps.claimRunCommand(v, 'holder', now, 3600_000)).toBe(true);
    await b.sweeps.releaseRunCommand(v, 'someone-else');
    expect(await b.sweeps.claimRunCommand(v, 'other', now, 3600_000)).toBe(false);
    await b.sweeps.releaseRunCommand(v, 'holder');
    expect(await b.sweeps.claimRunCommand(v, 'other', now, 3600_000)).toBe(true);
  });

  // sweep-resume: the slot's phase (claimed -> sending -> sent + token), advanced only by its holder
  it('a slot records its phase; of two takeovers one wins, and the holder it replaced can no longer advance it', async () => {
    const now = new Date('2026-12-01T04:00:00Z');
    const v = `${vm(2)}-${randomUUID()}`;
    expect(await a.sweeps.claimRunCommand(v, 'sw', now, 3600_000, 'h1')).toBe(true);
    expect(await b.sweeps.runCommandSlot!(v)).toMatchObject({ sweepId: 'sw', released: false, phase: 'claimed', holder: 'h1' });
    const won = await Promise.all([a.sweeps.advanceRunCommand!(v, 'sw', 'h1', { phase: 'claimed', holder: 'h2' }), b.sweeps.advanceRunCommand!(v, 'sw', 'h1', { phase: 'claimed', holder: 'h3' })]);
    expect(won.filter(Boolean)).toHaveLength(1);
    const winner = won[0] ? 'h2' : 'h3';
    expect(await a.sweeps.advanceRunCommand!(v, 'sw', 'h1', { phase: 'sending' })).toBe(false);
    expect(await b.sweeps.advanceRunCommand!(v, 'other-sweep', winner, { phase: 'sending' })).toBe(false);
    expect(await b.sweeps.advanceRunCommand!(v, 'sw', winner, { phase: 'sending' })).toBe(true);
    expect(await a.sweeps.advanceRunCommand!(v, 'sw', winner, { phase: 'sent', token: '{"state":{}}' })).toBe(true);
    expect(await b.sweeps.runCommandSlot!(v)).toMatchObject({ sweepId: 'sw', phase: 'sent', token: '{"state":{}}', holder: winner, at: now.toISOString() });
    // released (a 409: nothing ran): no advance; claimed again, it starts over with no token
    await a.sweeps.releaseRunCommand(v, 'sw');
    expect(await a.sweeps.advanceRunCommand!(v, 'sw', winner, { phase: 'sending' })).toBe(false);
    expect(await b.sweeps.claimRunCommand(v, 'sw2', now, 3600_000, 'h4')).toBe(true);
    const again = await a.sweeps.runCommandSlot!(v);
    expect(again).toMatchObject({ sweepId: 'sw2', phase: 'claimed', holder: 'h4' });
    expect(again?.token).toBeUndefined();
  });
});
