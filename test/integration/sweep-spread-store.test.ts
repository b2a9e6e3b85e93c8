import { randomUUID } from 'node:crypto';
import { AzureStore } from '../../services/store/azure/store';
import type { SpreadState } from '../../services/store/sweep-spread';
import type { SweepDigest, SweepVmResult } from '../../services/sweeps/types';
import { startAzurite, type Azurite } from '../support/azurite';

/**
 * The Azure Storage side of a spread sweep (services/store/azure/sweep-spread.ts) on Azurite: the
 * row's changes under its ETag (two instances at once lose nothing), a result stored once, the
 * starter's lease as a filter, the chunk queue's lease (a message not deleted comes back, a
 * renewed one does not).
 */
let azurite: Azurite;
let store: AzureStore;

beforeAll(async () => {
  azurite = await startAzurite();
  store = await AzureStore.open({ target: { connectionString: azurite.connectionString }, prefix: `sp${randomUUID().replace(/-/g, '').slice(0, 10)}` });
}, 60_000);

afterAll(async () => {
  await store?.destroy().catch(() => undefined);
  await azurite?.stop();
});

const digest = (): SweepDigest => ({ id: randomUUID(), kind: 'deep', state: 'running', scope: {}, startedAt: new Date().toISOString(), startedBy: 'approver', total: 0, done: 0, counts: {}, vms: [], armCalls: 0, runCommands: 0 });
const spread = (d: SweepDigest, lease?: string): SpreadState => ({ starter: d, starterFinal: false, chunks: 0, workers: { ...d }, folded: [], starterLeaseUntil: lease });

it('changes of the row from many writers at once are all kept (ETag-conditional, re-read on 412)', async () => {
  const d = digest();
  await store.sweeps.create(d);
  await store.sweepSpread.change(d.id, (r) => ({ digest: r.digest, spread: spread(r.digest) }));
  await Promise.all(
    Array.from({ length: 12 }, (_, n) =>
      store.sweepSpread.change(d.id, (r) => {
        r.spread!.folded.push(n);
        r.digest.done += 1;
        return r;
      }),
    ),
  );
  const row = await store.sweepSpread.get(d.id);
  expect(row?.spread?.folded.sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
  expect(row?.digest.done).toBe(12);
  // the digest is what SweepRepo reads
  expect((await store.sweeps.get(d.id))?.done).toBe(12);
}, 60_000);

it('stores a VM result once: the first wins, with its Run Commands', async () => {
  const d = digest();
  const r = (skipped?: string): SweepVmResult => ({ vmId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1', vmName: 'vm-1', resourceGroup: 'rg', subscriptionId: 'x', findings: [], worst: null, ...(skipped ? { skipped } : {}) });
  expect(await store.sweepSpread.putResultOnce(d.id, { result: r(), runCommands: 1 })).toEqual({ result: r(), runCommands: 1 });
  expect(await store.sweepSpread.putResultOnce(d.id, { result: r('error:interrupted'), runCommands: 0 })).toEqual({ result: r(), runCommands: 1 });
  expect([...(await store.sweepSpread.storedResults(d.id, [r().vmId, 'other'])).values()]).toEqual([{ result: r(), runCommands: 1 }]);
  expect((await store.sweeps.results(d.id, 10)).results).toEqual([r()]);
}, 60_000);

it('finds a running sweep whose starter lease ran out, and no other', async () => {
  const past = digest();
  const future = digest();
  const final = digest();
  for (const d of [past, future, final]) await store.sweeps.create(d);
  await store.sweepSpread.change(past.id, (r) => ({ digest: r.digest, spread: spread(r.digest, new Date(Date.now() - 1000).toISOString()) }));
  await store.sweepSpread.change(future.id, (r) => ({ digest: r.digest, spread: spread(r.digest, new Date(Date.now() + 60_000).toISOString()) }));
  await store.sweepSpread.change(final.id, (r) => ({ digest: r.digest, spread: { ...spread(r.digest, new Date(Date.now() - 1000).toISOString()), starterFinal: true } }));
  expect(await store.sweepSpread.abandoned(new Date())).toEqual([past.id]);
  await store.sweepSpread.change(past.id, (r) => ({ digest: { ...r.digest, state: 'failed' }, spread: r.spread }));
  expect(await store.sweepSpread.abandoned(new Date())).toEqual([]);
}, 60_000);

it('the chunk queue: a message not deleted comes back after its lease, a renewed one does not until deleted', async () => {
  const q = store.sweepSpread.queue;
  await q.send('{"s":"a","c":0,"k":1}');
  const [m] = await q.receive(1, 1);
  expect(m.deliveries).toBe(1);
  await q.extend(m, 30);
  // polled until the first lease (1 s) is surely over: the renewed message stays hidden
  const until = Date.now() + 2500;
  while (Date.now() < until) expect(await q.receive(1, 1)).toEqual([]);
  await q.delete(m);
  await q.send('{"s":"a","c":1,"k":1}');
  const [first] = await q.receive(1, 1);
  let again: typeof first | undefined;
  while (!again) [again] = await q.receive(1, 1);
  expect(again.deliveries).toBe(2);
  await q.delete(again);
}, 60_000);
