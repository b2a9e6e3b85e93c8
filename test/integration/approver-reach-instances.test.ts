import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConversationReference } from 'botbuilder';
import { ApproverReach } from '../../dialogs/approver-reach';
import type { FixPresenter } from '../../dialogs/fix-presenter';
import type { Notifier } from '../../dialogs/notifier';
import type { ApprovalService } from '../../services/incidents/approvals';
import type { JobRunner } from '../../services/incidents/jobs';
import type { Approval } from '../../services/incidents/model';
import { silentLogger } from '../../services/log';
import { AzureStore } from '../../services/store/azure/store';
import { SqliteStore } from '../../services/store/sqlite';
import type { AppStore } from '../../services/store/store';
import { startAzurite, type Azurite } from '../support/azurite';

/**
 * Graph reach's exactly-once across instances (docs/graph.md): two bot instances on one store
 * reach the same approver at the same moment; the stored mark is a conditional write, so only
 * one of them posts each pending card, whatever each process's own lock does.
 */
const APPROVER = '00000000-0000-4000-8000-0000000000c1';

let azurite: Azurite | undefined;
const opened: AppStore[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
  await azurite?.stop();
});

const backends: { name: string; openPair(): Promise<[AppStore, AppStore]> }[] = [
  {
    name: 'sqlite',
    async openPair() {
      const dir = mkdtempSync(join(tmpdir(), 'rdp-reach-'));
      const pair: [AppStore, AppStore] = [SqliteStore.open(dir), SqliteStore.open(dir)];
      opened.push(...pair);
      return pair;
    },
  },
  {
    name: 'azure (Azurite)',
    async openPair() {
      if (!azurite) azurite = await startAzurite();
      const prefix = `r${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const target = { connectionString: azurite.connectionString };
      const pair: [AppStore, AppStore] = [
        await AzureStore.open({ target, prefix, instanceId: 'instance-a' }),
        await AzureStore.open({ target, prefix, instanceId: 'instance-b' }),
      ];
      opened.push(...pair);
      return pair;
    },
  },
];

function pendingApproval(id: string): Approval {
  const now = new Date().toISOString();
  return {
    id, incidentId: `incident-${id}`, vmId: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-one', vmName: 'vm-one',
    fixId: 'enable-tls', params: {}, paramsHash: 'h', requester: { id: '29:requester', aadObjectId: '00000000-0000-0000-0000-0000000000a1' },
    lang: 'en', state: 'pending', createdAt: now, expiresAt: now, cards: [],
  };
}

/** One bot instance's ApproverReach over `store`; every card it posts is recorded in `posts`. */
function instance(store: AppStore, pending: Approval[], posts: { approvalId: string; chat?: string }[]): ApproverReach {
  const approvals = { approverIds: () => [APPROVER], listPending: async () => pending, get: async (id: string) => pending.find((a) => a.id === id) } as unknown as ApprovalService;
  const presenter = {
    deliverTo: async (approval: Approval, address: Partial<ConversationReference>) => {
      posts.push({ approvalId: approval.id, chat: address.conversation?.id });
      return 'activity-1';
    },
  } as unknown as FixPresenter;
  const jobs = { run: () => undefined } as unknown as JobRunner;
  return new ApproverReach({
    store, approvals, presenter, jobs, notifier: {} as Notifier, logger: silentLogger, botId: '28:rdp-doctor',
    tenantId: 'tenant-1', serviceUrl: 'https://smba.example/teams/',
    graph: { ensurePersonalChat: async () => ({ chatId: '19:approver_bot@unq.gbl.spaces', installed: false }) },
  });
}

describe.each(backends)('two instances reach one approver: $name', (backend) => {
  test('each pending card is posted once in all, whichever instance claims it first', async () => {
    const [a, b] = await backend.openPair();
    const pending = [pendingApproval('approval-1'), pendingApproval('approval-2')];
    const posts: { approvalId: string; chat?: string }[] = [];
    const outcomes = await Promise.all([instance(a, pending, posts).reach(APPROVER), instance(b, pending, posts).reach(APPROVER)]);
    expect(outcomes).toEqual([{ ok: true }, { ok: true }]);
    expect(posts.map((p) => p.approvalId).sort()).toEqual(['approval-1', 'approval-2']);
    // reached again later (the install's conversationUpdate on either instance): nothing more
    await instance(b, pending, posts).reach(APPROVER);
    expect(posts).toHaveLength(2);
  }, 60_000);
});
