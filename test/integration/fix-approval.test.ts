import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, refusal, type User } from '../support/journey';

/**
 * The product's promise: nothing changes on a VM unless an approver approved exactly that
 * change; every change is snapshotted, verified and recorded; clicks, tampering and
 * expiry never make a change run twice or unapproved. Real HTTP, simulator through the SDK.
 */
const endUser: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000a1', name: 'Alex User', conversationId: 'a:end-user' };
const approver: User = { userId: '29:approver', aadObjectId: '00000000-0000-0000-0000-0000000000a2', name: 'Helpdesk Hana', conversationId: 'a:approver' };
const approver2: User = { userId: '29:approver-2', aadObjectId: '00000000-0000-0000-0000-0000000000a3', name: 'Helpdesk Ivan', conversationId: 'a:approver-2' };
const stranger: User = { userId: '29:stranger', aadObjectId: '00000000-0000-0000-0000-0000000000a9', name: 'Not An Approver', conversationId: 'a:stranger' };

let h: Harness;

/**
 * Each group gets its own bot and simulated fleet: what one group did to a VM never decides what
 * another group sees. The approvers have talked to the bot once, so it can reach them in their
 * personal chats.
 */
function freshBot(): void {
  beforeAll(async () => {
    h = await startHarness({ APPROVER_IDS: `${approver.aadObjectId},${approver2.aadObjectId}` });
    for (const u of [approver, approver2]) {
      const mark = h.mark();
      await h.post(activity(h, u, { type: 'message', text: 'help' }));
      await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === u.conversationId));
    }
  });
  afterAll(async () => {
    await h.close();
  });
}

const ops = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read');
/** What changed a VM, read only once no job is queued or running (fixes run later, from the queue). */
async function changesAfterDrain(vm: string) {
  await h.drained();
  return ops(vm).filter((o) => o.scriptId !== 'diagnose');
}

async function requestFix(user: User, incidentId: string, fixId: string, params: Record<string, unknown> = {}) {
  const mark = h.mark();
  const r = await h.post(activity(h, user, invoke('fix.request', { incidentId, fixId, ...params })));
  return { r, mark };
}

/** The one pending approval of an incident, from the store: the card to find must carry its id. */
async function pendingApprovalId(incidentId: string): Promise<string> {
  const pending = (await h.app.store.approvals.listByIncident(incidentId)).filter((a) => a.state === 'pending');
  expect(pending).toHaveLength(1);
  return pending[0].id;
}

/** The copy of approval `approvalId` posted in a conversation (not any approval card). */
async function approvalCardFor(conversationId: string, mark: number, approvalId: string) {
  return h.connector.waitFor((all) =>
    all.slice(mark).find((c) => {
      if (c.conversationId !== conversationId || !/approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))) return false;
      return actionData(cardOf(c), 'approval.refresh').approvalId === approvalId;
    }),
  );
}

/** Requests a fix and returns the approval's id and its copy in the first approver's chat. */
async function requested(user: User, incidentId: string, fixId: string, params: Record<string, unknown> = {}) {
  const { r, mark } = await requestFix(user, incidentId, fixId, params);
  expect(r.status).toBe(200);
  const approvalId = await pendingApprovalId(incidentId);
  return { r, mark, approvalId, approverCopy: await approvalCardFor(approver.conversationId, mark, approvalId) };
}

describe('enable-tls on vm-tlsoff-06, approved by a second person', () => {
  freshBot();
  it('runs snapshot, fix, restart and re-diagnosis, shows the finding gone, and audits every step', async () => {
    const { incidentId, findings } = await diagnoseAs(h, endUser, 'Internal error when I RDP to vm-tlsoff-06');
    expect(cardText(cardOf(findings))).toMatch(/TLS 1.2 is disabled for servers[\s\S]*\nEnable TLS 1.2 for servers \(restart\)\n\[Request…\]/);
    expect(ops('vm-tlsoff-06').map((o) => o.scriptId)).toEqual(['diagnose']);

    const { r, mark, approvalId, approverCopy } = await requested(endUser, incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
    expect(JSON.stringify(r.body)).toMatch(/sent your request to the helpdesk approvers/);
    const requesterCopy = await approvalCardFor(endUser.conversationId, mark, approvalId);
    expect(cardText(cardOf(requesterCopy))).not.toMatch(/\[Approve\]/);
    expect(JSON.stringify(cardOf(requesterCopy))).toMatch(/"url":"http:\/\/localhost:\d+\/scripts\/[0-9a-f]{64}"/);
    // the approver's copy is the base card too: the buttons come through refresh, for the approver only
    expect(cardText(cardOf(approverCopy))).toMatch(/Fix request: Enable TLS 1.2/);
    expect(cardText(cardOf(approverCopy))).not.toMatch(/\[Approve\]|\[Reject\]/);
    expect(await changesAfterDrain('vm-tlsoff-06')).toEqual([]); // nothing ran before approval

    // the requester's own refresh shows the status view; the approver's shows the buttons
    const requesterView = await h.post(activity(h, endUser, invoke('approval.refresh', { approvalId })));
    expect(cardText((requesterView.body as { value: unknown }).value)).not.toMatch(/\[Approve\]/);
    const approverView = await h.post(activity(h, approver, invoke('approval.refresh', { approvalId })));
    expect(cardText((approverView.body as { value: unknown }).value)).toMatch(/\[Approve\]/);

    const m2 = h.mark();
    const approve = await h.post(activity(h, approver, invoke('approval.approve', { approvalId }, approverCopy.activityId)));
    expect(approve.status).toBe(200);
    // the requester hears about the decision, then the result
    await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === endUser.conversationId && /was approved by Helpdesk Hana/.test(c.activity.text ?? '')));
    await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === endUser.conversationId && /has finished: the problem is gone/.test(c.activity.text ?? '')), 30000);
    const verified = await h.connector.waitFor((all) =>
      all.slice(m2).reverse().find((c) => c.kind === 'update' && c.activityId === requesterCopy.activityId && /Verified/.test(cardText(cardOf(c)))),
    );
    expect(cardText(cardOf(verified))).toMatch(/Verified: the problem is gone[\s\S]*TLS 1.2 is disabled for servers: fixed/);
    expect(cardText(cardOf(verified))).toMatch(/OS disk snapshot taken before the change/);

    expect(ops('vm-tlsoff-06').map((o) => `${o.kind}:${o.scriptId ?? ''}`)).toEqual([
      'runCommand:diagnose',
      'snapshot:',
      'runCommand:fix-enable-tls',
      'restart:',
      'runCommand:diagnose',
    ]);
    const incident = await h.app.store.incidents.get(incidentId);
    expect(incident?.state).toBe('resolved');
    expect(incident?.diagnosis?.findings.map((f) => f.id)).toEqual([]);
    const audit = (await h.app.store.audit.list({ incidentId })).map((a) => a.action);
    expect(audit).toEqual([
      'incident.opened',
      'diagnosis.started',
      'diagnosis.completed',
      'approval.requested',
      'approval.approved',
      'job.started',
      'job.step.snapshot',
      'job.step.fix',
      'job.step.restart',
      'job.step.verify',
      'job.succeeded',
    ]);
    const approved = (await h.app.store.audit.list({ incidentId })).find((a) => a.action === 'approval.approved');
    expect(approved).toMatchObject({ actor: approver.aadObjectId, details: { fixId: 'enable-tls', params: { tls10: 'false', tls11: 'false' } } });
  });
});

describe('times on the approval card', () => {
  freshBot();
  it('each copy shows the expiry in the zone of whoever reads it: the requester\'s, the approver\'s, the clicker\'s', async () => {
    const moscow: User = { ...endUser, userId: '29:end-user-msk', conversationId: 'a:end-user-msk', locale: 'ru-RU', localTimezone: 'Europe/Moscow' };
    // the approver's client says New York: the bot remembers it with the way to reach them
    await h.post(activity(h, { ...approver, localTimezone: 'America/New_York' }, { type: 'message', text: 'help' }));
    const { incidentId } = await diagnoseAs(h, moscow, 'внутренняя ошибка на vm-certexpired-04');
    const { mark, approvalId } = await requested(moscow, incidentId, 'renew-rdp-cert');
    const mine = cardText(cardOf(await approvalCardFor(moscow.conversationId, mark, approvalId)));
    const theirs = cardText(cardOf(await approvalCardFor(approver.conversationId, mark, approvalId)));
    const approver2s = cardText(cardOf(await approvalCardFor(approver2.conversationId, mark, approvalId)));
    for (const text of [mine, theirs, approver2s]) expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    expect(mine).toMatch(/\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} GMT\+3/);
    expect(theirs).toMatch(/\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} GMT-5/);
    expect(approver2s).toMatch(/\d{2}\.\d{2}\.\d{4} \d{2}:\d{2} UTC/); // a zone we were never told
    const view = await h.post(activity(h, { ...approver, localTimezone: 'Asia/Tokyo' }, invoke('approval.refresh', { approvalId })));
    expect(cardText((view.body as { value: unknown }).value)).toMatch(/\d{1,2} \w{3} \d{4}, \d{2}:\d{2} GMT\+9/);
    expect((await h.app.store.approvals.get(approvalId))?.tz).toBe('Europe/Moscow');
    await h.post(activity(h, approver, invoke('approval.reject', { approvalId })));
  });
});

describe('decisions are taken once and only by the right person', () => {
  freshBot();
  let incidentId: string;
  let approvalId: string;
  beforeAll(async () => {
    ({ incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-certexpired-04'));
    ({ approvalId } = await requested(endUser, incidentId, 'renew-rdp-cert'));
  });

  it('a non-approver\'s Approve runs nothing (judged by the operation log once the queue drained)', async () => {
    await h.post(activity(h, stranger, invoke('approval.approve', { approvalId })));
    expect(await changesAfterDrain('vm-certexpired-04')).toEqual([]);
    expect(await h.app.store.jobs.listByState(['queued', 'running', 'succeeded', 'failed'])).toEqual([]);
  });

  it('refuses a non-approver, records it, and runs nothing', async () => {
    const r = await h.post(activity(h, stranger, invoke('approval.approve', { approvalId })));
    expect(refusal(r)).toMatch(/only configured helpdesk approvers can decide/);
    expect((await h.app.store.audit.list({ incidentId })).filter((a) => a.action === 'approval.refused')).toMatchObject([
      { actor: stranger.aadObjectId, details: { reason: 'not-approver' } },
      { actor: stranger.aadObjectId, details: { reason: 'not-approver' } },
    ]);
    expect(await changesAfterDrain('vm-certexpired-04')).toEqual([]);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('pending');
  });

  it('refuses a tampered approval id', async () => {
    const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId: '11111111-2222-4333-8444-555555555555' })));
    expect(refusal(r)).toMatch(/this approval does not exist/);
    const bad = await h.post(activity(h, approver, invoke('approval.approve', { approvalId: `${approvalId}' OR 1=1` })));
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
  });

  it('50 concurrent Approve clicks from two approvers run the fix exactly once', async () => {
    const clicks = await Promise.all(
      Array.from({ length: 50 }, (_, i) => h.post(activity(h, i % 2 ? approver : approver2, invoke('approval.approve', { approvalId })))),
    );
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    const job = await h.connector.waitFor(async () => {
      const a = await h.app.store.approvals.get(approvalId);
      const j = a?.jobId ? await h.app.store.jobs.get(a.jobId) : null;
      return j && j.state !== 'queued' && j.state !== 'running' ? j : undefined;
    }, 30000);
    expect(job.state).toBe('succeeded');
    expect(ops('vm-certexpired-04').filter((o) => o.scriptId === 'fix-renew-rdp-cert')).toHaveLength(1);
    const decisions = (await h.app.store.audit.list({ incidentId })).filter((a) => a.action === 'approval.approved');
    expect(decisions).toHaveLength(1);
    expect(await h.app.store.jobs.listByState(['queued', 'running'])).toEqual([]);
  });
});

describe('expired and self approvals', () => {
  freshBot();
  it('an expired approval is refused, recorded and runs nothing', async () => {
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-machinekeys-05');
    const { approvalId } = await requested(endUser, incidentId, 'reset-machinekeys-acl', { scope: 'rdpkey' });
    const store = h.app.store as unknown as { db: { prepare(sql: string): { run(...a: unknown[]): unknown } } };
    const a = (await h.app.store.approvals.get(approvalId))!;
    store.db.prepare('UPDATE approvals SET doc = ? WHERE id = ?').run(JSON.stringify({ ...a, expiresAt: new Date(Date.now() - 1000).toISOString() }), approvalId);

    const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    expect(refusal(r)).toMatch(/expired before it was approved/);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('expired');
    const actions = (await h.app.store.audit.list({ incidentId })).map((x) => x.action);
    expect(actions).toEqual(expect.arrayContaining(['approval.refused', 'approval.expired']));
    expect(await changesAfterDrain('vm-machinekeys-05')).toEqual([]);
    // a later click sees the expired card, not an error, and still runs nothing
    const again = await h.post(activity(h, approver2, invoke('approval.approve', { approvalId })));
    expect(cardText((again.body as { value: unknown }).value)).toMatch(/expired before anyone approved it/);
    expect(await changesAfterDrain('vm-machinekeys-05')).toEqual([]);
  });

  it('an approver cannot approve their own request', async () => {
    const { incidentId } = await diagnoseAs(h, approver2, 'internal error on vm-portclash-03');
    const { mark, approvalId } = await requested(approver2, incidentId, 'free-rdp-port', { service: 'TomcatAgent', disable: 'false' });
    const ownCopy = await approvalCardFor(approver2.conversationId, mark, approvalId);
    expect(cardText(cardOf(ownCopy))).not.toMatch(/\[Approve\]/);
    const ownView = await h.post(activity(h, approver2, invoke('approval.refresh', { approvalId })));
    expect(cardText((ownView.body as { value: unknown }).value)).not.toMatch(/\[Approve\]/);
    const r = await h.post(activity(h, approver2, invoke('approval.approve', { approvalId })));
    expect(refusal(r)).toMatch(/cannot approve your own request/);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('pending');
    expect((await h.app.store.audit.list({ incidentId })).filter((x) => x.action === 'approval.refused')).toMatchObject([{ details: { reason: 'self-approval' } }]);
    expect(await changesAfterDrain('vm-portclash-03')).toEqual([]);
  });
});

describe('fix requests are validated before anyone is asked', () => {
  freshBot();
  let incidentId: string;
  beforeAll(async () => {
    ({ incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-exposed-02'));
  });

  it.each([
    ['everything', { source: '0.0.0.0/0' }, /too wide|wide|0\.0\.0\.0/],
    ['not an address', { source: '10.0.0.1; rm -rf /' }, /not a valid|IPv4|address/i],
    ['host bits set', { source: '203.0.113.7/24' }, /203\.0\.113\.0\/24/],
  ])('refuses a source that is %s', async (_n, params, message) => {
    const { r } = await requestFix(endUser, incidentId, 'restrict-rdp-source', params);
    expect(refusal(r)).toMatch(message);
    expect(await h.app.store.approvals.listByIncident(incidentId)).toEqual([]);
  });

  it('refuses a fix the diagnosis does not call for, and a stranger\'s request', async () => {
    expect(refusal((await requestFix(endUser, incidentId, 'enable-tls')).r)).toMatch(/does not address what the diagnosis found/);
    expect(refusal((await requestFix(stranger, incidentId, 'restrict-rdp-source', { source: '203.0.113.0/24' })).r)).toMatch(/or a helpdesk approver can request a fix/);
    expect(await h.app.store.approvals.listByIncident(incidentId)).toEqual([]);
  });

  it('restricts the NSG source once approved, and the exposure is gone', async () => {
    const { approvalId } = await requested(endUser, incidentId, 'restrict-rdp-source', { source: '203.0.113.0/24' });
    await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    const job = await h.connector.waitFor(async () => {
      const a = await h.app.store.approvals.get(approvalId);
      const j = a?.jobId ? await h.app.store.jobs.get(a.jobId) : null;
      return j && (j.state === 'succeeded' || j.state === 'failed') ? j : undefined;
    }, 30000);
    expect(job.state).toBe('succeeded');
    expect(job.result?.gone).toContain('rdp-exposed-to-internet');
    expect(ops('vm-exposed-02').map((o) => o.kind)).toEqual(['runCommand', 'snapshot', 'nsgRuleWrite', 'runCommand']);
  });
});

describe('helpdesk commands', () => {
  freshBot();
  it('status, approvals and history answer in both languages', async () => {
    // this group's own record of vm-tlsoff-06: a diagnosis and a request an approver rejected
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-tlsoff-06');
    const { approvalId } = await requested(endUser, incidentId, 'enable-tls');
    expect((await h.post(activity(h, approver, invoke('approval.reject', { approvalId })))).status).toBe(200);

    let mark = h.mark();
    await h.post(activity(h, approver, { type: 'message', text: 'status' }));
    const status = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'send' && c.conversationId === approver.conversationId && /incidents/.test(cardText(cardOf(c)))));
    expect(cardText(cardOf(status))).toMatch(/Open incidents[\s\S]*vm-tlsoff-06/);
    expect(cardText(cardOf(status))).not.toMatch(/No open incidents/);

    mark = h.mark();
    await h.post(activity(h, { ...approver, locale: 'ru-RU' }, { type: 'message', text: 'история vm-tlsoff-06' }));
    const history = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'send' && c.conversationId === approver.conversationId && /История/.test(cardText(cardOf(c)))));
    expect(cardText(cardOf(history))).toMatch(/История vm-tlsoff-06, сначала новые[\s\S]*approval\.rejected[\s\S]*approval\.requested[\s\S]*diagnosis\.completed/);

    mark = h.mark();
    await h.post(activity(h, endUser, { type: 'message', text: 'approvals' }));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /Only configured approvers/.test(c.activity.text ?? '')));
  });

  it('"approvals here" in a channel makes it the approvals channel, for approvers only', async () => {
    const channel = (u: User) => ({ ...activity(h, u, { type: 'message', text: 'approvals here' }), conversation: { id: '19:helpdesk@thread.tacv2;messageid=42', conversationType: 'channel' } });
    let mark = h.mark();
    await h.post(channel(stranger));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /Only a configured approver/.test(c.activity.text ?? '')));
    mark = h.mark();
    await h.post(channel(approver));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /will be posted in this channel/.test(c.activity.text ?? '')));
    expect(await h.app.store.settings.get('approvalsChannel')).toMatchObject({ conversation: { id: '19:helpdesk@thread.tacv2' } });

    // the next request reaches the channel too
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-stopped-07');
    const { mark: m2, approvalId } = await requested(endUser, incidentId, 'start-vm');
    await approvalCardFor('19:helpdesk@thread.tacv2', m2, approvalId);
  });
});

describe('languages', () => {
  freshBot();
  it('an approver with a Russian client sees the approval card in Russian, whatever the requester\'s language', async () => {
    const { incidentId } = await diagnoseAs(h, { ...endUser, conversationId: 'a:lang-en' }, 'internal error on vm-machinekeys-05');
    const { approvalId } = await requested({ ...endUser, conversationId: 'a:lang-en' }, incidentId, 'reset-machinekeys-acl', { scope: 'rdpkey' });
    const ru = await h.post(activity(h, { ...approver, locale: 'ru-RU' }, invoke('approval.refresh', { approvalId })));
    expect(cardText((ru.body as { value: unknown }).value)).toMatch(/Запрос на исправление[\s\S]*\[Одобрить\][\s\S]*\[Отклонить\]/);
    const en = await h.post(activity(h, approver, invoke('approval.refresh', { approvalId })));
    expect(cardText((en.body as { value: unknown }).value)).toMatch(/Fix request[\s\S]*\[Approve\]/);
  });
});
