import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';

/**
 * Issue #12 part B over real HTTP: the history of a VM, limits per user, one identity for
 * every rights check. What ran is counted from the simulator's operation log.
 */
const endUser: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000b1', name: 'Alex User', conversationId: 'a:end-user' };
const approver: User = { userId: '29:approver', aadObjectId: '00000000-0000-0000-0000-0000000000b2', name: 'Helpdesk Hana', conversationId: 'a:approver' };
// one approver, two channel accounts (say Teams and a guest account): one Entra object id
const samTeams: User = { userId: '29:sam-teams', aadObjectId: '00000000-0000-0000-0000-0000000000b3', name: 'Sam', conversationId: 'a:sam-teams' };
const samOther: User = { userId: '29:sam-second-account', aadObjectId: '00000000-0000-0000-0000-0000000000B3', name: 'Sam (guest)', conversationId: 'a:sam-other' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ APPROVER_IDS: `${approver.aadObjectId},${samTeams.aadObjectId}` });
  const mark = h.mark();
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
});
afterAll(async () => {
  await h.close();
});

const ops = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read');

async function approvalCardFor(conversationId: string, mark: number) {
  return h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
}

async function historyAs(user: User, vm: string) {
  const mark = h.mark();
  await h.post(activity(h, user, { type: 'message', text: `history ${vm}` }));
  return h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === user.conversationId));
}

describe('history <vm> (issue #12.3)', () => {
  it('shows the newest records first after 520 older ones, and pages back to the oldest', async () => {
    const fleet = h.app.azure.simulator!.fleet;
    const vm = fleet.vms.find((v) => v.name === 'vm-certexpired-04')!;
    const vmId = `/subscriptions/${fleet.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`;
    for (let i = 1; i <= 520; i++) {
      await h.app.store.audit.append({ at: new Date().toISOString(), actor: endUser.aadObjectId, action: `incident.opened`, incidentId: `noise-${i}`, vmId, details: { n: i } });
    }
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-certexpired-04');
    const mark = h.mark();
    await h.post(activity(h, endUser, invoke('fix.request', { incidentId, fixId: 'renew-rdp-cert' })));
    const { approvalId } = actionData(cardOf(await approvalCardFor(approver.conversationId, mark)), 'approval.refresh');
    const m2 = h.mark();
    expect((await h.post(activity(h, approver, invoke('approval.approve', { approvalId })))).status).toBe(200);
    await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === endUser.conversationId && /has finished/.test(c.activity.text ?? '')), 30000);
    expect(ops('vm-certexpired-04').map((o) => o.scriptId ?? o.kind)).toEqual(['diagnose', 'snapshot', 'fix-renew-rdp-cert', 'diagnose']);

    const first = cardOf(await historyAs(approver, 'vm-certexpired-04'));
    const text = cardText(first);
    expect(text).toMatch(/newest first/);
    expect(text.indexOf('job.succeeded')).toBeLessThan(text.indexOf(`${approver.name}: approval.approved`));
    expect(text).toContain(`${approver.name}: approval.approved`);
    expect(text).not.toContain(approver.aadObjectId); // names, not object ids (issue #13.11)
    expect(text).not.toMatch(/n=1\b/);

    // "Older records" until the first one
    let card = first;
    let pages = 1;
    for (;;) {
      let data: Record<string, string>;
      try {
        data = actionData(card, 'history.older');
      } catch {
        break;
      }
      const r = await h.post(activity(h, approver, invoke('history.older', data)));
      card = (r.body as { value: Record<string, unknown> }).value;
      pages++;
    }
    expect(cardText(card)).toMatch(/older records[\s\S]*n=1$/);
    expect(pages).toBeGreaterThan(20);
    // only approvers may page
    const refused = await h.post(activity(h, endUser, invoke('history.older', actionData(first, 'history.older'))));
    expect(JSON.stringify(refused.body)).toMatch(/Only helpdesk approvers/);
  }, 120000);
});

describe('one identity for every rights check (issue #12.5)', () => {
  it('the same person with a second channel account cannot approve their own request; nothing runs', async () => {
    const { incidentId } = await diagnoseAs(h, samTeams, 'internal error on vm-tlsoff-06');
    const mark = h.mark();
    await h.post(activity(h, samTeams, invoke('fix.request', { incidentId, fixId: 'enable-tls', tls10: 'false', tls11: 'false' })));
    const { approvalId } = actionData(cardOf(await approvalCardFor(approver.conversationId, mark)), 'approval.refresh');
    const r = await h.post(activity(h, samOther, invoke('approval.approve', { approvalId })));
    expect(JSON.stringify(r.body)).toMatch(/cannot approve your own request/);
    // and the second account is shown the status view, not Approve/Reject
    const view = await h.post(activity(h, samOther, invoke('approval.refresh', { approvalId })));
    expect(cardText((view.body as { value: unknown }).value)).not.toMatch(/\[Approve\]/);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('pending');
    expect((await h.app.store.audit.list({ incidentId })).filter((a) => a.action === 'approval.refused')).toMatchObject([{ details: { reason: 'self-approval' } }]);
    expect(ops('vm-tlsoff-06').map((o) => o.scriptId ?? o.kind)).toEqual(['diagnose']);
  });

  it('the requester with a second channel account is still the requester (cancel, consent)', async () => {
    const mark = h.mark();
    await h.post(activity(h, samTeams, { type: 'message', text: 'internal error on vm-healthy-01' }));
    const consent = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === samTeams.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
    const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
    const r = await h.post(activity(h, samOther, invoke('incident.cancel', { incidentId })));
    expect(r.status).toBe(200);
    expect((await h.app.store.incidents.get(incidentId))?.state).toBe('cancelled');
  });
});

describe('per-user limits (issue #12.4)', () => {
  let h2: Harness;
  const flooder: User = { userId: '29:flooder', aadObjectId: '00000000-0000-0000-0000-0000000000d1', name: 'Flo', conversationId: 'a:flooder' };
  const hana: User = { ...approver, conversationId: 'a:approver-2' };
  beforeAll(async () => {
    h2 = await startHarness({ APPROVER_IDS: approver.aadObjectId, RATE_LIMIT_SEARCHES_PER_HOUR: '5', RATE_LIMIT_INCIDENTS_PER_HOUR: '3', RATE_LIMIT_FIX_REQUESTS_PER_HOUR: '2' });
    const mark = h2.mark();
    await h2.post(activity(h2, hana, { type: 'message', text: 'help' }));
    await h2.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === hana.conversationId));
  });
  afterAll(async () => {
    await h2.close();
  });
  const graphQueries = () => h2.app.azure.simulator!.operations().filter((o) => /ResourceGraph/i.test(o.path)).length;

  it('20 messages: 5 Resource Graph queries, 3 incidents and consent cards, and a sentence for each refused one', async () => {
    const before = graphQueries();
    const texts: string[] = [];
    let consents = 0;
    for (let i = 0; i < 20; i++) {
      const mark = h2.mark();
      await h2.post(activity(h2, flooder, { type: 'message', text: 'internal error on vm-healthy-01' }));
      const reply = await h2.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === flooder.conversationId));
      if (/diagnose\.start/.test(JSON.stringify(cardOf(reply) ?? ''))) consents++;
      else texts.push(reply.activity.text ?? '');
    }
    expect(graphQueries() - before).toBe(5);
    expect(consents).toBe(3);
    expect((await h2.app.store.audit.list({ limit: 1000 })).filter((a) => a.action === 'incident.opened' && a.actor === flooder.aadObjectId)).toHaveLength(3);
    expect(texts.filter((x) => /opened many incidents/.test(x))).toHaveLength(2);
    expect(texts.filter((x) => /look up VMs many times/.test(x))).toHaveLength(15);
    // in Russian too
    const mark = h2.mark();
    await h2.post(activity(h2, { ...flooder, locale: 'ru-RU' }, { type: 'message', text: 'внутренняя ошибка на vm-healthy-01' }));
    const ru = await h2.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === flooder.conversationId));
    expect(ru.activity.text).toMatch(/много раз просили найти ВМ/);
  });

  it('20 clicks on the same request post one approval card per approver; new requests past the limit are refused; approvals lists the newest first', async () => {
    const requester: User = { userId: '29:req', aadObjectId: '00000000-0000-0000-0000-0000000000d2', name: 'Rita', conversationId: 'a:req' };
    const { incidentId } = await diagnoseAs(h2, requester, 'internal error on vm-tlsoff-06');
    const mark = h2.mark();
    const clicks = await Promise.all(Array.from({ length: 20 }, () => h2.post(activity(h2, requester, invoke('fix.request', { incidentId, fixId: 'enable-tls', tls10: 'false', tls11: 'false' })))));
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    await approvalCardFor2(hana.conversationId, mark);
    await new Promise((r) => setTimeout(r, 500));
    const cardsTo = (conv: string) => h2.since(mark).filter((c) => c.kind === 'send' && c.conversationId === conv && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))).length;
    expect(cardsTo(hana.conversationId)).toBe(1);
    expect(cardsTo(requester.conversationId)).toBe(1);
    expect(await h2.app.store.approvals.listByIncident(incidentId)).toHaveLength(1);

    const m1 = h2.mark();
    const second = await h2.post(activity(h2, requester, invoke('fix.request', { incidentId, fixId: 'enable-tls', tls10: 'true', tls11: 'false' })));
    expect(JSON.stringify(second.body)).toMatch(/sent your request/);
    // its cards are published after the answer: the approver's copy lands before the listing below
    await approvalCardFor2(hana.conversationId, m1);
    const third = await h2.post(activity(h2, requester, invoke('fix.request', { incidentId, fixId: 'enable-tls', tls10: 'true', tls11: 'true' })));
    expect(JSON.stringify(third.body)).toMatch(/requested many fixes/);
    expect(await h2.app.store.approvals.listByIncident(incidentId)).toHaveLength(2);

    const m2 = h2.mark();
    await h2.post(activity(h2, hana, { type: 'message', text: 'approvals' }));
    const listed = await h2.connector.waitFor((all) => {
      const cards = all.slice(m2).filter((c) => c.conversationId === hana.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? '')));
      return cards.length >= 2 ? cards : undefined;
    });
    const [oldest, newest] = await h2.app.store.approvals.listByIncident(incidentId);
    expect(listed.slice(0, 2).map((c) => actionData(cardOf(c), 'approval.refresh').approvalId)).toEqual([newest.id, oldest.id]);
    expect(h2.app.azure.simulator!.operations().filter((o) => o.vm === 'vm-tlsoff-06' && o.kind !== 'read').map((o) => o.scriptId)).toEqual(['diagnose']);
  });

  async function approvalCardFor2(conversationId: string, mark: number) {
    return h2.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
  }
});

describe('least disclosure (issue #12, self-service)', () => {
  it('a non-approver sees the cause in plain words without addresses or rule details; an approver sees all the evidence', async () => {
    const { findings } = await diagnoseAs(h, endUser, 'internal error on vm-exposed-02');
    const plain = cardText(cardOf(findings));
    expect(plain).toMatch(/Details \(addresses, network rules\) are shown to the helpdesk/);
    expect(plain).not.toMatch(/Failed sign-ins from|NSG .*: rule/);
    const { findings: full } = await diagnoseAs(h, approver, 'internal error on vm-exposed-02');
    expect(cardText(cardOf(full))).toMatch(/NSG .*: rule/);
    expect(cardText(cardOf(full))).toMatch(/Failed sign-ins from \d/);
  });

  it('SELF_SERVICE_SCOPE by tag: a non-approver finds only the VMs carrying the tag (from ARM / Resource Graph); approvers still reach the others', async () => {
    // the demo fleet tags vm-tlsoff-06 rdp-self-service=true (and no other VM); tag names compare case-insensitively
    const h3 = await startHarness({ APPROVER_IDS: approver.aadObjectId, SELF_SERVICE_SCOPE: 'rg-elsewhere, tag:RDP-Self-Service=true' });
    try {
      let mark = h3.mark();
      await h3.post(activity(h3, endUser, { type: 'message', text: 'internal error on vm-healthy-01' }));
      const reply = await h3.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId));
      expect(reply.activity.text).toMatch(/No VM I can see matches/);
      mark = h3.mark();
      await h3.post(activity(h3, endUser, { type: 'message', text: 'internal error on vm-tlsoff-06' }));
      await h3.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
      mark = h3.mark();
      await h3.post(activity(h3, approver, { type: 'message', text: 'internal error on vm-healthy-01' }));
      await h3.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
    } finally {
      await h3.close();
    }
    // a value compares exactly
    const h4 = await startHarness({ APPROVER_IDS: approver.aadObjectId, SELF_SERVICE_SCOPE: 'tag:rdp-self-service=True' });
    try {
      const mark = h4.mark();
      await h4.post(activity(h4, endUser, { type: 'message', text: 'internal error on vm-tlsoff-06' }));
      const reply = await h4.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId));
      expect(reply.activity.text).toMatch(/No VM I can see matches/);
    } finally {
      await h4.close();
    }
  });

  it('SELF_SERVICE_SCOPE: outside its resource groups a VM is not there for a non-approver; approvers still reach it', async () => {
    const h3 = await startHarness({ APPROVER_IDS: approver.aadObjectId, SELF_SERVICE_SCOPE: 'rg-self-service' });
    try {
      let mark = h3.mark();
      await h3.post(activity(h3, endUser, { type: 'message', text: 'internal error on vm-healthy-01' }));
      const reply = await h3.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId));
      expect(reply.activity.text).toMatch(/No VM I can see matches/);
      expect(JSON.stringify(reply.activity)).not.toMatch(/diagnose\.start/);
      mark = h3.mark();
      await h3.post(activity(h3, approver, { type: 'message', text: 'internal error on vm-healthy-01' }));
      await h3.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
    } finally {
      await h3.close();
    }
  });
});
