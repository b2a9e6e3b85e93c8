import { CARD_BUDGET_BYTES, utf16Bytes } from '../../cards/diagnosis';
import { historyCard } from '../../dialogs/history';
import { translator } from '../../services/i18n';
import { startHarness, type Harness } from '../support/bot-harness';
import { cardText, type Captured } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';

/**
 * Issue #13, items 6, 7, 10, 11 and 14 (parts): an incident's life as its reporter recognises it
 * (healthy -> closed, a newer diagnosis supersedes, pending approval, fixed and verified ->
 * resolved) and the `status` listing of what is open; the old findings card after a fix; the
 * approval card's evidence and the reason of a rejection; the one-person demo (an approver who
 * may approve their own request); `history` with names and whole entries. What ran on a VM is
 * read from the simulator's operation log.
 */
const endUser: User = { userId: '29:life-user', aadObjectId: '00000000-0000-0000-0000-0000000000d1', name: 'Alex User', conversationId: 'a:life-user' };
const hana: User = { userId: '29:life-hana', aadObjectId: '00000000-0000-0000-0000-0000000000d2', name: 'Helpdesk Hana', conversationId: 'a:life-hana' };
const solo: User = { userId: '29:life-solo', aadObjectId: '00000000-0000-4000-8000-0000000000a0', name: 'Alex Wilber', conversationId: 'a:life-solo' };

// several diagnoses per test on a shared 2-core machine (real scripts under pwsh when installed)
jest.setTimeout(180_000);

let h: Harness;
/** a diagnosis on a shared 2-core machine, the real scripts under pwsh included, may take a while */
const SLOW = 60000;
beforeAll(async () => {
  h = await startHarness({ APPROVER_IDS: `${hana.aadObjectId},${solo.aadObjectId}`, ALLOW_SELF_APPROVAL: 'true' });
  const mark = h.mark();
  await h.post(activity(h, hana, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === hana.conversationId));
});
afterAll(async () => {
  await h.close();
});

const fixOps = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read' && o.scriptId !== 'diagnose');
const bodyCard = (r: { body: unknown }) => (r.body as { value: unknown }).value;
const bodyText = (r: { body: unknown }) => JSON.stringify(r.body);

async function say(u: User, text: string): Promise<Captured[]> {
  const mark = h.mark();
  await h.post(activity(h, u, { type: 'message', text }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === u.conversationId));
  return h.since(mark).filter((c) => c.conversationId === u.conversationId);
}
/** The `status` answer (other cards, such as approval copies being updated, may land meanwhile). */
async function statusOf(u: User): Promise<string> {
  const mark = h.mark();
  await h.post(activity(h, u, { type: 'message', text: 'status' }));
  const isStatus = (c: Captured) => c.conversationId === u.conversationId && c.kind !== 'update' && /incidents|обращени/i.test(cardText(cardOf(c) ?? ''));
  return cardText(cardOf(await h.connector.waitFor((all) => all.slice(mark).find(isStatus))));
}

async function requestFix(u: User, incidentId: string, fixId: string, params: Record<string, unknown> = {}) {
  const mark = h.mark();
  const r = await h.post(activity(h, u, invoke('fix.request', { incidentId, fixId, ...params })));
  return { r, mark };
}
const approvalIdOf = async (conversationId: string, mark: number) =>
  actionData(
    cardOf(await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))))),
    'approval.refresh',
  ).approvalId;
async function finishedJob(approvalId: string) {
  return h.connector.waitFor(async () => {
    const a = await h.app.store.approvals.get(approvalId);
    const j = a?.jobId ? await h.app.store.jobs.get(a.jobId) : null;
    return j && j.state !== 'queued' && j.state !== 'running' ? j : undefined;
  }, 60000);
}

describe('the incident lifecycle and status (item 10), an old findings card (item 7), reject with a reason (item 14)', () => {
  let first: { incidentId: string; findings: Captured };
  let second: { incidentId: string; findings: Captured };

  it('a healthy VM closes; status lists only what is open', async () => {
    const healthy = await diagnoseAs(h, endUser, 'internal error on vm-healthy-01', SLOW);
    expect(await h.app.store.incidents.get(healthy.incidentId)).toMatchObject({ state: 'closed', closedReason: 'healthy' });
    expect(await statusOf(endUser)).toMatch(/No open incidents/);
  });

  it('a new diagnosis of the same VM by the same person supersedes the old one', async () => {
    first = await diagnoseAs(h, endUser, 'internal error on vm-tlsoff-06', SLOW);
    second = await diagnoseAs(h, endUser, 'internal error on vm-tlsoff-06', SLOW);
    expect(await h.app.store.incidents.get(first.incidentId)).toMatchObject({ state: 'closed', closedReason: 'superseded', supersededBy: second.incidentId });
    expect((await h.app.store.audit.list({ incidentId: first.incidentId })).map((a) => a.action)).toContain('incident.superseded');
    const status = await statusOf(endUser);
    expect(status.match(/vm-tlsoff-06/g)).toHaveLength(1);
    expect(status).toMatch(/Open incidents \(1\)[\s\S]*vm-tlsoff-06\*\*: Diagnosed \(reported by Alex User/);
    // the superseded card's fix request says so, and offers a fresh diagnosis
    const old = await h.post(activity(h, endUser, invoke('fix.request', { incidentId: first.incidentId, fixId: 'enable-tls', tls10: 'false', tls11: 'false' })));
    expect(cardText(bodyCard(old))).toMatch(/This card is out of date[\s\S]*A newer diagnosis of vm-tlsoff-06 has replaced this one[\s\S]*\[Diagnose again\]/);
  });

  it('a pending request shows as such; a rejection with a reason reaches the requester, the card and the audit; nothing runs', async () => {
    const { r, mark } = await requestFix(endUser, second.incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
    expect(bodyText(r)).toMatch(/sent your request to the helpdesk approvers/);
    const approvalId = await approvalIdOf(hana.conversationId, mark);
    expect(await statusOf(endUser)).toMatch(/vm-tlsoff-06\*\*: Waiting for approval of a fix/);

    // the approver's view: the evidence behind the fix, and a box for the reason of a rejection
    const view = bodyCard(await h.post(activity(h, hana, invoke('approval.refresh', { approvalId }))));
    expect(cardText(view)).toMatch(/Why: what the diagnosis found[\s\S]*TLS 1\.2 is disabled for servers/);
    expect(JSON.stringify(view)).toMatch(/"type":"Input.Text","id":"reason"/);
    const own = bodyCard(await h.post(activity(h, endUser, invoke('approval.refresh', { approvalId }))));
    expect(JSON.stringify(own)).not.toMatch(/"id":"reason"/);

    const m2 = h.mark();
    const rejected = await h.post(activity(h, hana, invoke('approval.reject', { approvalId, reason: 'Change window is on Friday\n' })));
    expect(cardText(bodyCard(rejected))).toMatch(/Rejected by Helpdesk Hana: Change window is on Friday\. Nothing was changed/);
    const told = await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === endUser.conversationId && /rejected/.test(c.activity.text ?? '')));
    expect(told.activity.text).toBe('Your request "Enable TLS 1.2 for servers (restart)" on vm-tlsoff-06 was rejected by Helpdesk Hana. Reason: Change window is on Friday');
    const audit = (await h.app.store.audit.list({ incidentId: second.incidentId })).find((a) => a.action === 'approval.rejected');
    expect(audit).toMatchObject({ actor: hana.aadObjectId, details: { approvalId, reason: 'Change window is on Friday' } });
    expect(fixOps('vm-tlsoff-06')).toEqual([]);
    expect(await statusOf(endUser)).toMatch(/vm-tlsoff-06\*\*: Diagnosed/);
  });

  it('fixed and verified -> resolved, no longer listed; the old findings card is out of date and "Diagnose again" diagnoses afresh', async () => {
    const { mark } = await requestFix(endUser, second.incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
    const approvalId = await approvalIdOf(hana.conversationId, mark);
    await h.post(activity(h, hana, invoke('approval.approve', { approvalId })));
    expect((await finishedJob(approvalId)).state).toBe('succeeded');
    expect(await h.app.jobs.drain(30000)).toBe(true);
    expect(fixOps('vm-tlsoff-06').map((o) => `${o.kind}:${o.scriptId ?? ''}`)).toEqual(['snapshot:', 'runCommand:fix-enable-tls', 'restart:']);
    expect((await h.app.store.incidents.get(second.incidentId))?.state).toBe('resolved');
    expect(await statusOf(endUser)).toMatch(/No open incidents/);

    const old = await h.post(activity(h, endUser, invoke('fix.request', { incidentId: second.incidentId, fixId: 'enable-tls', tls10: 'false', tls11: 'false' }, second.findings.activityId)));
    const card = bodyCard(old);
    expect(cardText(card)).toMatch(/This card is out of date[\s\S]*vm-tlsoff-06 was fixed and the fix was verified/);
    expect(cardText(card)).not.toMatch(/not valid|now: resolved/);
    const again = actionData(card, 'diagnose.start');
    const m2 = h.mark();
    const r = await h.post(activity(h, endUser, invoke('diagnose.start', again, second.findings.activityId)));
    expect(r.status).toBe(200);
    const fresh = await h.connector.waitFor((all) => all.slice(m2).find((c) => c.kind === 'update' && c.activityId === second.findings.activityId && /Diagnosis of/.test(cardText(cardOf(c)))));
    expect(cardText(cardOf(fresh))).not.toMatch(/TLS 1\.2 is disabled/);
    expect(await h.app.store.incidents.get(second.incidentId)).toMatchObject({ state: 'closed', closedReason: 'healthy' });
    expect(fixOps('vm-tlsoff-06')).toHaveLength(3); // a diagnosis only reads
  }, 120000);

  it('in Russian too: the out-of-date card and the status labels', async () => {
    const ruUser: User = { ...endUser, userId: '29:life-ru', aadObjectId: '00000000-0000-0000-0000-0000000000d5', name: 'Иван', conversationId: 'a:life-ru', locale: 'ru-RU' };
    const a = await diagnoseAs(h, ruUser, 'внутренняя ошибка при подключении к vm-certexpired-04', SLOW);
    const b = await diagnoseAs(h, ruUser, 'внутренняя ошибка при подключении к vm-certexpired-04', SLOW);
    const status = await statusOf(ruUser);
    expect(status.match(/vm-certexpired-04/g)).toHaveLength(1);
    expect(status).toMatch(/Открытые обращения \(1\)/);
    const old = await h.post(activity(h, ruUser, invoke('fix.request', { incidentId: a.incidentId, fixId: 'renew-rdp-cert' })));
    expect(cardText(bodyCard(old))).toMatch(/Эта карточка устарела[\s\S]*заменила более новая[\s\S]*\[Проверить снова\]/);
    expect((await h.app.store.incidents.get(b.incidentId))?.state).toBe('diagnosed');
  });
});

describe('least disclosure on the approval card (item 14)', () => {
  it('approvers read every piece of evidence; the requester\'s view leaves addresses and rules to the helpdesk', async () => {
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-exposed-02', SLOW);
    const { mark } = await requestFix(endUser, incidentId, 'restrict-rdp-source', { source: '198.51.100.0/24' });
    const approvalId = await approvalIdOf(hana.conversationId, mark);
    const approver = cardText(bodyCard(await h.post(activity(h, hana, invoke('approval.refresh', { approvalId })))));
    const requester = cardText(bodyCard(await h.post(activity(h, endUser, invoke('approval.refresh', { approvalId })))));
    expect(approver).toMatch(/Why: what the diagnosis found[\s\S]*RDP is open to the whole Internet|Why: what the diagnosis found/);
    const stored = (await h.app.store.approvals.get(approvalId))!;
    const detailed = stored.findings!.flatMap((f) => f.evidence).filter((e) => /^runbook\.evidence\.(failedLogonSource|nsg)/.test(e.key));
    expect(detailed.length).toBeGreaterThan(0);
    const t = translator('en');
    const line = t(detailed[0].key, detailed[0].params).replace(/[*_[\]]/g, '');
    expect(approver.replace(/\\/g, '').replace(/[*_[\]]/g, '')).toContain(line);
    expect(requester.replace(/\\/g, '').replace(/[*_[\]]/g, '')).not.toContain(line);
    expect(requester).toMatch(/Details \(addresses, network rules\) are shown to the helpdesk/);
  });
});

describe('the one-person demo: the only approver, who may approve their own requests (item 6)', () => {
  // the README's demo: APPROVER_IDS=<the one user> ALLOW_SELF_APPROVAL=true, nobody else
  let demo: Harness;
  let main: Harness;
  beforeAll(async () => {
    main = h;
    demo = await startHarness({ APPROVER_IDS: solo.aadObjectId, ALLOW_SELF_APPROVAL: 'true' });
    h = demo;
  });
  afterAll(async () => {
    h = main;
    await demo.close();
  });

  it('is told the request went out, gets Approve in `approvals`, and the fix runs to "Verified"', async () => {
    await say(solo, 'help'); // the README's demo user has chatted
    const { incidentId } = await diagnoseAs(h, solo, 'internal error on vm-certexpired-04', SLOW);
    const { r, mark } = await requestFix(solo, incidentId, 'renew-rdp-cert');
    expect(bodyText(r)).toMatch(/sent your request to the helpdesk approvers/);
    expect(bodyText(r)).not.toMatch(/No approver/);
    const requesterCopy = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === solo.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
    const listed = await say(solo, 'approvals');
    const card = listed.find((c) => /approval\.approve/.test(JSON.stringify(cardOf(c) ?? '')));
    expect(card).toBeDefined();
    const { approvalId } = actionData(cardOf(card!), 'approval.approve');
    await h.post(activity(h, solo, invoke('approval.approve', { approvalId }, card!.activityId)));
    expect((await finishedJob(approvalId)).state).toBe('succeeded');
    expect(await h.app.jobs.drain(30000)).toBe(true);
    expect(fixOps('vm-certexpired-04').map((o) => o.scriptId)).toContain('fix-renew-rdp-cert');
    const verified = await h.connector.waitFor((all) =>
      [...all].reverse().find((c) => c.kind === 'update' && c.activityId === requesterCopy.activityId && /Verified/.test(cardText(cardOf(c)))),
    );
    expect(cardText(cardOf(verified))).toMatch(/Verified: the problem is gone/);
  });
});

describe('history (item 11)', () => {
  it('names people, not object ids, and shows every entry whole', async () => {
    const card = cardOf((await say(hana, 'history vm-tlsoff-06')).find((c) => cardOf(c))!);
    const text = cardText(card);
    expect(text).toMatch(/Alex User: incident\.opened/);
    expect(text).toMatch(/Helpdesk Hana: approval\.rejected/);
    expect(text).toMatch(/RDP Doctor: diagnosis\.completed/);
    expect(text).not.toContain(endUser.aadObjectId);
    expect(text).not.toContain(hana.aadObjectId);
    expect(text).not.toMatch(/\.\.\.|…/);
    expect(text).toMatch(/reason=Change window is on Friday/);
  });

  it('pages by what fits in a Teams message: every entry once, whole, each page under the limit', async () => {
    const vmId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-long-history';
    for (let i = 0; i < 30; i++) {
      await h.app.store.audit.append({ at: new Date().toISOString(), actor: hana.aadObjectId, action: 'note', vmId, details: { n: `entry-${i}-${'x'.repeat(1500)}-end` } });
    }
    const t = translator('en');
    const seen: string[] = [];
    let before: number | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const card = await historyCard(t, h.app.store, { id: vmId, name: 'vm-long-history' }, before);
      expect(utf16Bytes(card)).toBeLessThanOrEqual(CARD_BUDGET_BYTES);
      seen.push(...[...cardText(card).matchAll(/entry-(\d+)-x+-end/g)].map((m) => m[1]));
      const older = JSON.stringify(card).match(/"beforeSeq":"(\d+)"/);
      if (!older) break;
      before = Number(older[1]);
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => String(29 - i)));
  });
});

describe('no approver configured (item 6)', () => {
  let bare: Harness;
  beforeAll(async () => {
    bare = await startHarness({});
  });
  afterAll(async () => {
    await bare.close();
  });
  it('says none is configured and how to configure one', async () => {
    const { incidentId } = await diagnoseAs(bare, endUser, 'internal error on vm-certexpired-04', SLOW);
    const r = await bare.post(activity(bare, endUser, invoke('fix.request', { incidentId, fixId: 'renew-rdp-cert' })));
    expect(bodyText(r)).toMatch(/No approver is configured[\s\S]*APPROVER_IDS/);
  });
});
