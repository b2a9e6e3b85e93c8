import { evaluateNsgs } from '../../services/runbook/nsg';
import type { EffectiveNsg } from '../../services/azure/gateway';
import { canonicalWindows, fleetVmSchema, type FleetNsgRule, type FleetVm } from '../../services/simulator/fleet';
import type { Job } from '../../services/incidents/model';
import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, refusal, type User } from '../support/journey';

/**
 * What is approved is what runs (issue #12, part A): preconditions at run time, the plan on the
 * card and in the hash, undo, the two-person rule. What ran is counted from the simulator's
 * operation log once the job has finished, never from what the bot says.
 */
const userA: User = { userId: '29:plan-a', aadObjectId: '00000000-0000-0000-0000-0000000000b1', name: 'Alex A', conversationId: 'a:plan-a' };
const userB: User = { userId: '29:plan-b', aadObjectId: '00000000-0000-0000-0000-0000000000b2', name: 'Bea B', conversationId: 'a:plan-b' };
const approver: User = { userId: '29:plan-approver', aadObjectId: '00000000-0000-0000-0000-0000000000b3', name: 'Helpdesk Hana', conversationId: 'a:plan-approver' };
const approver2: User = { userId: '29:plan-approver-2', aadObjectId: '00000000-0000-0000-0000-0000000000b4', name: 'Helpdesk Ivan', conversationId: 'a:plan-approver-2' };

async function withApprovers(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ APPROVER_IDS: `${approver.aadObjectId},${approver2.aadObjectId}`, SIM_SCRIPTS: 'emulate', ...env });
  for (const u of [approver, approver2]) {
    const mark = h.mark();
    await h.post(activity(h, u, { type: 'message', text: 'help' }));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === u.conversationId));
  }
  return h;
}

const changesOf = (h: Harness, vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read').map((o) => `${o.kind}:${o.scriptId ?? ''}`);
const fleetVm = (h: Harness, name: string): FleetVm => h.app.azure.simulator!.fleet.vms.find((v) => v.name === name)!;
/**
 * A VM's Windows state in the canonical form (every default explicit, firewall ports as the strings
 * Get-NetFirewallPortFilter returns), so the state the fleet file wrote, the emulation's and the real
 * scripts' (SIM_SCRIPTS=pwsh) compare with toEqual. Without the event counts: a fix stops the errors.
 */
const stateOf = (h: Harness, name: string) => {
  const { events24h: _e, ...rest } = canonicalWindows(JSON.parse(JSON.stringify(fleetVm(h, name).windows!)) as NonNullable<FleetVm['windows']>);
  void _e;
  return rest;
};

async function request(h: Harness, user: User, incidentId: string, fixId: string, params: Record<string, unknown> = {}) {
  const mark = h.mark();
  const r = await h.post(activity(h, user, invoke('fix.request', { incidentId, fixId, ...params })));
  if (r.status !== 200) throw new Error(`request failed: ${JSON.stringify(r.body)}`);
  const approverCopy = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
  const requesterCopy = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === user.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
  return { approvalId: actionData(cardOf(approverCopy), 'approval.refresh').approvalId, approverCopy, requesterCopy };
}

/** Approves and waits until the job has finished (the queue drained): the job as stored. */
async function approveAndWait(h: Harness, by: User, approvalId: string): Promise<Job> {
  const r = await h.post(activity(h, by, invoke('approval.approve', { approvalId })));
  if (r.status !== 200) throw new Error(`approve failed: ${JSON.stringify(r.body)}`);
  const job = await h.connector.waitFor(async () => {
    const a = await h.app.store.approvals.get(approvalId);
    const j = a?.jobId ? await h.app.store.jobs.get(a.jobId) : null;
    return j && j.state !== 'queued' && j.state !== 'running' ? j : undefined;
  }, 30000);
  await h.connector.waitFor(async () => ((await h.app.store.jobs.listByState(['queued', 'running'])).length === 0 ? true : undefined), 30000);
  return job;
}

/** What ARM keeps of a rule, for comparing (the fleet file may leave the defaults out). */
const normal = (r: FleetNsgRule) => ({ sourcePortRange: '*', destinationAddressPrefix: '*', ...r });
const effective = (vm: FleetVm): EffectiveNsg[] => [
  {
    networkSecurityGroupId: `/x/networkSecurityGroups/${vm.name}-nsg`,
    associatedWith: 'networkInterface',
    rules: vm.nsgRules.map((r) => ({ ...r, name: `securityRules/${r.name}` })),
  },
];

/** A copy of vm-exposed-02 whose one rule opens the web ports and RDP to everybody. */
function addWebVm(h: Harness, name: string): FleetNsgRule {
  const base = fleetVm(h, 'vm-exposed-02');
  const rule: FleetNsgRule = { name: 'web-and-rdp', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', destinationPortRanges: ['80', '443', '3389'], description: 'web farm and admin access' };
  h.app.azure.simulator!.fleet.vms.push(fleetVmSchema.parse({ ...JSON.parse(JSON.stringify(base)), name, nsgRules: [rule] }));
  return rule;
}

describe('preconditions at run time', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withApprovers();
  });
  afterAll(async () => h.close());

  it('a stale second approval of enable-tls changes nothing: no snapshot, no script, no restart', async () => {
    const a = await diagnoseAs(h, userA, 'internal error on vm-tlsoff-06');
    const b = await diagnoseAs(h, userB, 'internal error on vm-tlsoff-06');
    const first = await request(h, userA, a.incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
    const second = await request(h, userB, b.incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
    expect(cardText(cardOf(second.approverCopy))).toMatch(/Pending|Waiting/i);

    const job1 = await approveAndWait(h, approver, first.approvalId);
    expect(job1.state).toBe('succeeded');
    const afterFirst = changesOf(h, 'vm-tlsoff-06');
    expect(afterFirst).toEqual(['runCommand:diagnose', 'runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-tls', 'restart:', 'runCommand:diagnose']);

    const mark = h.mark();
    const job2 = await approveAndWait(h, approver, second.approvalId);
    expect(job2.state).toBe('succeeded');
    expect(job2.result?.outcome).toBe('already-fixed');
    // nothing at all ran for the second approval: no snapshot, no Run Command, no restart
    expect(changesOf(h, 'vm-tlsoff-06')).toEqual(afterFirst);
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === userB.conversationId && /did not run: the problem was already fixed/.test(c.activity.text ?? '')));
    expect((await h.app.store.incidents.get(b.incidentId))?.state).toBe('resolved');
  });

  it('a stale free-rdp-port does not stop a service once the port is free', async () => {
    const a = await diagnoseAs(h, userA, 'internal error on vm-portclash-03');
    const b = await diagnoseAs(h, userB, 'internal error on vm-portclash-03');
    const first = await request(h, userA, a.incidentId, 'free-rdp-port', { service: 'TomcatAgent', disable: 'false' });
    const second = await request(h, userB, b.incidentId, 'free-rdp-port', { service: 'TomcatAgent', disable: 'false' });
    expect((await approveAndWait(h, approver, first.approvalId)).state).toBe('succeeded');
    const before = changesOf(h, 'vm-portclash-03');
    fleetVm(h, 'vm-portclash-03').windows!.services.TomcatAgent = 'Running'; // someone starts it again, on another port
    const job2 = await approveAndWait(h, approver, second.approvalId);
    expect(job2.result?.outcome).toBe('already-fixed');
    expect(changesOf(h, 'vm-portclash-03')).toEqual(before);
    expect(fleetVm(h, 'vm-portclash-03').windows!.services.TomcatAgent).toBe('Running');
  });

  it('after a job that failed midway on the VM, the precheck runs a fresh read-only diagnosis', async () => {
    const a = await diagnoseAs(h, userA, 'internal error on vm-certexpired-04');
    const b = await diagnoseAs(h, userB, 'internal error on vm-certexpired-04');
    const first = await request(h, userA, a.incidentId, 'renew-rdp-cert');
    const second = await request(h, userB, b.incidentId, 'renew-rdp-cert');
    const vm = fleetVm(h, 'vm-certexpired-04');
    vm.faults.runCommand = 'agent-error';
    expect((await approveAndWait(h, approver, first.approvalId)).state).toBe('failed');
    vm.faults.runCommand = 'none';
    const before = changesOf(h, 'vm-certexpired-04').length;
    const job = await approveAndWait(h, approver, second.approvalId);
    expect(job.state).toBe('succeeded');
    expect(job.steps.find((st) => st.name === 'precheck')?.detail).toMatchObject({ basis: 'fresh-diagnosis' });
    expect(changesOf(h, 'vm-certexpired-04').slice(before)).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-renew-rdp-cert', 'runCommand:diagnose']);
  });

  it('restarts only when the fix script reports a change (noop: no restart)', async () => {
    const healthy = JSON.parse(JSON.stringify(fleetVm(h, 'vm-healthy-01'))) as FleetVm;
    healthy.windows!.rdpTcp.UserAuthentication = 0;
    h.app.azure.simulator!.fleet.vms.push(fleetVmSchema.parse({ ...healthy, name: 'vm-nla-08' }));
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-nla-08');
    // fixed by hand after the diagnosis: the script will find nothing to change
    fleetVm(h, 'vm-nla-08').windows!.rdpTcp.UserAuthentication = 1;
    const { approvalId } = await request(h, userA, incidentId, 'enable-nla');
    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('succeeded');
    expect(job.steps.find((s) => s.name === 'restart')).toMatchObject({ state: 'skipped' });
    expect(changesOf(h, 'vm-nla-08')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-nla', 'runCommand:diagnose']);
  });
});

describe('approve exactly what will happen: the NSG plan', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withApprovers();
  });
  afterAll(async () => h.close());

  it('a rule that also opens web ports is not rewritten: RDP gets its own rules, the card shows before -> after', async () => {
    const broad = addWebVm(h, 'vm-webrdp-11');
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-webrdp-11');
    const { approvalId, approverCopy } = await request(h, userA, incidentId, 'restrict-rdp-source', { source: '203.0.113.0/24' });
    const text = cardText(cardOf(approverCopy));
    expect(text).toMatch(/What will change/);
    expect(text).toMatch(/NSG vm-webrdp-11-nsg, rule rdp-doctor-allow-rdp-web-and-rdp: \(no such rule yet\) → Allow Tcp port\(s\) 3389 from 203\.0\.113\.0\/24, priority 298/);
    // the card's markdown escapes outside values (issue #12.10): `\*` renders as a literal *
    expect(text).toMatch(/rule rdp-doctor-deny-rdp-web-and-rdp: \(no such rule yet\) → Deny Tcp port\(s\) 3389 from \\\*, priority 299/);
    expect(text).toMatch(/Rule web-and-rdp also opens 80, 443: it is not rewritten/);

    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('succeeded');
    expect(job.result?.gone).toContain('rdp-exposed-to-internet');
    expect(changesOf(h, 'vm-webrdp-11')).toEqual(['runCommand:diagnose', 'snapshot:', 'nsgRuleWrite:', 'nsgRuleWrite:', 'runCommand:diagnose']);
    const vm = fleetVm(h, 'vm-webrdp-11');
    // the broad rule is exactly as it was (description included); the web ports stay open to everybody
    expect(vm.nsgRules.find((r) => r.name === 'web-and-rdp')).toEqual(broad);
    for (const port of [80, 443]) expect(evaluateNsgs(effective(vm), port).exposed).toBe(true);
    expect(evaluateNsgs(effective(vm), 3389).exposed).toBe(false);
    expect(evaluateNsgs(effective(vm), 3389).blocked).toBe(false);
  });

  it('a plan that no longer fits at run time is refused: nothing changes and the requester is told', async () => {
    addWebVm(h, 'vm-webrdp-12');
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-webrdp-12');
    const { approvalId } = await request(h, userA, incidentId, 'restrict-rdp-source', { source: '203.0.113.0/24' });
    // after the approval request, someone adds SSH to the broad rule: its "before" is no longer what was approved
    fleetVm(h, 'vm-webrdp-12').nsgRules[0].destinationPortRanges = ['22', '80', '443', '3389'];
    const mark = h.mark();
    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'approval-invalid', step: 'precheck', params: { detailKey: 'plans.changed' } });
    expect(changesOf(h, 'vm-webrdp-12')).toEqual(['runCommand:diagnose']);
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === userA.conversationId && /plan worked out now differs from the approved one/.test(c.activity.text ?? '')));
  });

  it('the plan is sealed in the approval hash: a stored plan changed afterwards is refused', async () => {
    addWebVm(h, 'vm-webrdp-13');
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-webrdp-13');
    const { approvalId } = await request(h, userA, incidentId, 'restrict-rdp-source', { source: '203.0.113.0/24' });
    const a = (await h.app.store.approvals.get(approvalId))!;
    const forged = JSON.parse(JSON.stringify(a)) as typeof a;
    forged.plan!.nsg[0].after!.sourceAddressPrefix = '*';
    const db = (h.app.store as unknown as { db: { prepare(sql: string): { run(...x: unknown[]): unknown } } }).db;
    db.prepare('UPDATE approvals SET doc = ? WHERE id = ?').run(JSON.stringify(forged), approvalId);
    const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    expect(refusal(r)).toMatch(/does not match what was requested/);
    expect(changesOf(h, 'vm-webrdp-13')).toEqual(['runCommand:diagnose']);
  });
});

describe('undo', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withApprovers();
  });
  afterAll(async () => h.close());

  async function undo(user: User, incidentId: string, job: Job): Promise<Job> {
    const mark = h.mark();
    const r = await h.post(activity(h, user, invoke('fix.undo', { incidentId, jobId: job.id })));
    expect(r.status).toBe(200);
    // the undo request's base card (updates of the fix's own card carry approval.refresh too)
    const copy = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? '')) && /Undo of a fix/.test(cardText(cardOf(c)))));
    return approveAndWait(h, approver, actionData(cardOf(copy), 'approval.refresh').approvalId);
  }

  it.each([['vm-exposed-02', null], ['vm-webrdp-21', 'web']])('restrict-rdp-source on %s: fix, undo, the NSG rules are as before', async (name, kind) => {
    if (kind) addWebVm(h, name);
    const rulesBefore = fleetVm(h, name).nsgRules.map(normal);
    const { incidentId } = await diagnoseAs(h, userA, `internal error on ${name}`);
    const { approvalId, requesterCopy } = await request(h, userA, incidentId, 'restrict-rdp-source', { source: '203.0.113.0/24' });
    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('succeeded');
    expect(fleetVm(h, name).nsgRules.map(normal)).not.toEqual(rulesBefore);
    // the finished card offers Undo
    const done = await h.connector.waitFor((all) => all.slice().reverse().find((c) => c.kind === 'update' && c.activityId === requesterCopy.activityId && /fix\.undo/.test(JSON.stringify(cardOf(c) ?? ''))));
    expect(actionData(cardOf(done), 'fix.undo')).toEqual({ incidentId, jobId: job.id });
    const writes = changesOf(h, name).length;

    const undone = await undo(userA, incidentId, job);
    expect(undone.state).toBe('succeeded');
    expect(fleetVm(h, name).nsgRules.map(normal)).toEqual(rulesBefore);
    // an NSG-only undo: no snapshot, only the rule writes and the verification
    const ran = changesOf(h, name).slice(writes);
    expect(ran).toEqual([...Array(kind ? 2 : 1).fill('nsgRuleWrite:'), 'runCommand:diagnose']);
  });

  it('enable-nla: fix, undo, the RDP-Tcp values are as before (an absent one removed again)', async () => {
    const clone = JSON.parse(JSON.stringify(fleetVm(h, 'vm-healthy-01'))) as FleetVm;
    clone.windows!.rdpTcp = { SecurityLayer: 0, UserAuthentication: 0 };
    h.app.azure.simulator!.fleet.vms.push(fleetVmSchema.parse({ ...clone, name: 'vm-nla-22' }));
    const stateBefore = stateOf(h, 'vm-nla-22');
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-nla-22');
    const { approvalId } = await request(h, userA, incidentId, 'enable-nla');
    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('succeeded');
    expect(stateOf(h, 'vm-nla-22').rdpTcp).toEqual({ ...stateBefore.rdpTcp, SecurityLayer: 1, UserAuthentication: 1, fAllowSecProtocolNegotiation: 1 });
    const count = changesOf(h, 'vm-nla-22').length;
    const undone = await undo(userA, incidentId, job);
    expect(undone.state).toBe('succeeded');
    expect(stateOf(h, 'vm-nla-22')).toEqual(stateBefore);
    expect(stateBefore.rdpTcp.fAllowSecProtocolNegotiation).toBeUndefined();
    expect(changesOf(h, 'vm-nla-22').slice(count)).toEqual(['runCommand:undo-enable-nla', 'restart:', 'runCommand:diagnose']);
  });

  it.each([
    ['vm-fw-23', { enabled: false, localPort: 3389 }],
    ['vm-fw-24', null],
  ])('fix-firewall-rule on %s: fix, undo, the firewall rule is as before', async (name, rule) => {
    const clone = JSON.parse(JSON.stringify(fleetVm(h, 'vm-healthy-01'))) as FleetVm;
    clone.windows!.firewallRdpRule = rule;
    // another rule still lets RDP in: the guest firewall does not block the VM (that would be
    // guest-firewall-blocks-rdp), only the built-in rule is off or gone (firewall-rule-mismatch)
    const windows = { ...clone.windows!, firewall: { rules: [{ name: 'Corp RDP', enabled: true, action: 'Allow', protocol: 'TCP', localPort: '3389', profile: 'Any' }] } };
    h.app.azure.simulator!.fleet.vms.push(fleetVmSchema.parse({ ...clone, windows, name }));
    const stateBefore = stateOf(h, name);
    const { incidentId } = await diagnoseAs(h, userA, `internal error on ${name}`);
    const { approvalId } = await request(h, userA, incidentId, 'fix-firewall-rule');
    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('succeeded');
    expect(stateOf(h, name).firewallRdpRule).toEqual({ enabled: true, localPort: ['3389'] });
    const count = changesOf(h, name).length;
    const undone = await undo(userA, incidentId, job);
    expect(undone.state).toBe('succeeded');
    expect(stateOf(h, name)).toEqual(stateBefore);
    expect(stateBefore.firewallRdpRule).toEqual(rule === null ? null : { enabled: false, localPort: ['3389'] });
    // no restart: the firewall change takes effect at once
    expect(changesOf(h, name).slice(count)).toEqual(['runCommand:undo-fix-firewall-rule', 'runCommand:diagnose']);
  });

  it('enable-tls: fix, undo with the before-values the script printed, the Windows state is as before', async () => {
    const w = fleetVm(h, 'vm-tlsoff-06').windows!;
    w.schannelServer['TLS 1.2'] = { Enabled: 0 }; // DisabledByDefault absent: the undo must remove the value the fix wrote
    const stateBefore = stateOf(h, 'vm-tlsoff-06');
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-tlsoff-06');
    const { approvalId } = await request(h, userA, incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('succeeded');
    expect(stateOf(h, 'vm-tlsoff-06').schannelServer['TLS 1.2']).toEqual({ Enabled: 1, DisabledByDefault: 0 });
    const count = changesOf(h, 'vm-tlsoff-06').length;

    const undone = await undo(userA, incidentId, job);
    expect(undone.state).toBe('succeeded');
    expect(stateOf(h, 'vm-tlsoff-06')).toEqual(stateBefore);
    expect(stateBefore.schannelServer['TLS 1.2']).toEqual({ Enabled: 0 });
    // the disk changes: a snapshot was already taken for this incident, so only the undo script, the restart, the verification
    expect(changesOf(h, 'vm-tlsoff-06').slice(count)).toEqual(['runCommand:undo-enable-tls', 'restart:', 'runCommand:diagnose']);
  });
});

describe('no undo', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withApprovers();
  });
  afterAll(async () => h.close());

  it('renew-rdp-cert: the finished card says why there is no undo, and an undo asked for anyway changes nothing', async () => {
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-certexpired-04');
    const { approvalId, requesterCopy } = await request(h, userA, incidentId, 'renew-rdp-cert');
    const job = await approveAndWait(h, approver, approvalId);
    expect(job.state).toBe('succeeded');
    const done = await h.connector.waitFor((all) => all.slice().reverse().find((c) => c.kind === 'update' && c.activityId === requesterCopy.activityId && /No undo for this fix/.test(cardText(cardOf(c)))));
    expect(cardText(cardOf(done))).toMatch(/the old RDP certificate was deleted with its key/);
    expect(JSON.stringify(cardOf(done))).not.toMatch(/fix\.undo/);
    const ran = changesOf(h, 'vm-certexpired-04');
    // an old card, a hand-made invoke: refused before anything is planned
    const r = await h.post(activity(h, userA, invoke('fix.undo', { incidentId, jobId: job.id })));
    expect(refusal(r)).toMatch(/cannot be undone automatically/);
    await h.connector.waitFor(async () => ((await h.app.store.jobs.listByState(['queued', 'running'])).length === 0 ? true : undefined), 30000);
    expect(changesOf(h, 'vm-certexpired-04')).toEqual(ran);
    expect((await h.app.store.approvals.listByIncident(incidentId)).map((a) => a.fixId)).toEqual(['renew-rdp-cert']);
  });
});

describe('two-person rule (TWO_PERSON_FIXES=restart,nsg)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withApprovers({ TWO_PERSON_FIXES: 'restart,nsg' });
  });
  afterAll(async () => h.close());

  it('a fix with a restart needs two different approvers; one decision each', async () => {
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-tlsoff-06');
    const { approvalId, approverCopy } = await request(h, userA, incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
    expect(cardText(cardOf(approverCopy))).toMatch(/0 of 2 approvals/);

    const first = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    expect(cardText((first.body as { value: unknown }).value)).toMatch(/Approved by Helpdesk Hana\. A second approver must approve too \(1 of 2 approvals\)/);
    expect(await h.app.store.approvals.get(approvalId)).toMatchObject({ state: 'pending', votes: [{ by: { id: approver.userId } }] });
    // the same approver again (even many times at once) is not a second approval
    const again = await Promise.all(Array.from({ length: 5 }, () => h.post(activity(h, approver, invoke('approval.approve', { approvalId })))));
    expect(again.map((r) => refusal(r))).toEqual(Array(5).fill(expect.stringMatching(/you have already approved this request/)));
    await new Promise((r) => setTimeout(r, 300));
    expect(changesOf(h, 'vm-tlsoff-06')).toEqual(['runCommand:diagnose']);
    expect((await h.app.store.approvals.get(approvalId))?.jobId).toBeUndefined();

    const job = await approveAndWait(h, approver2, approvalId);
    expect(job.state).toBe('succeeded');
    expect(changesOf(h, 'vm-tlsoff-06')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-tls', 'restart:', 'runCommand:diagnose']);
    const actions = (await h.app.store.audit.list({ incidentId })).map((x) => x.action);
    expect(actions.filter((x) => x.startsWith('approval.approved'))).toEqual(['approval.approvedFirst', 'approval.approved']);
  });

  it('a low-risk fix without restart or NSG change still needs one approver', async () => {
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-certexpired-04');
    const { approvalId, approverCopy } = await request(h, userA, incidentId, 'renew-rdp-cert');
    expect(cardText(cardOf(approverCopy))).not.toMatch(/of 2 approvals/);
    expect((await approveAndWait(h, approver, approvalId)).state).toBe('succeeded');
  });
});
