import { startHarness, type Harness } from '../support/bot-harness';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';
import { canonicalWindows, fleetVmSchema, type FleetVm } from '../../services/simulator/fleet';

/**
 * Issue #19.6: what enable-nla, start-termservice and fix-firewall-rule do to a VM, approved and
 * run through the bot: the simulator's operation log once the queue has drained, and the VM's
 * Windows state after the fix compared with the state before (only the fixed values differ).
 * The script engine is the harness's (SIM_SCRIPTS: the real scripts under pwsh when present).
 */
const user: User = { userId: '29:v-user', aadObjectId: '00000000-0000-0000-0000-0000000000e1', name: 'Alex User', conversationId: 'a:v-user' };
const approver: User = { userId: '29:v-approver', aadObjectId: '00000000-0000-0000-0000-0000000000e2', name: 'Helpdesk Hana', conversationId: 'a:v-approver' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ APPROVER_IDS: approver.aadObjectId });
  const mark = h.mark();
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
});
afterAll(async () => {
  await h.close();
});

const fleetVm = (name: string): FleetVm => h.app.azure.simulator!.fleet.vms.find((v) => v.name === name)!;
const opsOf = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read').map((o) => `${o.kind}:${o.scriptId ?? ''}`);
/** The Windows state in canonical form, without the event counts (a fix stops the errors). */
const stateOf = (name: string) => {
  const { events24h: _e, ...rest } = canonicalWindows(JSON.parse(JSON.stringify(fleetVm(name).windows!)) as NonNullable<FleetVm['windows']>);
  void _e;
  return rest;
};

/** A healthy VM with one thing broken, diagnosed, its fix requested, approved and run to the end. */
async function fixed(name: string, breakIt: (vm: FleetVm) => void, fixId: string) {
  const clone = JSON.parse(JSON.stringify(fleetVm('vm-healthy-01'))) as FleetVm;
  breakIt(clone);
  h.app.azure.simulator!.fleet.vms.push(fleetVmSchema.parse({ ...clone, name }));
  const before = stateOf(name);
  const { incidentId, findings } = await diagnoseAs(h, user, `internal error on ${name}`, 60000);
  expect(actionData(cardOf(findings), 'fix.request', (d) => d.fixId === fixId)).toBeTruthy();
  const r = await h.post(activity(h, user, invoke('fix.request', { incidentId, fixId })));
  expect(r.status).toBe(200);
  const [approval] = await h.app.store.approvals.listByIncident(incidentId);
  expect((await h.post(activity(h, approver, invoke('approval.approve', { approvalId: approval.id })))).status).toBe(200);
  await h.drained(120000);
  const job = (await h.app.store.jobs.get((await h.app.store.approvals.get(approval.id))!.jobId!))!;
  return { before, after: stateOf(name), job, incident: await h.app.store.incidents.get(incidentId) };
}

it('enable-nla turns on NLA (and the SSL layer it needs) and nothing else, then restarts and verifies', async () => {
  const { before, after, job, incident } = await fixed('vm-nla-41', (vm) => (vm.windows!.rdpTcp = { SecurityLayer: 0, UserAuthentication: 0 }), 'enable-nla');
  expect(job.state).toBe('succeeded');
  expect(before.rdpTcp).toMatchObject({ SecurityLayer: 0, UserAuthentication: 0 });
  expect(after).toEqual({ ...before, rdpTcp: { ...before.rdpTcp, SecurityLayer: 1, UserAuthentication: 1, fAllowSecProtocolNegotiation: 1 } });
  expect(opsOf('vm-nla-41')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-nla', 'restart:', 'runCommand:diagnose']);
  expect(job.result?.gone).toContain('nla-disabled');
  expect(incident?.state).toBe('resolved');
}, 180000);

it('start-termservice starts TermService and nothing else changes; no restart', async () => {
  const { before, after, job, incident } = await fixed('vm-termsvc-42', (vm) => (vm.windows!.services = { ...vm.windows!.services, TermService: 'Stopped' }), 'start-termservice');
  expect(job.state).toBe('succeeded');
  expect(before.services.TermService).toMatchObject({ state: 'Stopped' });
  expect(after.services.TermService).toMatchObject({ state: 'Running', startMode: before.services.TermService.startMode });
  const { services: sb, ...restBefore } = before;
  const { services: sa, ...restAfter } = after;
  expect(restAfter).toEqual(restBefore);
  expect(Object.keys(sa).sort()).toEqual(Object.keys(sb).sort());
  for (const name of Object.keys(sb).filter((n) => n !== 'TermService' && n !== 'UmRdpService')) expect([name, sa[name]]).toEqual([name, sb[name]]);
  expect(opsOf('vm-termsvc-42')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-start-termservice', 'runCommand:diagnose']);
  expect(job.result?.gone).toContain('termservice-stopped');
  expect(incident?.state).toBe('resolved');
}, 180000);

it('fix-firewall-rule enables the RDP rule on the RDP port and nothing else; no restart', async () => {
  // another rule lets RDP in, so the guest firewall does not block the VM: only the built-in rule is off (firewall-rule-mismatch)
  const { before, after, job, incident } = await fixed(
    'vm-fw-43',
    (vm) => {
      vm.windows!.firewallRdpRule = { enabled: false, localPort: 3389 };
      vm.windows!.firewall = { rules: [{ name: 'Corp RDP', enabled: true, action: 'Allow', protocol: 'TCP', localPort: '3389', profile: 'Any' }] };
    },
    'fix-firewall-rule',
  );
  expect(job.state).toBe('succeeded');
  expect(before.firewallRdpRule).toEqual({ enabled: false, localPort: ['3389'] });
  expect(after).toEqual({ ...before, firewallRdpRule: { enabled: true, localPort: ['3389'] } });
  expect(opsOf('vm-fw-43')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-fix-firewall-rule', 'runCommand:diagnose']);
  expect(job.result?.gone).toContain('firewall-rule-mismatch');
  expect(incident?.state).toBe('resolved');
}, 180000);
