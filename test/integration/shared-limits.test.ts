import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ApprovalService, requestId } from '../../services/incidents/approvals';
import type { Incident } from '../../services/incidents/model';
import { silentLogger } from '../../services/log';
import { AzureStore } from '../../services/store/azure/store';
import { SqliteStore } from '../../services/store/sqlite';
import type { AppStore } from '../../services/store/store';
import { startAzurite, type Azurite } from '../support/azurite';

/**
 * Issue #12 (limits and request merging across instances): with Azure Storage every instance
 * counts a user's limit in one shared window, and the same fix request taken by two instances at
 * once becomes one approval. Each case uses two store objects over the same data, as two
 * instances behind a load balancer would.
 */
let azurite: Azurite | undefined;
const opened: AppStore[] = [];

async function twoInstances(): Promise<[AzureStore, AzureStore]> {
  if (!azurite) azurite = await startAzurite();
  const target = { connectionString: azurite.connectionString };
  const prefix = `l${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const a = await AzureStore.open({ target, prefix });
  const b = await AzureStore.open({ target, prefix });
  opened.push(a, b);
  return [a, b];
}

afterAll(async () => {
  for (const s of opened) {
    if (s instanceof AzureStore) await s.destroy().catch(() => undefined);
    await s.close();
  }
  await azurite?.stop();
});

const VM = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-tlsoff-06';

function diagnosed(): Incident {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    createdAt: now,
    updatedAt: now,
    state: 'diagnosed',
    lang: 'en',
    symptom: 'internal-error',
    requester: { id: '29:user', name: 'Alex', aadObjectId: '00000000-0000-0000-0000-0000000000aa' },
    conversation: { conversation: { id: 'a:user' }, serviceUrl: 'http://localhost/' },
    vmId: VM,
    vmName: 'vm-tlsoff-06',
    candidates: [],
    diagnosis: {
      at: now,
      findings: [{ id: 'nla-disabled', severity: 'warning', evidence: [] }],
      fixes: [{ id: 'enable-nla', addresses: ['nla-disabled'] }],
      runCommandCalls: 1,
      armCalls: 3,
      elapsedMs: 1000,
      vm: { id: VM, name: 'vm-tlsoff-06', powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
    },
  };
}

const policy = { approverIds: ['00000000-0000-0000-0000-0000000000bb'], allowSelfApproval: false, ttlMinutes: 60, fixRequestsPerHour: 4 };
const service = (store: AppStore) => new ApprovalService({ store, policy, logger: silentLogger });

describe('limits shared by the instances (Azure Storage)', () => {
  it('a user takes exactly the limit across two instances, however the requests interleave', async () => {
    const [a, b] = await twoInstances();
    const now = Date.parse('2026-11-30T12:00:00Z');
    const takes = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).limits.take('diagnoses', '29:user', 5, 3600_000, now + i));
    const granted = (await Promise.all(takes)).filter(Boolean).length;
    expect(granted).toBe(5);
    // another user and another limit count on their own
    expect(await b.limits.take('diagnoses', '29:other', 5, 3600_000, now)).toBe(true);
    expect(await b.limits.take('searches', '29:user', 5, 3600_000, now)).toBe(true);
    // the window slides: an hour after the first hits, slots are free again (on either instance)
    expect(await a.limits.take('diagnoses', '29:user', 5, 3600_000, now + 3600_000 - 1)).toBe(false);
    expect(await a.limits.take('diagnoses', '29:user', 5, 3600_000, now + 3600_000 + 1)).toBe(true);
  }, 60000);

  it('fix requests per hour hold across instances', async () => {
    const [a, b] = await twoInstances();
    const [sa, sb] = [service(a), service(b)];
    const results: Array<'created' | 'limited'> = [];
    for (let i = 0; i < 6; i++) {
      const inc = diagnosed();
      await a.incidents.create(inc);
      const s = i % 2 === 0 ? sa : sb;
      try {
        await s.submit(inc, 'enable-nla', {}, inc.requester);
        results.push('created');
      } catch (e) {
        expect((e as { code?: string }).code).toBe('rate-limited');
        results.push('limited');
      }
    }
    expect(results).toEqual(['created', 'created', 'created', 'created', 'limited', 'limited']);
  }, 60000);

  it('the same request taken by two instances at once is one approval', async () => {
    const [a, b] = await twoInstances();
    const inc = diagnosed();
    await a.incidents.create(inc);
    const [x, y] = await Promise.all([service(a).submit(inc, 'enable-nla', {}, inc.requester), service(b).submit(inc, 'enable-nla', {}, inc.requester)]);
    expect(x.approval.id).toBe(y.approval.id);
    expect([x.created, y.created].sort()).toEqual([false, true]);
    expect(await a.approvals.listByIncident(inc.id)).toHaveLength(1);
  }, 60000);
});

describe('request ids', () => {
  it('are UUIDs the card verbs accept, the same for the same request and different for the next one', () => {
    const id = requestId('i', 'h', 0);
    expect(z.string().uuid().safeParse(id).success).toBe(true);
    expect(requestId('i', 'h', 0)).toBe(id);
    expect(new Set([id, requestId('i', 'h', 1), requestId('i', 'g', 0), requestId('j', 'h', 0)]).size).toBe(4);
  });

  it('one process (SQLite) merges a double click and opens a new request after a decision', async () => {
    const store = SqliteStore.open(mkdtempSync(join(tmpdir(), 'rdpd-limits-')));
    opened.push(store);
    const s = service(store);
    const inc = diagnosed();
    await store.incidents.create(inc);
    const [x, y] = await Promise.all([s.submit(inc, 'enable-nla', {}, inc.requester), s.submit(inc, 'enable-nla', {}, inc.requester)]);
    expect(x.approval.id).toBe(y.approval.id);
    await store.approvals.decide(x.approval.id, { state: 'rejected', decidedBy: { id: '29:approver' }, decidedAt: new Date().toISOString() });
    const again = await s.submit(inc, 'enable-nla', {}, inc.requester);
    expect(again.created).toBe(true);
    expect(again.approval.id).not.toBe(x.approval.id);
  }, 30000);
});
