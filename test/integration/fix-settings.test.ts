import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';

/** The settings of the fix workflow: ALLOW_SELF_APPROVAL=true and SNAPSHOT_BEFORE_FIX=false. */
const engineer: User = { userId: '29:engineer', aadObjectId: '00000000-0000-0000-0000-0000000000b7', name: 'Solo Engineer', conversationId: 'a:engineer' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ APPROVER_IDS: engineer.aadObjectId, ALLOW_SELF_APPROVAL: 'true', SNAPSHOT_BEFORE_FIX: 'false' });
});
afterAll(async () => {
  await h.close();
});

it('a sole approver may approve their own request when allowed, and no snapshot is taken when turned off', async () => {
  const { incidentId } = await diagnoseAs(h, engineer, 'internal error on vm-certexpired-04');
  const mark = h.mark();
  await h.post(activity(h, engineer, invoke('fix.request', { incidentId, fixId: 'renew-rdp-cert' })));
  const own = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === engineer.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
  // the posted copy is the base card; with self-approval allowed, the requester's own view (refresh) offers Approve
  const { approvalId } = actionData(cardOf(own), 'approval.refresh');
  expect(cardText(cardOf(own))).not.toMatch(/\[Approve\]/);
  const view = await h.post(activity(h, engineer, invoke('approval.refresh', { approvalId })));
  expect(cardText((view.body as { value: unknown }).value)).toMatch(/\[Approve\]/);
  const r = await h.post(activity(h, engineer, invoke('approval.approve', { approvalId })));
  expect(r.status).toBe(200);
  await h.connector.waitFor((all) => all.slice(mark).find((c) => /has finished: the problem is gone/.test(c.activity.text ?? '')), 20000);
  const ops = h.app.azure.simulator!.operations().filter((o) => o.vm === 'vm-certexpired-04' && o.kind !== 'read');
  expect(ops.map((o) => `${o.kind}:${o.scriptId ?? ''}`)).toEqual(['runCommand:diagnose', 'runCommand:fix-renew-rdp-cert', 'runCommand:diagnose']);
  const audit = (await h.app.store.audit.list({ incidentId })).map((a) => a.action);
  expect(audit).toContain('approval.approved');
  expect(audit).not.toContain('job.step.snapshot');
});
