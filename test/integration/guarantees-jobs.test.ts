import { startHarness, type Harness } from '../support/bot-harness';
import { activity, diagnoseAs, invoke, requestFixAs, type User } from '../support/journey';
import { fleetVmSchema, type FleetVm } from '../../services/simulator/fleet';
import type { Job } from '../../services/incidents/model';

/**
 * Issue #19.6, the jobs: the ARM fixes (start-vm, restart-vm, snapshot-os-disk) as jobs, a
 * script-plus-NSG step (change-rdp-port), a fix script that reports `ok:false`, and one job at a
 * time per VM (the claim path: a second job waits for the first). Judged by the simulator's
 * operation log once the queue has drained, and by the jobs as stored.
 */
const userA: User = { userId: '29:j-a', aadObjectId: '00000000-0000-0000-0000-0000000000d1', name: 'Alex A', conversationId: 'a:j-a' };
const userB: User = { userId: '29:j-b', aadObjectId: '00000000-0000-0000-0000-0000000000d2', name: 'Bea B', conversationId: 'a:j-b' };
const approver: User = { userId: '29:j-approver', aadObjectId: '00000000-0000-0000-0000-0000000000d3', name: 'Helpdesk Hana', conversationId: 'a:j-approver' };

let h: Harness;
beforeAll(async () => {
  // Run Command takes 300 ms: long enough for a second job to find the VM busy
  h = await startHarness({ APPROVER_IDS: approver.aadObjectId, SIM_SCRIPTS: 'emulate', SIM_RUN_COMMAND_LATENCY_MS: '300' });
  const mark = h.mark();
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
});
afterAll(async () => {
  await h.close();
});

const opsOf = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read').map((o) => `${o.kind}:${o.scriptId ?? ''}`);
const fleetVm = (name: string): FleetVm => h.app.azure.simulator!.fleet.vms.find((v) => v.name === name)!;
function cloneVm(from: string, name: string, change: (vm: FleetVm) => void): void {
  const clone = JSON.parse(JSON.stringify(fleetVm(from))) as FleetVm;
  change(clone);
  h.app.azure.simulator!.fleet.vms.push(fleetVmSchema.parse({ ...clone, name }));
}

const request = (user: User, incidentId: string, fixId: string, params: Record<string, unknown> = {}) => requestFixAs(h, user, approver, incidentId, fixId, params);

async function approve(approvalId: string): Promise<void> {
  const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
  if (r.status !== 200) throw new Error(`approve failed: ${JSON.stringify(r.body)}`);
}

/** The job of an approval, once the queue has drained. */
async function jobOf(approvalId: string): Promise<Job> {
  await h.drained();
  const a = await h.app.store.approvals.get(approvalId);
  const job = a?.jobId ? await h.app.store.jobs.get(a.jobId) : null;
  if (!job) throw new Error(`no job for approval ${approvalId}`);
  return job;
}

describe('ARM fixes run as jobs', () => {
  it('start-vm starts the stopped VM, without a snapshot, then verifies', async () => {
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-stopped-07');
    expect(opsOf('vm-stopped-07')).toEqual([]); // a stopped VM gets no Run Command
    await approve(await request(userA, incidentId, 'start-vm'));
    const job = await jobOf((await h.app.store.approvals.listByIncident(incidentId))[0].id);
    expect(job.state).toBe('succeeded');
    expect(job.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['precheck:done', 'fix:done', 'verify:done']);
    expect(opsOf('vm-stopped-07')).toEqual(['start:', 'runCommand:diagnose']);
    expect(job.result?.gone).toContain('vm-not-running');
    expect(fleetVm('vm-stopped-07').powerState).toBe('running');
  });

  it('restart-vm restarts a VM whose agent is not ready, without a snapshot', async () => {
    // vm-noagent-08 waits at its boot menu (issue #15): a restart stops there again; this clone's agent is merely hung
    cloneVm('vm-noagent-08', 'vm-noagent-81', (v) => {
      if (v.windows) delete v.windows.boot;
    });
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-noagent-81');
    const approvalId = await request(userA, incidentId, 'restart-vm');
    await approve(approvalId);
    const job = await jobOf(approvalId);
    expect(job.steps.map((s) => s.name)).toEqual(['precheck', 'fix', 'verify']);
    expect(opsOf('vm-noagent-81').filter((o) => o !== 'runCommand:diagnose')).toEqual(['restart:']);
    expect(opsOf('vm-noagent-81')).not.toContain('snapshot:');
  });

  it('snapshot-os-disk takes one snapshot of the OS disk and records it on the incident', async () => {
    // a clone with a finding: a healthy VM's incident closes after its diagnosis (nothing left to request)
    cloneVm('vm-tlsoff-06', 'vm-snap-31', () => undefined);
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-snap-31');
    // no finding offers it on its own: the incident's diagnosis offers it here, as the card's fix list would
    const incident = (await h.app.store.incidents.get(incidentId))!;
    await h.app.store.incidents.patch(incidentId, { diagnosis: { ...incident.diagnosis!, fixes: [...incident.diagnosis!.fixes, { id: 'snapshot-os-disk', addresses: [] }] } });
    const approvalId = await request(userA, incidentId, 'snapshot-os-disk', { snapshotName: 'before-change-31' });
    await approve(approvalId);
    const job = await jobOf(approvalId);
    expect(job.state).toBe('succeeded');
    expect(opsOf('vm-snap-31')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:diagnose']);
    const snap = h.app.azure.simulator!.operations().find((o) => o.vm === 'vm-snap-31' && o.kind === 'snapshot')!;
    expect(snap.path).toMatch(/\/snapshots\/before-change-31/);
    expect((await h.app.store.incidents.get(incidentId))?.snapshotId).toMatch(/before-change-31$/);
  });
});

describe('a script and an NSG step', () => {
  it('change-rdp-port: snapshot, the script, the NSG rule moved to the new port, verify (the script restarts the service itself: no VM restart)', async () => {
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-portclash-03');
    const rdpRulesBefore = fleetVm('vm-portclash-03').nsgRules.filter((r) => JSON.stringify(r).includes('3389'));
    expect(rdpRulesBefore.length).toBeGreaterThan(0);
    const approvalId = await request(userA, incidentId, 'change-rdp-port', { port: 3390 });
    await approve(approvalId);
    const job = await jobOf(approvalId);
    expect(job.state).toBe('succeeded');
    expect(job.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['precheck:done', 'snapshot:done', 'fix:done', 'nsg:done', 'verify:done']);
    const ops = opsOf('vm-portclash-03');
    expect(ops[0]).toBe('runCommand:diagnose');
    expect(ops.slice(1, 3)).toEqual(['snapshot:', 'runCommand:fix-change-rdp-port']);
    expect(ops.slice(3, -1).every((o) => o === 'nsgRuleWrite:')).toBe(true);
    expect(ops.slice(3, -1).length).toBeGreaterThan(0);
    expect(ops.slice(-1)).toEqual(['runCommand:diagnose']);
    expect(ops).not.toContain('restart:');
    expect(fleetVm('vm-portclash-03').windows?.rdpPort).toBe(3390);
    expect(JSON.stringify(fleetVm('vm-portclash-03').nsgRules)).toContain('3390');
  });
});

describe('a fix script that reports ok:false', () => {
  it('fails the job at the fix step: no NSG change, no restart, no verification; the incident is failed', async () => {
    cloneVm('vm-healthy-01', 'vm-hang-32', (vm) => {
      vm.windows!.services = { ...vm.windows!.services, TermService: { state: 'Stopped', startMode: 'Manual', hangs: true } } as never;
    });
    const { incidentId } = await diagnoseAs(h, userA, 'internal error on vm-hang-32');
    const approvalId = await request(userA, incidentId, 'start-termservice');
    const mark = h.mark();
    await approve(approvalId);
    const job = await jobOf(approvalId);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'azure-error', step: 'fix', params: { detailKey: 'job.scriptFailed' } });
    expect(job.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['precheck:done', 'snapshot:done', 'fix:failed']);
    expect(opsOf('vm-hang-32')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-start-termservice']);
    expect((await h.app.store.incidents.get(incidentId))?.state).toBe('failed');
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === userA.conversationId && /fix script reported a failure/.test(c.activity.text ?? '')));
  });
});

describe('one job at a time per VM', () => {
  it('a second approved job on the same VM waits for the first, then finds nothing left to fix', async () => {
    const a = await diagnoseAs(h, userA, 'internal error on vm-tlsoff-06');
    const b = await diagnoseAs(h, userB, 'internal error on vm-tlsoff-06');
    const first = await request(userA, a.incidentId, 'enable-tls');
    const second = await request(userB, b.incidentId, 'enable-tls');
    await approve(first);
    await approve(second);
    const [j1, j2] = [await jobOf(first), await jobOf(second)];
    expect(j1.state).toBe('succeeded');
    expect(j2).toMatchObject({ state: 'succeeded', result: { outcome: 'already-fixed' } });
    // the second job started only after the first had ended
    expect(Date.parse(j2.steps[0].at!)).toBeGreaterThanOrEqual(Date.parse(j1.updatedAt));
    expect(opsOf('vm-tlsoff-06')).toEqual(['runCommand:diagnose', 'runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-tls', 'restart:', 'runCommand:diagnose']);
  });
});
