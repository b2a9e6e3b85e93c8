import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Activity, ConversationReference } from 'botbuilder';
import { FixPresenter } from '../../dialogs/fix-presenter';
import type { ApprovalService } from '../../services/incidents/approvals';
import type { Approval, CardPlacement, Incident } from '../../services/incidents/model';
import { silentLogger } from '../../services/log';
import { SqliteStore } from '../../services/store/sqlite';

/**
 * Every copy of an approval card (the requester's, the approvals channel's, each approver's
 * personal chat) is re-rendered at each step of a fix: the store is read once per render, not
 * once per copy or per time zone, and each copy still shows its reader's zone and names every
 * approver in refresh.userIds.
 */
const VM = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-one';
const APPROVERS = [
  { aad: '00000000-0000-4000-8000-0000000000a1', id: '29:approver-1', tz: 'Asia/Tokyo', zone: 'GMT+9' },
  { aad: '00000000-0000-4000-8000-0000000000a2', id: '29:approver-2', tz: 'America/New_York', zone: 'GMT-5' },
  { aad: '00000000-0000-4000-8000-0000000000a3', id: '29:approver-3', tz: 'Asia/Kolkata', zone: 'GMT+5:30' },
];

const conversation = (id: string): Partial<ConversationReference> => ({ conversation: { id, isGroup: false, conversationType: 'personal', name: '' }, serviceUrl: 'http://127.0.0.1/' });

describe('fix presenter: copies of an approval card', () => {
  let dir: string;
  let store: SqliteStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-presenter-'));
    store = SqliteStore.open(dir);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the store once per render and gives each copy its reader zone', async () => {
    for (const a of APPROVERS) await store.users.upsert({ id: a.id, aadObjectId: a.aad, name: a.id, tz: a.tz, personal: conversation(`a:${a.id}`), updatedAt: '2026-11-30T12:00:00Z' });
    const now = new Date('2026-11-30T12:00:00Z');
    const incident: Incident = {
      id: randomUUID(), createdAt: now.toISOString(), updatedAt: now.toISOString(), state: 'diagnosed', lang: 'en', symptom: 'internal-error',
      requester: { id: '29:user', name: 'Alex' }, conversation: conversation('a:user'), vmId: VM, vmName: 'vm-one', candidates: [],
    };
    await store.incidents.create(incident);
    const cards: CardPlacement[] = [
      { conversation: conversation('a:user'), activityId: 'act-requester', audience: 'requester' },
      { conversation: conversation('19:channel'), activityId: 'act-channel', audience: 'approvers' },
      ...APPROVERS.map((a) => ({ conversation: conversation(`a:${a.id}`), activityId: `act-${a.id}`, audience: 'approvers' as const })),
    ];
    const approval: Approval = {
      id: randomUUID(), incidentId: incident.id, vmId: VM, vmName: 'vm-one', fixId: 'enable-tls', params: { tls10: false }, paramsHash: 'hash',
      requester: { id: '29:user', name: 'Alex' }, lang: 'en', tz: 'Europe/Berlin', state: 'pending', createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 3600000).toISOString(), cards,
    };
    await store.approvals.create(approval);

    const updates = new Map<string, string>();
    const presenter = new FixPresenter({
      store,
      approvals: { approverIds: () => APPROVERS.map((a) => a.aad), isApprover: (p: { aadObjectId?: string }) => APPROVERS.some((a) => a.aad === p.aadObjectId) } as unknown as ApprovalService,
      notifier: {
        send: async () => 'sent',
        update: async (_c: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>) => {
          updates.set(activityId, JSON.stringify(activity.attachments?.[0]?.content));
          return 'updated' as const;
        },
      },
      logger: silentLogger,
      allowSelfApproval: false,
      publicBaseUrl: () => 'http://127.0.0.1:3978',
    });

    const reads = { users: 0, incidents: 0, jobs: 0 };
    const count = <T extends object, K extends keyof T>(o: T, k: K, key: keyof typeof reads) => {
      const f = o[k] as unknown as (...a: unknown[]) => unknown;
      (o as Record<K, unknown>)[k] = (...a: unknown[]) => {
        reads[key]++;
        return f.apply(o, a);
      };
    };
    count(store.users, 'findByAadObjectId', 'users');
    count(store.users, 'get', 'users');
    count(store.incidents, 'get', 'incidents');
    count(store.jobs, 'get', 'jobs');

    await presenter.updateCopies(approval.id);

    expect([...updates.keys()].sort()).toEqual(cards.map((c) => c.activityId).sort());
    // one read of each approver, one of the incident: not one per copy or per zone
    expect(reads).toEqual({ users: APPROVERS.length, incidents: 1, jobs: 0 });
    expect(updates.get('act-requester')).toContain('CET');
    expect(updates.get('act-channel')).toContain('UTC');
    for (const a of APPROVERS) {
      const card = updates.get(`act-${a.id}`) ?? '';
      expect(card).toContain(a.zone);
      const userIds = (JSON.parse(card) as { refresh?: { userIds?: string[] } }).refresh?.userIds;
      expect(userIds).toEqual(['29:user', ...APPROVERS.map((x) => x.id)]);
    }
  });
});
