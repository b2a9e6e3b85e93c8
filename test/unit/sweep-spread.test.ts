import type { AzureGateway, RunScriptOptions, SweepGateway, SweepNic, SweepNsg, SweepVmStatus, VmSummary } from '../../services/azure/gateway';
import { createLogger } from '../../services/log';
import { loadFleetFile } from '../../services/simulator/fleet';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { createSweeps, type SweepService } from '../../services/sweeps/service';
import { createSpread, type Spread } from '../../services/sweeps/spread';
import type { SweepDigest, SweepObserver, SweepVmResult } from '../../services/sweeps/types';
import { defaultFleetPath } from '../../services/wiring/azure';
import { MemorySpreadStore } from '../support/memory-spread';
import { until } from '../support/quiescence';

/**
 * A deep sweep spread over instances (services/sweeps/spread.ts): the exactly-once rules, over
 * a shared in-memory store and queue (test/support/memory-spread.ts) and a gateway double that
 * records every Run Command. Each "instance" is its own sweep service and worker, as in a bot
 * process; the integration test (sweep-spread) runs the same on Azurite with processes.
 */

const SUB = '00000000-0000-4000-8000-000000000001';
const vmId = (i: number) => `/subscriptions/${SUB}/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm-${String(i).padStart(4, '0')}`;
const healthy = loadFleetFile(defaultFleetPath()).vms.find((v) => v.name === 'vm-healthy-01');
const STDOUT = createVmInterior().run(healthy!, 'diagnose', [], new Date()).stdout;

/** `n` running Windows VMs with a ready agent, but every 5th stopped (the starter evaluates those itself). */
function fakeGateway(n: number, runs: string[], opts: { hangAfterPage?: number; resumed?: string[] } = {}): AzureGateway & SweepGateway {
  const idx = [...Array(n).keys()];
  const pageSize = 10;
  const page = <T>(all: T[], token?: string) => {
    const at = Number(token ?? 0);
    return { items: all.slice(at, at + pageSize), next: at + pageSize < all.length ? String(at + pageSize) : undefined };
  };
  return {
    async listVmsPage(_f, token) {
      // the starter's process stops answering in the middle of paging (it died)
      if (opts.hangAfterPage !== undefined && Number(token ?? 0) >= opts.hangAfterPage * pageSize) await new Promise(() => undefined);
      const p = page(idx, token);
      return { vms: p.items.map((i): VmSummary => ({ id: vmId(i), name: `vm-${String(i).padStart(4, '0')}`, resourceGroup: 'rg-a', subscriptionId: SUB, location: 'westeurope', osType: 'Windows' })), skipToken: p.next };
    },
    async listNicsPage(_f, token) {
      const p = page(idx, token);
      return { nics: p.items.map((i): SweepNic => ({ id: `${vmId(i)}-nic`, vmId: vmId(i), nsgId: `${vmId(i)}-nsg`, hasPublicIp: true })), skipToken: p.next };
    },
    async listNsgsPage(_f, token) {
      const p = page(idx, token);
      const nsgs = p.items.map(
        (i): SweepNsg => ({
          id: `${vmId(i)}-nsg`,
          name: `nsg-${i}`,
          subscriptionId: SUB,
          resourceGroup: 'rg-a',
          rules: [{ name: 'rdp', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '198.51.100.0/24', destinationPortRange: '3389' }],
          networkInterfaceIds: [`${vmId(i)}-nic`],
          subnetIds: [],
        }),
      );
      return { nsgs, skipToken: p.next };
    },
    async listVmStatusPage(_s, link) {
      const p = page(idx, link);
      return { statuses: p.items.map((i): SweepVmStatus => ({ vmId: vmId(i), powerState: i % 5 === 4 ? 'deallocated' : 'running', agentStatus: 'Ready' })), nextLink: p.next };
    },
    async runScript(id: string, o: RunScriptOptions) {
      expect(o.scriptId).toBe('diagnose');
      runs.push(id);
      // sweep-resume: Azure accepted it; the token names the VM (a real one is the SDK poller's state)
      await o.onAccepted?.(`token:${id}`);
      await new Promise((r) => setImmediate(r));
      return { stdout: STDOUT, stderr: '' };
    },
    async resumeRunScript(id: string, token: string, o: RunScriptOptions) {
      expect(o.scriptId).toBe('diagnose');
      expect(token).toBe(`token:${id}`);
      opts.resumed?.push(id);
      return { stdout: STDOUT, stderr: '' };
    },
  } as AzureGateway & SweepGateway;
}

interface Instance {
  sweeps: SweepService;
  spread: Spread;
  finished: SweepDigest[];
}

let shared: MemorySpreadStore;
let runs: string[];
/** sweep-resume: the VMs whose Run Command a worker polled to its end from a stored token */
let resumed: string[];
const instances: Instance[] = [];

/** One instance: its own sweep service, budget and worker over the shared store and queue. */
function instance(opts: { maxDeliveries?: number; leaseSeconds?: number; hangAfterPage?: number } = {}): Instance {
  const finished: SweepDigest[] = [];
  const observer: SweepObserver = { progress: async () => undefined, finished: async (d) => void finished.push(d) };
  const store = { sweeps: shared.sweeps, audit: shared.auditLog };
  const spread = createSpread({ spread: shared, store, logger: createLogger('silent'), chunkSize: 4, idlePollInMs: 5, maxDeliveries: opts.maxDeliveries, leaseSeconds: opts.leaseSeconds });
  const sweeps = createSweeps({
    store: { ...store, sweeps: spread.repo(store.sweeps) },
    gateway: fakeGateway(20, runs, { hangAfterPage: opts.hangAfterPage, resumed }),
    logger: createLogger('silent'),
    scope: { subscriptions: [SUB] },
    isApprover: () => true,
    observer,
    concurrency: 3,
    budget: { reads: { ratePerSecond: 1e6, burst: 1e6 }, writes: { ratePerSecond: 1e6, burst: 1e6 }, graph: { ratePerSecond: 1e6, burst: 1e6 } },
    spread: spread.hook,
  });
  const i = { sweeps, spread, finished };
  instances.push(i);
  return i;
}

beforeEach(() => {
  shared = new MemorySpreadStore();
  runs = [];
  resumed = [];
});

afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.spread.stop(5000)));
});

const ended = (id: string) => until(() => shared.rows.get(id)?.digest.state === 'done' && shared.rows.get(id)!.digest, 'the spread sweep to end');
const eligible = [...Array(20).keys()].filter((i) => i % 5 !== 4).map(vmId);
const resultFor = (sweepId: string, id: string): SweepVmResult | undefined => shared.results.get(sweepId)?.get(id.toLowerCase());

/** The starter pages the fleet and hands the 16 eligible VMs off as 4 chunks; no worker runs yet. */
async function handedOff(starter: Instance): Promise<string> {
  const first = await starter.sweeps.start({ kind: 'deep', scope: {}, startedBy: 'approver' });
  const handed = await starter.sweeps.whenDone(first.id);
  expect(handed.state).toBe('running');
  expect(shared.queue.messages.size).toBe(4);
  return first.id;
}

it('two instances share a deep sweep: each eligible VM runs once, the digest adds up, and it ends once', async () => {
  const a = instance();
  const b = instance();
  a.spread.startWorker();
  b.spread.startWorker();
  const { id } = await a.sweeps.start({ kind: 'deep', scope: {}, startedBy: 'approver' });
  const d = await ended(id);
  expect([...runs].sort()).toEqual(eligible);
  expect(d).toMatchObject({ state: 'done', total: 20, done: 20, runCommands: 16, skipped: { 'not-running': 4 } });
  expect(shared.queue.messages.size).toBe(0);
  // the end is told once, by one instance, and audited once
  await until(() => a.finished.length + b.finished.length > 0, 'the end to be shown');
  expect(a.finished.length + b.finished.length).toBe(1);
  expect(shared.audit.filter((e) => e.action === 'sweep.ended')).toHaveLength(1);
});

it('a message delivered again after its work was done (the instance died before deleting it) runs nothing twice', async () => {
  const a = instance();
  const id = await handedOff(a);
  shared.queue.failNextDelete();
  a.spread.startWorker();
  await until(() => shared.rows.get(id)?.spread?.folded.length === 4, 'every chunk to be folded');
  // the lease of the undeleted message runs out: another instance gets it
  shared.queue.expireLeases();
  const b = instance();
  b.spread.startWorker();
  await until(() => shared.queue.messages.size === 0, 'the message delivered again to be deleted');
  const d = await ended(id);
  expect(runs).toHaveLength(16);
  expect(d).toMatchObject({ done: 20, total: 20, runCommands: 16 });
});

it('a VM whose result is stored already is not checked again, and its stored result is counted', async () => {
  const a = instance();
  const id = await handedOff(a);
  // an instance stored this VM's result and died before the chunk was folded
  await shared.putResultOnce(id, { result: { vmId: vmId(1), vmName: 'vm-0001', resourceGroup: 'rg-a', subscriptionId: SUB, findings: ['tls-disabled'], worst: 'critical' }, runCommands: 1 });
  a.spread.startWorker();
  const d = await ended(id);
  expect(runs).not.toContain(vmId(1));
  expect(runs).toHaveLength(15);
  // its Run Command (made before the instance died) is counted once, with its result
  expect(d).toMatchObject({ done: 20, counts: { 'tls-disabled': 1 }, runCommands: 16 });
});

// ---- sweep-resume: a VM whose slot this sweep holds with no result (its instance died mid-check), by the slot's phase ----

/** The slot as an instance that died left it: claimed by this sweep (holder 'dead'), then advanced to `phase`. */
async function diedAt(sweepId: string, vm: string, phase: 'claimed' | 'sending' | 'sent'): Promise<void> {
  expect(await shared.sweeps.claimRunCommand(vm, sweepId, new Date(), 24 * 3600_000, 'dead')).toBe(true);
  if (phase !== 'claimed') expect(await shared.sweeps.advanceRunCommand!(vm, sweepId, 'dead', { phase: 'sending' })).toBe(true);
  if (phase === 'sent') expect(await shared.sweeps.advanceRunCommand!(vm, sweepId, 'dead', { phase: 'sent', token: `token:${vm}` })).toBe(true);
}

it('a live check leaves its slot `sent` with the resume token Azure gave (the phases are written as it goes)', async () => {
  const a = instance();
  const id = await handedOff(a);
  a.spread.startWorker();
  await ended(id);
  for (const vm of eligible) expect(shared.slots.get(vm.toLowerCase())).toMatchObject({ sweepId: id, phase: 'sent', token: `token:${vm}` });
});

it('phase claimed (no Run Command was sent): the VM is taken over and checked normally, and the dead check can no longer send', async () => {
  const a = instance();
  const id = await handedOff(a);
  await diedAt(id, vmId(2), 'claimed');
  a.spread.startWorker();
  const d = await ended(id);
  expect(runs.filter((r) => r === vmId(2))).toHaveLength(1);
  expect(resultFor(id, vmId(2))).toEqual({ ...resultFor(id, vmId(1)), vmId: vmId(2), vmName: 'vm-0002' });
  expect(d).toMatchObject({ done: 20, runCommands: 16, skipped: { 'not-running': 4 } });
  // the check it replaced (were it alive after all) is refused its `sending`: it sends nothing
  expect(await shared.sweeps.advanceRunCommand!(vmId(2), id, 'dead', { phase: 'sending' })).toBe(false);
});

it('phase sent (Azure accepted it): its Run Command is polled to its end from the token, not sent again, and evaluated as a fresh one', async () => {
  const a = instance();
  const id = await handedOff(a);
  await diedAt(id, vmId(2), 'sent');
  a.spread.startWorker();
  const d = await ended(id);
  expect(runs).not.toContain(vmId(2));
  expect(resumed).toEqual([vmId(2)]);
  expect(resultFor(id, vmId(2))?.skipped).toBeUndefined();
  expect(resultFor(id, vmId(2))).toEqual({ ...resultFor(id, vmId(1)), vmId: vmId(2), vmName: 'vm-0002' });
  // its one Run Command (sent by the instance that died) is counted once, with its result
  expect(d).toMatchObject({ done: 20, runCommands: 16, skipped: { 'not-running': 4 } });
});

it('phase sending (the POST may or may not have reached Azure), or a slot from before phases: never run again (error:interrupted)', async () => {
  const a = instance();
  const id = await handedOff(a);
  await diedAt(id, vmId(2), 'sending');
  // a row written before sweep-resume has no phase: read as `sending`
  shared.slots.set(vmId(3).toLowerCase(), { sweepId: id, at: new Date().toISOString(), released: false });
  a.spread.startWorker();
  const d = await ended(id);
  expect(runs).not.toContain(vmId(2));
  expect(runs).not.toContain(vmId(3));
  expect(resumed).toEqual([]);
  expect(resultFor(id, vmId(2))?.skipped).toBe('error:interrupted');
  expect(resultFor(id, vmId(3))?.skipped).toBe('error:interrupted');
  expect(d).toMatchObject({ done: 20, runCommands: 14, skipped: { 'not-running': 4, error: 2 } });
});

it('a poison message (delivered too often) ends its VMs as error:poison with no Run Command, and the sweep still ends', async () => {
  const a = instance({ maxDeliveries: 2 });
  const id = await handedOff(a);
  // the first chunk's message was delivered twice before, and never finished
  const [first] = shared.queue.messages.values();
  first.deliveries = 2;
  a.spread.startWorker();
  const d = await ended(id);
  const chunk0 = eligible.slice(0, 4);
  for (const vm of chunk0) expect(resultFor(id, vm)?.skipped).toBe('error:poison');
  expect(runs.filter((r) => chunk0.includes(r))).toEqual([]);
  expect(runs).toHaveLength(12);
  expect(d).toMatchObject({ done: 20, total: 20, skipped: { 'not-running': 4, error: 4 } });
});

it('a sweep whose starter died while paging the fleet is ended by another instance, as failed (interrupted), once', async () => {
  const a = instance({ leaseSeconds: 1, hangAfterPage: 1 });
  const b = instance({ leaseSeconds: 1 });
  const { id } = await a.sweeps.start({ kind: 'deep', scope: {}, startedBy: 'approver' });
  // the first page's eligible VMs are handed off; then the starter stops in the middle of the next page
  await until(() => shared.queue.messages.size === 2, 'the first page to be handed off');
  await a.spread.stop(10); // its process is gone: nothing renews its lease any more
  b.spread.startWorker();
  const d = await until(() => shared.rows.get(id)?.digest.state !== 'running' && shared.rows.get(id)!.digest, 'the abandoned sweep to end');
  expect(d).toMatchObject({ state: 'failed', error: 'interrupted' });
  expect(d.endedAt).toBeDefined();
  expect(new Set(runs).size).toBe(runs.length);
  expect(b.finished).toHaveLength(1);
  expect(shared.audit.filter((e) => e.action === 'sweep.ended')).toHaveLength(1);
  await until(() => shared.queue.messages.size === 0, 'its chunks to be dropped or done');
});
