import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Approval, AuditEntry, Incident, IncidentState, Job } from '../../services/incidents/model';
import { ConfigError, loadConfig } from '../../bot/config';
import { openStore } from '../../services/store';
import { serviceEndpoints } from '../../services/store/azure/connection';
import { AzureStore } from '../../services/store/azure/store';
import { SqliteStore } from '../../services/store/sqlite';
import type { AppStore } from '../../services/store/store';
import { startAzurite, type Azurite } from '../support/azurite';
import { QueueClient } from '@azure/storage-queue';
import { conversationIdOf } from '../../dialogs/chat-address';

/**
 * One contract, two backends: what the workflow relies on from its store holds for SQLite
 * (one process) and for Azure Storage (several instances; here Azurite). Every case that
 * races uses two store objects over the same data, as two instances would.
 */

interface Backend {
  name: string;
  /** two handles on one fresh, empty store */
  openPair(): Promise<[AppStore, AppStore]>;
}

let azurite: Azurite | undefined;
const opened: AppStore[] = [];

const sqlite: Backend = {
  name: 'sqlite',
  async openPair() {
    const dir = mkdtempSync(join(tmpdir(), 'rdp-contract-'));
    const pair: [AppStore, AppStore] = [SqliteStore.open(dir), SqliteStore.open(dir)];
    opened.push(...pair);
    return pair;
  },
};

const azure: Backend = {
  name: 'azure (Azurite)',
  async openPair() {
    if (!azurite) azurite = await startAzurite();
    const prefix = `c${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const target = { connectionString: azurite.connectionString };
    const a = await AzureStore.open({ target, prefix, instanceId: 'instance-a' });
    const b = await AzureStore.open({ target, prefix, instanceId: 'instance-b' });
    opened.push(a, b);
    return [a, b];
  },
};

afterAll(async () => {
  for (const s of opened) await s.close();
  await azurite?.stop();
});

const VM = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-one';
const VM2 = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-two';

function incident(over: Partial<Incident> = {}): Incident {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    createdAt: now,
    updatedAt: now,
    state: 'awaiting-consent',
    lang: 'en',
    symptom: 'internal-error',
    requester: { id: '29:user', name: 'Alex' },
    conversation: { conversation: { id: 'a:user', isGroup: false, conversationType: 'personal', name: '' }, serviceUrl: 'http://localhost/' },
    vmId: VM,
    vmName: 'vm-one',
    candidates: [],
    ...over,
  };
}

function approval(incidentId: string, over: Partial<Approval> = {}): Approval {
  const now = new Date();
  return {
    id: randomUUID(),
    incidentId,
    vmId: VM,
    vmName: 'vm-one',
    fixId: 'enable-tls',
    params: { tls10: false },
    paramsHash: 'hash',
    requester: { id: '29:user' },
    lang: 'en',
    state: 'pending',
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 3600000).toISOString(),
    cards: [],
    ...over,
  };
}

function jobFor(a: Approval): Job {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    approvalId: a.id,
    incidentId: a.incidentId,
    vmId: a.vmId,
    vmName: a.vmName,
    fixId: a.fixId,
    params: a.params,
    paramsHash: a.paramsHash,
    lang: a.lang,
    state: 'queued',
    steps: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** An approved approval with its queued job, through the store's one atomic decision. */
async function queuedJob(store: AppStore, vmId = VM): Promise<Job> {
  const inc = incident({ vmId, state: 'diagnosed' });
  await store.incidents.create(inc);
  const a = approval(inc.id, { vmId });
  await store.approvals.create(a);
  const decided = await store.approvals.decide(a.id, { state: 'approved', decidedBy: { id: '29:approver' }, decidedAt: new Date().toISOString() }, jobFor(a));
  return decided!.job!;
}

const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe.each([sqlite, azure])('store contract: $name', (backend) => {
  let a: AppStore;
  let b: AppStore;
  beforeEach(async () => {
    [a, b] = await backend.openPair();
  });

  it('answers ping', async () => {
    await expect(a.ping()).resolves.toBeUndefined();
  });

  it('bot state: reads back what was written and refuses a write with a stale ETag', async () => {
    await a.botStorage.write({ 'conv/1': { step: 1, text: 'Привет' } });
    const first = (await b.botStorage.read(['conv/1', 'missing']))['conv/1'] as { step: number; text: string; eTag: string };
    expect(first).toMatchObject({ step: 1, text: 'Привет' });
    expect(first.eTag).toBeTruthy();

    await b.botStorage.write({ 'conv/1': { ...first, step: 2 } });
    // instance A still holds the first ETag: its write must not overwrite B's
    await expect(a.botStorage.write({ 'conv/1': { ...first, step: 3 } })).rejects.toThrow(/eTag conflict/);
    const now = (await a.botStorage.read(['conv/1']))['conv/1'] as { step: number; eTag: string };
    expect(now.step).toBe(2);
    expect(now.eTag).not.toBe(first.eTag);

    await a.botStorage.write({ 'conv/1': { step: 4, eTag: '*' } });
    expect(((await b.botStorage.read(['conv/1']))['conv/1'] as { step: number }).step).toBe(4);
    await b.botStorage.delete(['conv/1']);
    expect(await a.botStorage.read(['conv/1'])).toEqual({});
  });

  it('incident transition is a compare-and-set: of 20 concurrent moves exactly one wins', async () => {
    const inc = incident();
    await a.incidents.create(inc);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).incidents.transition(inc.id, ['awaiting-consent'], { state: 'diagnosing', cardActivityId: `card-${i}` })),
    );
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    const stored = await a.incidents.get(inc.id);
    expect(stored?.state).toBe('diagnosing');
    expect(stored?.cardActivityId).toBe(winners[0]!.cardActivityId);
    // a move from a state it is not in changes nothing
    expect(await b.incidents.transition(inc.id, ['awaiting-consent'], { state: 'cancelled' })).toBeNull();
    expect((await a.incidents.get(inc.id))?.state).toBe('diagnosing');
  });

  it('incident patch keeps the state, and lists find open incidents and those of a VM (any case)', async () => {
    const open = incident();
    const closed = incident({ state: 'resolved', vmId: VM2, vmName: 'vm-two' });
    await a.incidents.create(open);
    await a.incidents.create(closed);
    const patched = await b.incidents.patch(open.id, { cardActivityId: 'act-9' });
    expect(patched).toMatchObject({ state: 'awaiting-consent', cardActivityId: 'act-9' });
    expect((await a.incidents.listOpen()).map((i) => i.id)).toEqual([open.id]);
    expect((await a.incidents.listByVm(VM2.toUpperCase())).map((i) => i.id)).toEqual([closed.id]);
    expect(await a.incidents.get('no-such-incident')).toBeNull();
  });

  it("a VM's incidents filtered by state and person (Entra id in any case, else the channel account)", async () => {
    const vm = VM2.replace('vm-two', 'vm-filter');
    const mine = incident({ vmId: vm, state: 'diagnosed', requester: { id: '29:a', aadObjectId: 'AAD-A', name: 'A' } });
    const mineElsewhere = incident({ vmId: vm, state: 'failed', requester: { id: '29:a-web', aadObjectId: 'aad-a', name: 'A' } });
    const mineClosed = incident({ vmId: vm, state: 'closed', requester: { id: '29:a', aadObjectId: 'aad-a', name: 'A' } });
    const theirs = incident({ vmId: vm, state: 'diagnosed', requester: { id: '29:b', aadObjectId: 'aad-b', name: 'B' } });
    for (const [n, i] of [mine, mineElsewhere, mineClosed, theirs].entries()) await a.incidents.create({ ...i, createdAt: `2026-12-01T00:00:0${n}.000Z` });
    const only = { states: ['diagnosed', 'failed'] as IncidentState[], requester: { id: '29:a', aadObjectId: 'aad-a' } };
    expect((await b.incidents.listByVm(vm.toUpperCase(), 50, only)).map((i) => i.id)).toEqual([mineElsewhere.id, mine.id]);
    expect((await b.incidents.listByVm(vm, 50, { requester: { id: '29:b' } })).map((i) => i.id)).toEqual([theirs.id]);
  });

  it('an approval is decided exactly once under 50 concurrent decisions, with exactly one job', async () => {
    const inc = incident({ state: 'diagnosed' });
    await a.incidents.create(inc);
    const ap = approval(inc.id);
    await a.approvals.create(ap);
    const jobs = Array.from({ length: 50 }, () => jobFor(ap));
    const results = await Promise.all(
      jobs.map((job, i) =>
        (i % 2 ? a : b).approvals.decide(ap.id, { state: i % 5 === 0 ? 'rejected' : 'approved', decidedBy: { id: `29:approver-${i}` }, decidedAt: new Date().toISOString() }, i % 5 === 0 ? undefined : job),
      ),
    );
    const winners = results.filter((r) => r !== null);
    expect(winners).toHaveLength(1);
    const won = winners[0]!;
    const stored = await b.approvals.get(ap.id);
    expect(stored).toMatchObject({ state: won.approval.state, decidedBy: won.approval.decidedBy });
    const created = await a.jobs.listByState(['queued', 'running', 'succeeded', 'failed', 'interrupted']);
    if (won.approval.state === 'approved') {
      expect(created.map((j) => j.id)).toEqual([won.job!.id]);
      expect(stored?.jobId).toBe(won.job!.id);
      expect(await b.jobs.get(won.job!.id)).toMatchObject({ state: 'queued', approvalId: ap.id });
    } else {
      expect(created).toEqual([]);
    }
    for (const job of jobs.filter((j) => j.id !== won.job?.id)) expect(await a.jobs.get(job.id)).toBeNull();
    expect(await a.approvals.listPending()).toEqual([]);
    expect((await b.approvals.listByIncident(inc.id)).map((x) => x.id)).toEqual([ap.id]);
  });

  it('two-person rule: of 20 concurrent first approvals exactly one is recorded, once per approver', async () => {
    const inc = incident({ state: 'diagnosed' });
    await a.incidents.create(inc);
    const ap = approval(inc.id, { approvalsRequired: 2 });
    await a.approvals.create(ap);
    const at = new Date().toISOString();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).approvals.vote(ap.id, { by: { id: `29:approver-${i % 3}` }, at }, 1)));
    const recorded = results.filter((r) => r !== null);
    expect(recorded).toHaveLength(1);
    const stored = await b.approvals.get(ap.id);
    expect(stored).toMatchObject({ state: 'pending', votes: [{ by: recorded[0]!.votes![0].by }] });
    // the same approver cannot vote twice, and nothing is recorded once it is decided
    expect(await a.approvals.vote(ap.id, { by: recorded[0]!.votes![0].by, at }, 2)).toBeNull();
    await a.approvals.decide(ap.id, { state: 'rejected', decidedBy: { id: '29:approver-x' }, decidedAt: at });
    expect(await b.approvals.vote(ap.id, { by: { id: '29:approver-y' }, at }, 2)).toBeNull();
    expect((await a.approvals.get(ap.id))?.votes).toHaveLength(1);
  });

  it('keeps every card placement added concurrently, and lists pending approvals oldest first', async () => {
    const inc = incident({ state: 'diagnosed' });
    await a.incidents.create(inc);
    const first = approval(inc.id, { createdAt: '2030-01-01T00:00:00.000Z' });
    const second = approval(inc.id, { createdAt: '2030-01-01T00:00:01.000Z' });
    await b.approvals.create(second);
    await a.approvals.create(first);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).approvals.addCard(first.id, { conversation: { conversation: { id: `c${i}`, isGroup: false, conversationType: 'personal', name: '' } }, activityId: `act-${i}`, audience: 'approvers' })),
    );
    expect((await a.approvals.get(first.id))?.cards.map((c) => c.activityId).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `act-${i}`).sort());
    expect((await b.approvals.listPending()).map((x) => x.id)).toEqual([first.id, second.id]);
    // the `approvals` command shows the newest first (issue #12.4)
    expect((await a.approvals.listPending(1, 'newest')).map((x) => x.id)).toEqual([second.id]);
  });

  it('removes the card placements it is told to, keeping those added meanwhile', async () => {
    const inc = incident({ state: 'diagnosed' });
    await a.incidents.create(inc);
    const ap = approval(inc.id);
    await a.approvals.create(ap);
    const place = (conv: string, i: number) => ({ conversation: { conversation: { id: conv, isGroup: false, conversationType: 'personal', name: '' } }, activityId: `${conv}-${i}`, audience: 'approvers' as const });
    for (let i = 0; i < 3; i++) await a.approvals.addCard(ap.id, place('dead', i));
    await a.approvals.addCard(ap.id, place('alive', 0));
    const [removed] = await Promise.all([
      b.approvals.removeCards(ap.id, (c) => conversationIdOf(c.conversation) === 'dead'),
      ...Array.from({ length: 4 }, (_, i) => a.approvals.addCard(ap.id, place('alive', i + 1))),
    ]);
    expect(removed).toBe(3);
    expect((await a.approvals.get(ap.id))?.cards.map((c) => c.activityId).sort()).toEqual(['alive-0', 'alive-1', 'alive-2', 'alive-3', 'alive-4']);
    expect(await a.approvals.removeCards(ap.id, (c) => conversationIdOf(c.conversation) === 'dead')).toBe(0);
    expect(await a.approvals.removeCards('11111111-2222-4333-8444-555555555555', () => true)).toBe(0);
  });

  it('claims a job once, and runs at most one job per VM at a time', async () => {
    const j1 = await queuedJob(a);
    const j2 = await queuedJob(b);
    const other = await queuedJob(a, VM2);
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).jobs.claim(i < 10 ? j1.id : j2.id, inSeconds(60))));
    const won = claims.filter((c) => c !== null);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ state: 'running' });
    const loser = won[0]!.id === j1.id ? j2 : j1;
    expect((await a.jobs.get(loser.id))?.state).toBe('queued');
    expect((await a.jobs.listByState(['running'])).map((j) => j.id)).toEqual([won[0]!.id]);

    // another VM is not blocked
    expect(await b.jobs.claim(other.id, inSeconds(60))).toMatchObject({ state: 'running' });
    // the VM is free once its job has ended
    expect(await a.jobs.claim(loser.id, inSeconds(60))).toBeNull();
    await b.jobs.update(won[0]!.id, { state: 'succeeded' });
    expect(await a.jobs.claim(loser.id, inSeconds(60))).toMatchObject({ id: loser.id, state: 'running' });
    expect(await b.jobs.claim(loser.id, inSeconds(60))).toBeNull();
  });

  it('renews a lease; a job whose lease ran out is interrupted exactly once', async () => {
    const job = await queuedJob(a);
    await a.jobs.claim(job.id, inSeconds(1));
    await a.jobs.update(job.id, { steps: [{ name: 'snapshot', state: 'done' }, { name: 'fix', state: 'running' }] });
    expect(await a.jobs.renew(job.id, inSeconds(60))).toBe(true);
    expect(await b.jobs.interruptAbandoned({ now: new Date(Date.now() + 30000) })).toEqual([]);

    const later = new Date(Date.now() + 120000);
    const [x, y] = await Promise.all([a.jobs.interruptAbandoned({ now: later }), b.jobs.interruptAbandoned({ now: later })]);
    const interrupted = [...x, ...y];
    expect(interrupted.map((j) => j.id)).toEqual([job.id]);
    expect(interrupted[0]).toMatchObject({ state: 'interrupted', steps: [{ name: 'snapshot', state: 'done' }, { name: 'fix', state: 'failed' }] });
    expect(await a.jobs.renew(job.id, inSeconds(60))).toBe(false);
    expect(await b.jobs.interruptAbandoned({ now: later })).toEqual([]);
    // the interrupted job no longer holds the VM
    const next = await queuedJob(b);
    expect(await a.jobs.claim(next.id, inSeconds(60))).toMatchObject({ state: 'running' });
  });

  it('audit log: entries come back in the order written, filtered by VM (any case) and incident', async () => {
    const entries: AuditEntry[] = [
      { at: '2030-01-01T00:00:00.000Z', actor: 'u1', action: 'incident.created', incidentId: 'inc-1', vmId: VM },
      { at: '2030-01-01T00:00:00.000Z', actor: 'u2', action: 'incident.created', incidentId: 'inc-2', vmId: VM2 },
      { at: '2030-01-01T00:00:00.000Z', actor: 'u1', action: 'fix.requested', incidentId: 'inc-1', vmId: VM, details: { fixId: 'enable-tls', note: 'ж' } },
      { at: '2030-01-01T00:00:00.000Z', actor: 'u3', action: 'settings.changed' },
      { at: '2030-01-01T00:00:00.000Z', actor: 'rdp-doctor', action: 'job.started', incidentId: 'inc-1', vmId: VM },
    ];
    for (const [i, e] of entries.entries()) await (i % 2 ? a : b).audit.append(e);
    const actions = (list: AuditEntry[]) => list.map((e) => `${e.actor}:${e.action}`);
    expect(actions(await a.audit.list({}))).toEqual(actions(entries));
    expect(await b.audit.list({ vmId: VM.toUpperCase() })).toMatchObject([entries[0], entries[2], entries[4]]);
    expect(actions(await a.audit.list({ incidentId: 'inc-2' }))).toEqual(['u2:incident.created']);
    expect(actions(await a.audit.list({ incidentId: 'inc-1', vmId: VM2 }))).toEqual([]);
    // a limit keeps the latest entries, never the oldest
    expect(actions(await b.audit.list({ incidentId: 'inc-1', limit: 2 }))).toEqual(['u1:fix.requested', 'rdp-doctor:job.started']);
  });

  it('audit log: after 520 entries of a VM the latest is listed and paged newest first (issue #12.3)', async () => {
    const at = '2030-01-01T00:00:00.000Z';
    for (let i = 1; i <= 520; i++) await (i % 2 ? a : b).audit.append({ at, actor: 'u1', action: `incident.note.${i}`, incidentId: 'inc-9', vmId: VM });
    await a.audit.append({ at, actor: 'approver', action: 'approval.approved', incidentId: 'inc-9', vmId: VM });
    const latest = await b.audit.list({ vmId: VM, limit: 500 });
    expect(latest).toHaveLength(500);
    expect(latest[latest.length - 1].action).toBe('approval.approved');
    const first = await a.audit.page({ vmId: VM.toUpperCase(), limit: 200 });
    expect(first.entries.map((e) => e.action).slice(0, 2)).toEqual(['approval.approved', 'incident.note.520']);
    const second = await b.audit.page({ vmId: VM, limit: 200, beforeSeq: first.olderThan });
    expect(second.entries[0].action).toBe('incident.note.321');
    const third = await a.audit.page({ vmId: VM, limit: 200, beforeSeq: second.olderThan });
    expect(third.entries.map((e) => e.action)).toHaveLength(121);
    expect(third.entries[third.entries.length - 1].action).toBe('incident.note.1');
    expect(third.olderThan).toBeUndefined();
  }, 120000);

  it('audit log: every entry is chained to the one before, also when two instances write at once (issue #12.7)', async () => {
    const at = '2030-01-01T00:00:00.000Z';
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).audit.append({ at, actor: `u${i}`, action: 'x', vmId: VM, details: { i, text: 'ж' } })));
    expect(await a.audit.verify()).toMatchObject({ ok: true, count: 12 });
    const all = await b.audit.list({});
    expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const [i, e] of all.entries()) expect(e.prevHash).toBe(i === 0 ? '0'.repeat(64) : all[i - 1].hash);
  });

  it('users and settings round-trip', async () => {
    expect(await a.users.get('29:u')).toBeNull();
    await a.users.upsert({ id: '29:u', aadObjectId: 'AAAA-1', name: 'Alex', updatedAt: '2030-01-01T00:00:00.000Z' });
    await b.users.upsert({ id: '29:u', aadObjectId: 'AAAA-1', name: 'Alex Renamed', updatedAt: '2030-01-02T00:00:00.000Z' });
    expect(await a.users.get('29:u')).toMatchObject({ name: 'Alex Renamed' });
    expect(await b.users.findByAadObjectId('aaaa-1')).toMatchObject({ id: '29:u' });
    expect(await b.users.findByAadObjectId('nobody')).toBeNull();

    expect(await a.settings.get('approvals.channel')).toBeNull();
    await a.settings.set('approvals.channel', { conversation: { id: '19:chan' } });
    await b.settings.set('approvals.channel', { conversation: { id: '19:other' } });
    expect(await a.settings.get('approvals.channel')).toEqual({ conversation: { id: '19:other' } });
  });

  it('a flag is claimed once: of 20 concurrent claims from two instances exactly one wins; released, it is claimed once again', async () => {
    const key = 'approverDelivered:approval-1:aaaa-1';
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).settings.claim(key)));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await b.settings.get(key)).toBe(true);
    expect(await a.settings.claim(key)).toBe(false);
    // a failed post releases the mark (false, as stored by earlier versions too)
    await a.settings.set(key, false);
    const again = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).settings.claim(key)));
    expect(again.filter(Boolean)).toHaveLength(1);
    expect(await a.settings.get(key)).toBe(true);
  });

  it('job queue delivers every enqueued job id to a consumer', async () => {
    const got: string[] = [];
    const stop = a.jobQueue.consume(async (id) => {
      got.push(id);
    });
    try {
      await a.jobQueue.enqueue('job-1');
      await a.jobQueue.enqueue('job-2');
      const deadline = Date.now() + 10000;
      while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await stop();
    }
    expect(got.sort()).toEqual(['job-1', 'job-2']);
  });
});

describe('Azure Storage only', () => {
  it('a taken message is not delivered again; one that keeps failing goes to the poison path', async () => {
    if (!azurite) azurite = await startAzurite();
    const target = { connectionString: azurite.connectionString };
    const prefix = `q${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const queue = { visibilityTimeoutSeconds: 1, maxDeliveries: 2, idlePollInMs: 100 };
    const a = await AzureStore.open({ target, prefix, queue });
    const b = await AzureStore.open({ target, prefix, queue });
    opened.push(a, b);
    expect(a.kind).toBe('azure');

    const taken: string[] = [];
    const attempts: string[] = [];
    const poisoned: Array<[string, number]> = [];
    const stops = [a, b].map((s) =>
      s.jobQueue.consume(
        async (id) => {
          if (id === 'bad') {
            attempts.push(id);
            throw new Error('handler fails');
          }
          taken.push(id);
        },
        { poisoned: async (id, n) => void poisoned.push([id, n]) },
      ),
    );
    try {
      await a.jobQueue.enqueue('good');
      await b.jobQueue.enqueue('bad');
      const deadline = Date.now() + 15000;
      while (poisoned.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // the poisoned message is deleted once reported: with the queue empty nothing can be delivered again
      const queued = new QueueClient(azurite.connectionString, `${prefix}-jobs`);
      while (((await queued.getProperties()).approximateMessagesCount ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await queued.getProperties()).approximateMessagesCount).toBe(0);
    } finally {
      await Promise.all(stops.map((s) => s()));
    }
    expect(taken).toEqual(['good']);
    expect(attempts).toEqual(['bad', 'bad']);
    expect(poisoned).toEqual([['bad', 3]]);
  }, 30000);
});

describe('choosing the store from the configuration', () => {
  it('STORAGE=azure needs a connection string or an account URL, and a valid prefix', () => {
    expect(() => loadConfig({ STORAGE: 'azure' })).toThrow(ConfigError);
    expect(() => loadConfig({ STORAGE: 'azure' })).toThrow(/AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL/);
    expect(() => loadConfig({ STORAGE: 'azure', AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', AZURE_STORAGE_PREFIX: 'Bad-Prefix' })).toThrow(/AZURE_STORAGE_PREFIX/);
    const c = loadConfig({ STORAGE: 'azure', AZURE_STORAGE_ACCOUNT_URL: 'https://acct.blob.core.windows.net' });
    expect(c).toMatchObject({ STORAGE: 'azure', AZURE_STORAGE_PREFIX: 'rdpdoctor', JOB_LEASE_SECONDS: 60, SWEEP_INTERVAL_SECONDS: 30 });
    expect(loadConfig({})).toMatchObject({ STORAGE: 'sqlite' });
    expect(serviceEndpoints('https://acct.blob.core.windows.net/')).toEqual({
      blob: 'https://acct.blob.core.windows.net',
      table: 'https://acct.table.core.windows.net',
      queue: 'https://acct.queue.core.windows.net',
    });
    expect(() => serviceEndpoints('https://example.com')).toThrow(/AZURE_STORAGE_ACCOUNT_URL/);
  });

  it('opens SQLite by default and Azure Storage when configured', async () => {
    if (!azurite) azurite = await startAzurite();
    const dir = mkdtempSync(join(tmpdir(), 'rdp-open-'));
    const local = await openStore(loadConfig({ DATA_DIR: dir }));
    const shared = await openStore(loadConfig({ STORAGE: 'azure', AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString, AZURE_STORAGE_PREFIX: 'openstoretest' }));
    opened.push(local, shared);
    expect([local.kind, shared.kind]).toEqual(['sqlite', 'azure']);
    await expect(shared.ping()).resolves.toBeUndefined();
  });
});
