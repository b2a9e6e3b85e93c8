import { randomUUID } from 'node:crypto';
import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, refusal, requestFixAs, type User } from '../support/journey';
import type { Job } from '../../services/incidents/model';

/**
 * Issue #19.6, the decisions: reject end to end, the expiry sweep, tampering (the approval's
 * seal, a job that does not match its approval), the approver's `approvals` list and `history`
 * refusals. What happened to a VM is read from the simulator's operation log once the job
 * queue has drained, never from what the bot says.
 */
const endUser: User = { userId: '29:g-user', aadObjectId: '00000000-0000-0000-0000-0000000000c1', name: 'Alex User', conversationId: 'a:g-user' };
const approver: User = { userId: '29:g-approver', aadObjectId: '00000000-0000-0000-0000-0000000000c2', name: 'Helpdesk Hana', conversationId: 'a:g-approver' };
const stranger: User = { userId: '29:g-stranger', aadObjectId: '00000000-0000-0000-0000-0000000000c9', name: 'Not An Approver', conversationId: 'a:g-stranger' };

let h: Harness;
beforeAll(async () => {
  // the expiry sweep every 100 ms, so an expired request is swept while the test waits for it
  h = await startHarness({ APPROVER_IDS: approver.aadObjectId, SIM_SCRIPTS: 'emulate' }, { expirySweepInMs: 100 });
  const mark = h.mark();
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
});
afterAll(async () => {
  await h.close();
});

const db = () => (h.app.store as unknown as { db: { prepare(sql: string): { run(...a: unknown[]): unknown } } }).db;
/** Changes to a VM (everything but reads and the diagnostic), once no job is queued or running. */
async function changesAfterDrain(vm: string): Promise<string[]> {
  await h.drained();
  return h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read' && o.scriptId !== 'diagnose').map((o) => `${o.kind}:${o.scriptId ?? ''}`);
}

const requested = (user: User, incidentId: string, fixId: string, params: Record<string, unknown> = {}) => requestFixAs(h, user, approver, incidentId, fixId, params);

const told = (user: User, mark: number, text: RegExp) => h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === user.conversationId && text.test(`${c.activity.text ?? ''} ${cardText(cardOf(c))}`)));

describe('reject', () => {
  it('a rejected request runs nothing, makes no job, and the requester is told', async () => {
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-tlsoff-06');
    const approvalId = await requested(endUser, incidentId, 'enable-tls');
    const mark = h.mark();
    const r = await h.post(activity(h, approver, invoke('approval.reject', { approvalId })));
    expect(r.status).toBe(200);
    // whatever the answer to the click (a reason may be asked for), the requester hears the outcome
    await told(endUser, mark, /rejected/i);
    expect(await changesAfterDrain('vm-tlsoff-06')).toEqual([]);
    const approval = await h.app.store.approvals.get(approvalId);
    expect(approval).toMatchObject({ state: 'rejected', decidedBy: { aadObjectId: approver.aadObjectId } });
    expect(approval?.jobId).toBeUndefined();
    const jobs = await h.app.store.jobs.listByState(['queued', 'running', 'succeeded', 'failed', 'interrupted']);
    expect(jobs.filter((j) => j.incidentId === incidentId)).toEqual([]);
    const audit = (await h.app.store.audit.list({ incidentId })).map((a) => a.action);
    expect(audit).toContain('approval.rejected');
    expect(audit.filter((a) => a.startsWith('job.'))).toEqual([]);
    // an Approve after the rejection changes nothing
    await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    expect(await changesAfterDrain('vm-tlsoff-06')).toEqual([]);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('rejected');
  });
});

describe('the expiry sweep', () => {
  it('a request past its time is marked expired by the sweep; the requester is told; an Approve afterwards runs nothing', async () => {
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-certexpired-04');
    const approvalId = await requested(endUser, incidentId, 'renew-rdp-cert');
    const a = (await h.app.store.approvals.get(approvalId))!;
    const mark = h.mark();
    // time passes: the stored deadline moves into the past (the seal does not cover it)
    db().prepare('UPDATE approvals SET doc = ? WHERE id = ?').run(JSON.stringify({ ...a, expiresAt: new Date(Date.now() - 1000).toISOString() }), approvalId);
    await told(endUser, mark, /expired before anyone approved it/);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('expired');
    expect((await h.app.store.audit.list({ incidentId })).filter((x) => x.action === 'approval.expired')).toMatchObject([{ actor: 'rdp-doctor' }]);
    // nobody clicked: the sweep did it (no refusal recorded)
    expect((await h.app.store.audit.list({ incidentId })).filter((x) => x.action === 'approval.refused')).toEqual([]);
    const late = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    expect(cardText((late.body as { value: unknown }).value)).toMatch(/expired before anyone approved it/);
    expect(await changesAfterDrain('vm-certexpired-04')).toEqual([]);
  });
});

describe('tampering', () => {
  it('parameters changed in the store after the request break the seal: the Approve is refused and nothing runs', async () => {
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-machinekeys-05');
    const approvalId = await requested(endUser, incidentId, 'reset-machinekeys-acl', { scope: 'rdpkey' });
    const a = (await h.app.store.approvals.get(approvalId))!;
    db().prepare('UPDATE approvals SET doc = ? WHERE id = ?').run(JSON.stringify({ ...a, params: { scope: 'folder' } }), approvalId);
    const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    expect(refusal(r)).toMatch(/does not match what was requested/);
    expect(await changesAfterDrain('vm-machinekeys-05')).toEqual([]);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('pending');
    expect((await h.app.store.audit.list({ incidentId })).filter((x) => x.action === 'approval.refused')).toMatchObject([{ details: { reason: 'hash-mismatch' } }]);
  });

  it('a job that does not match its approval is refused before any change', async () => {
    const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-portclash-03');
    const approvalId = await requested(endUser, incidentId, 'free-rdp-port', { service: 'TomcatAgent', disable: 'false' });
    const a = (await h.app.store.approvals.get(approvalId))!;
    // the approval says approved (as if decided), but the jobs put in the queue differ from it
    db().prepare("UPDATE approvals SET doc = ?, state = 'approved' WHERE id = ?").run(JSON.stringify({ ...a, state: 'approved' }), approvalId);
    const at = new Date().toISOString();
    const base: Job = {
      id: '',
      approvalId,
      incidentId,
      vmId: a.vmId,
      vmName: a.vmName,
      fixId: a.fixId,
      params: a.params,
      paramsHash: a.paramsHash,
      ...(a.plan ? { plan: a.plan } : {}),
      lang: a.lang,
      state: 'queued',
      steps: [],
      createdAt: at,
      updatedAt: at,
    };
    const forged: Job[] = [
      { ...base, id: randomUUID(), params: { service: 'TomcatAgent', disable: 'true' } }, // other parameters under the approval's hash
      { ...base, id: randomUUID(), paramsHash: '0'.repeat(64) }, // a hash that is not the approval's
      { ...base, id: randomUUID(), fixId: 'change-rdp-port', params: { port: 3390 } }, // another fix
    ];
    for (const job of forged) {
      db().prepare('INSERT INTO jobs (id, vm_key, state, created_at, doc) VALUES (?, ?, ?, ?, ?)').run(job.id, job.vmId.toLowerCase(), 'queued', at, JSON.stringify(job));
      await h.app.runner.start(job);
    }
    expect(await changesAfterDrain('vm-portclash-03')).toEqual([]);
    for (const job of forged) {
      expect(await h.app.store.jobs.get(job.id)).toMatchObject({ state: 'failed', error: { code: 'approval-invalid', params: { detailKey: 'approval.tampered' } } });
    }
    expect((await h.app.store.audit.list({ incidentId })).filter((x) => x.action === 'job.failed')).toHaveLength(3);
  });
});

describe('helpdesk commands', () => {
  it('approvals: an approver gets the pending requests, newest first, each with its own buttons; others are refused', async () => {
    const first = await diagnoseAs(h, { ...endUser, conversationId: 'a:g-list-1' }, 'internal error on vm-exposed-02');
    const firstId = await requested({ ...endUser, conversationId: 'a:g-list-1' }, first.incidentId, 'restrict-rdp-source', { source: '203.0.113.0/24' });
    const second = await diagnoseAs(h, { ...endUser, conversationId: 'a:g-list-2' }, 'internal error on vm-stopped-07');
    const secondId = await requested({ ...endUser, conversationId: 'a:g-list-2' }, second.incidentId, 'start-vm');

    let mark = h.mark();
    await h.post(activity(h, approver, { type: 'message', text: 'approvals' }));
    await told(approver, mark, /\d+ fix requests? waiting for approval:/);
    const listed = await h.connector.waitFor((all) => {
      const cards = all.slice(mark).filter((c) => c.conversationId === approver.conversationId && /approval\.approve/.test(JSON.stringify(cardOf(c) ?? '')));
      return cards.length >= 2 ? cards : undefined;
    });
    const ids = listed.map((c) => actionData(cardOf(c), 'approval.approve').approvalId);
    // pending requests, newest first (earlier tests left no other request pending)
    const pending = (await h.app.store.approvals.listPending(10, 'newest')).map((a) => a.id);
    expect(ids).toEqual(pending);
    expect(ids.indexOf(secondId)).toBeLessThan(ids.indexOf(firstId));
    for (const c of listed) expect(cardText(cardOf(c))).toMatch(/\[Approve\][\s\S]*\[Reject\]/);

    mark = h.mark();
    await h.post(activity(h, stranger, { type: 'message', text: 'approvals' }));
    await told(stranger, mark, /Only configured approvers/);
    expect(h.since(mark).filter((c) => c.conversationId === stranger.conversationId && /approval\.approve/.test(JSON.stringify(cardOf(c) ?? '')))).toEqual([]);
  });

  it('history: refused to non-approvers, asks for more of an ambiguous name, says when no VM matches', async () => {
    let mark = h.mark();
    await h.post(activity(h, stranger, { type: 'message', text: 'history vm-tlsoff-06' }));
    await told(stranger, mark, /Only helpdesk approvers can read the history of a VM/);
    expect(h.since(mark).some((c) => /History of/.test(cardText(cardOf(c))))).toBe(false);

    mark = h.mark();
    await h.post(activity(h, approver, { type: 'message', text: 'history vm' }));
    await told(approver, mark, /\d+ VMs match "vm"\. Please give more of the name/);

    mark = h.mark();
    await h.post(activity(h, approver, { type: 'message', text: 'history vm-nowhere-99' }));
    await told(approver, mark, /No VM I can see matches "vm-nowhere-99"/);

    mark = h.mark();
    await h.post(activity(h, { ...approver, locale: 'ru-RU' }, { type: 'message', text: 'история vm' }));
    await told(approver, mark, /vm/);
    expect(h.since(mark).filter((c) => c.conversationId === approver.conversationId).some((c) => /История/.test(cardText(cardOf(c))))).toBe(false);
  });
});
