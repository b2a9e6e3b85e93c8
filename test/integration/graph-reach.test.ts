import { DEMO_TEAMS_APP_ID } from '../../bot/graph-reach';
import { startHarness, type Harness } from '../support/bot-harness';
import { type Captured } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';
import { until } from '../support/quiescence';

/**
 * Issue #17: a newly configured approver who never wrote to the bot still gets the approval card.
 * Demo mode: the simulator's Graph installs the app for the approver and names the personal chat;
 * the card goes there through the fake connector. Teams' conversationUpdate for that chat comes
 * too, and the card is still there once. When Graph fails or is off, the requester hears it.
 */
const endUser: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000a1', name: 'Alex User', conversationId: 'a:end-user' };
const newcomer: User = { userId: '29:newcomer', aadObjectId: '00000000-0000-4000-8000-0000000000c1', name: 'Nina Newcomer', conversationId: 'a:newcomer' };

/** liveness bound of each test (a diagnosis under pwsh on a loaded machine takes a while); never a timing assertion */
const BOUND_MS = 300_000;

const isApprovalCard = (c: Captured, approvalId: string) =>
  c.kind === 'send' && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? '')) && actionData(cardOf(c), 'approval.refresh').approvalId === approvalId;

async function requestTlsFix(h: Harness): Promise<{ approvalId: string; answer: string; mark: number }> {
  const { incidentId } = await diagnoseAs(h, endUser, 'Internal error when I RDP to vm-tlsoff-06', 90_000);
  const mark = h.mark();
  const r = await h.post(activity(h, endUser, invoke('fix.request', { incidentId, fixId: 'enable-tls', tls10: 'false', tls11: 'false' })));
  expect(r.status).toBe(200);
  const pending = (await h.app.store.approvals.listByIncident(incidentId)).filter((a) => a.state === 'pending');
  expect(pending).toHaveLength(1);
  return { approvalId: pending[0].id, answer: JSON.stringify(r.body), mark };
}

/** What the requester was told in their chat (plain messages) since `mark`. */
const toldRequester = (h: Harness, mark: number) =>
  h.since(mark).filter((c) => c.conversationId === endUser.conversationId && c.kind === 'send' && typeof c.activity.text === 'string').map((c) => c.activity.text as string);

/**
 * The bot of one describe block, with the newcomer as its only approver: started, and its start-up
 * Graph install for the newcomer done (awaited with the simulator's Graph), before the block's tests;
 * closed after them.
 */
function newcomerApproverBot(): { h: Harness } {
  const bot = {} as { h: Harness };
  beforeAll(async () => {
    bot.h = await startHarness({ APPROVER_IDS: newcomer.aadObjectId });
    await bot.h.drained();
  }, BOUND_MS);
  afterAll(async () => {
    await bot.h.close();
  });
  return bot;
}

describe('an approver who never wrote to the bot', () => {
  const bot = newcomerApproverBot();

  test('gets the approval card in the chat Graph opened, exactly once even when the install conversationUpdate also arrives; their approval runs the fix once', async () => {
    const h = bot.h;
    const sim = h.app.azure.simulator!;
    const graphInstalls = () => sim.operations().filter((o) => o.kind === 'graphInstall');
    expect(graphInstalls().map((o) => o.path)).toEqual([`/v1.0/users/${newcomer.aadObjectId}/teamwork/installedApps`]);
    const chatId = sim.graph.chatOf(newcomer.aadObjectId, DEMO_TEAMS_APP_ID);
    expect(chatId).toMatch(/^19:/);

    const { approvalId, answer, mark } = await requestTlsFix(h);
    expect(answer).toMatch(/sent your request to the helpdesk approvers/);
    const card = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === chatId && isApprovalCard(c, approvalId)));
    expect(card).toBeDefined();
    await until(() => toldRequester(h, mark).some((t) => /can now see your request/.test(t)), 'the requester told the approver has it');
    expect(toldRequester(h, mark).join('\n')).toMatch(/has not opened RDP Doctor in Teams[\s\S]*can now see your request/);

    // Teams reports the installation in the approver's personal chat (its Bot Framework id differs from Graph's chat id)
    const m2 = h.mark();
    const r = await h.post(activity(h, newcomer, { type: 'conversationUpdate', membersAdded: [{ id: '28:rdp-doctor' }] }));
    expect(r.status).toBeLessThan(300);
    await h.drained();
    await until(async () => (await h.app.store.users.findByAadObjectId(newcomer.aadObjectId))?.personal, 'the personal chat recorded');
    // the welcome card arrives in the new chat (the bot greets on install): the turn is over when it did
    await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === newcomer.conversationId));
    await h.drained();
    const copies = h.connector.captured.filter((c) => (c.conversationId === chatId || c.conversationId === newcomer.conversationId) && isApprovalCard(c, approvalId));
    expect(copies).toHaveLength(1);
    expect(graphInstalls()).toHaveLength(1);
    // their Teams id is known now: the copy in the Graph chat names them for their own view (refresh.userIds)
    const latest = h.connector.captured.filter((c) => c.conversationId === chatId && c.activityId === card.activityId).pop()!;
    expect((cardOf(latest) as { refresh?: { userIds?: string[] } }).refresh?.userIds).toContain(newcomer.userId);

    // the newcomer is a real approver: their approval runs the fix, once
    const decided = await h.post(activity(h, newcomer, invoke('approval.approve', { approvalId }, card.activityId)));
    expect(decided.status).toBe(200);
    await until(async () => (await h.app.store.approvals.get(approvalId))?.state === 'approved', 'the approval decided');
    await h.drained();
    const fixes = sim.operations().filter((o) => o.vm === 'vm-tlsoff-06' && o.kind === 'runCommand' && o.scriptId === 'fix-enable-tls');
    expect(fixes).toHaveLength(1);
  }, BOUND_MS);
});

describe('an approver Graph cannot reach', () => {
  const bot = newcomerApproverBot();

  test('Graph refuses (403): the requester hears the approver is not reachable yet, and why; no card is posted for them', async () => {
    const h = bot.h;
    const sim = h.app.azure.simulator!;
    sim.graph.fail({ status: 403 });
    const { approvalId, mark } = await requestTlsFix(h);
    await until(() => toldRequester(h, mark).some((t) => /could not reach/.test(t)), 'the requester told');
    const told = toldRequester(h, mark).join('\n');
    expect(told).toMatch(/has not opened RDP Doctor in Teams/);
    expect(told).toMatch(/could not reach .*TeamsAppInstallation\.ReadWriteSelfForUser\.All.*Ask them to open RDP Doctor in Teams/);
    await h.drained();
    expect(h.connector.captured.filter((c) => c.conversationId !== endUser.conversationId && isApprovalCard(c, approvalId))).toHaveLength(0);
  }, BOUND_MS);
});

describe('an approvals channel already has the request', () => {
  const lead: User = { userId: '29:lead', aadObjectId: '00000000-0000-4000-8000-0000000000c2', name: 'Lena Lead', conversationId: 'a:lead' };
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ APPROVER_IDS: `${lead.aadObjectId},${newcomer.aadObjectId}` });
    const mark = h.mark();
    await h.post({ ...activity(h, lead, { type: 'message', text: 'approvals here' }), conversation: { id: '19:helpdesk@thread.tacv2;messageid=7', conversationType: 'channel', tenantId: 'tenant-1' } });
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /will be posted in this channel/.test(c.activity.text ?? '')));
    await h.drained();
  }, BOUND_MS);
  afterAll(async () => {
    await h.close();
  });

  test('the newcomer still gets the card in the chat Graph opened, and the requester is not told anyone is missing', async () => {
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-stopped-07', 90_000);
    const mark = h.mark();
    await h.post(activity(h, endUser, invoke('fix.request', { incidentId, fixId: 'start-vm' })));
    const [pending] = (await h.app.store.approvals.listByIncident(incidentId)).filter((a) => a.state === 'pending');
    const chatId = h.app.azure.simulator!.graph.chatOf(newcomer.aadObjectId, DEMO_TEAMS_APP_ID)!;
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === '19:helpdesk@thread.tacv2' && isApprovalCard(c, pending.id)));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === chatId && isApprovalCard(c, pending.id)));
    await h.drained();
    expect(toldRequester(h, mark).join('\n')).not.toMatch(/RDP Doctor in Teams/);
  }, BOUND_MS);
});

describe('no Graph configured', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ APPROVER_IDS: newcomer.aadObjectId, GRAPH_REACH: 'off' });
  }, BOUND_MS);
  afterAll(async () => {
    await h.close();
  });

  test('the requester is told that the approver must open RDP Doctor once; Graph is never called', async () => {
    const { answer, mark } = await requestTlsFix(h);
    expect(answer).toMatch(/No approver can receive requests yet/);
    await until(() => toldRequester(h, mark).some((t) => /cannot get your request/.test(t)), 'the requester told');
    expect(h.app.azure.simulator!.graph.requests).toEqual([]);
  }, BOUND_MS);
});

describe('the chat Graph opened refuses the card', () => {
  const bot = newcomerApproverBot();

  test('(403: the bot is not in that chat) the requester is told the approver was not reached, never that they can see it', async () => {
    const h = bot.h;
    const chatId = h.app.azure.simulator!.graph.chatOf(newcomer.aadObjectId, DEMO_TEAMS_APP_ID)!;
    h.connector.refusals.set(chatId, { status: 403, code: 'BotNotInConversationRoster' });
    const { approvalId, mark } = await requestTlsFix(h);
    await until(() => toldRequester(h, mark).some((t) => /could not reach|can now see your request/.test(t)), 'the requester told');
    await h.drained();
    const told = toldRequester(h, mark).join('\n');
    expect(told).not.toMatch(/can now see your request/);
    expect(told).toMatch(/could not reach \S+ for your request[\s\S]*Teams refused/);
    expect(h.connector.captured.filter((c) => c.conversationId === chatId && isApprovalCard(c, approvalId))).toHaveLength(0);
    expect((await h.app.store.approvals.get(approvalId))?.cards.filter((c) => c.audience === 'approvers')).toEqual([]);
  }, BOUND_MS);
});
