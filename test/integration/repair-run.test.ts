import type { AzureGateway, RepairGateway } from '../../services/azure/gateway';
import type { Job } from '../../services/incidents/model';
import { isRepairGateway } from '../../services/incidents/planner';
import { fleetVmSchema, loadFleetFile, type FleetVm } from '../../services/simulator/fleet';
import { defaultFleetPath } from '../../services/wiring/azure';
import { startHarness, type Harness } from '../support/bot-harness';
import { activity, diagnoseAs, invoke, requestFixAs, type User } from '../support/journey';

/**
 * Issue #15, the offline repair end to end in the bot (demo mode, the simulator in-process):
 * the finding, the request, the approval, the job to its end. What happened to each VM is read
 * from the simulator's operation log after the queue drained and from Azure's state through the
 * gateway, never from the bot's words.
 */
const approver: User = { userId: '29:r-approver', aadObjectId: '00000000-0000-0000-0000-0000000000e2', name: 'Helpdesk Hana', conversationId: 'a:r-approver' };

let h: Harness;
let gw: AzureGateway & RepairGateway;
beforeAll(async () => {
  h = await startHarness({ APPROVER_IDS: approver.aadObjectId, SIM_SCRIPTS: 'emulate', SIM_RUN_COMMAND_LATENCY_MS: '50' }, { fixRunner: { repair: { agentPollInMs: 200, agentTimeoutInMs: 5000, rollbackStartTimeoutInMs: 3000 } } });
  if (!isRepairGateway(h.app.azure.gateway)) throw new Error('the gateway does not implement RepairGateway');
  gw = h.app.azure.gateway;
  const mark = h.mark();
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
}, 120000);
afterAll(async () => {
  await h?.close();
});

const sim = () => h.app.azure.simulator!;
/** the VM's operations that change something, in order (reads left out) */
// the repair's kinds (diskCreate, vmCreate, swapOsDisk, ...) and `failed` come with repair-sim's operation log
const opsOf = (vm: string) => sim().operations().filter((o) => o.vm === vm && o.kind !== 'read').map((o) => `${String(o.kind)}${(o as { failed?: boolean }).failed ? '!' : ''}`);
const count = (vm: string, kind: string) => opsOf(vm).filter((k) => k === kind).length;
/** A new fleet VM like `from` as the shipped demo fleet has it (the live one may have been repaired by an earlier test). */
function cloneVm(from: string, name: string, change: (vm: FleetVm) => void): void {
  const shipped = loadFleetFile(defaultFleetPath()).vms.find((v) => v.name === from)!;
  const clone = JSON.parse(JSON.stringify(shipped)) as FleetVm & { osDiskName?: string; nicName?: string };
  delete clone.osDiskName;
  delete clone.nicName;
  change(clone);
  sim().fleet.vms.push(fleetVmSchema.parse({ ...clone, name }));
}

async function approve(approvalId: string): Promise<void> {
  const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
  if (r.status !== 200) throw new Error(`approve failed: ${JSON.stringify(r.body)}`);
}

let users = 0;
async function repair(vmName: string): Promise<{ job: Job; incidentId: string; vmId: string }> {
  // one person per repair: the per-person limits on requests are not what these tests are about
  const n = String(++users).padStart(2, '0');
  const user: User = { userId: `29:r-user-${n}`, aadObjectId: `00000000-0000-0000-0000-0000000001${n}`, name: `Alex R${n}`, conversationId: `a:r-user-${n}` };
  const { incidentId } = await diagnoseAs(h, user, `internal error on ${vmName}`);
  const approvalId = await requestFixAs(h, user, approver, incidentId, 'offline-repair');
  await approve(approvalId);
  await h.drained(240000);
  const a = await h.app.store.approvals.get(approvalId);
  const job = a?.jobId ? await h.app.store.jobs.get(a.jobId) : null;
  if (!job) throw new Error(`no job for ${vmName}`);
  return { job, incidentId, vmId: job.vmId };
}

/** What the bot created for this incident and Azure still holds. */
async function leftovers(vmId: string, incidentId: string): Promise<string[]> {
  const m = await gw.getVmModel(vmId);
  return (await gw.listTaggedResources(m.subscriptionId, m.resourceGroup, 'rdp-doctor-incident', incidentId)).map((r) => r.name).sort();
}

describe('offline repair against the simulator', () => {
  it.each([
    ['vm-noagent-08', 'V1', undefined],
    ['vm-bootmenu-37', 'V2', undefined],
    ['vm-trusted-38', 'V2', 'TrustedLaunch'],
  ])('repairs %s end to end: one rescue VM created and deleted, one swap, the re-diagnosis clean, the original disk kept', async (vmName, gen, security) => {
    const { job, incidentId, vmId } = await repair(vmName);
    expect(job.state).toBe('succeeded');
    expect(job.steps.map((s) => `${s.name}:${s.state}`)).toEqual(['precheck:done', ...(job.plan?.repair?.steps ?? []).map((id) => `${id}:done`)]);
    expect([job.plan?.repair?.vm.hyperVGeneration, job.plan?.repair?.vm.securityType]).toEqual([gen, security]);
    const rescue = job.plan!.repair!.creates.find((c) => c.kind === 'vm')!.name;
    expect([count(rescue, 'vmCreate'), count(rescue, 'vmDelete'), count(vmName, 'swapOsDisk'), count(vmName, 'deallocate')]).toEqual([1, 1, 1, 1]);
    expect(opsOf(rescue).filter((k) => k === 'runCommand')).toHaveLength(3);
    // the re-diagnosis is clean, and Azure agrees: the VM runs from the copy, its agent Ready, the original disk kept
    expect(job.result?.remaining).toEqual([]);
    expect(job.result?.appeared).toEqual([]);
    const incident = await h.app.store.incidents.get(incidentId);
    expect(incident?.state).toBe('resolved');
    const vm = await gw.getVm(vmId);
    expect([vm.powerState, vm.agentStatus]).toEqual(['running', 'Ready']);
    const original = job.plan!.repair!.keepsOriginalDisk;
    expect(vm.osDiskId?.toLowerCase()).not.toBe(original.id.toLowerCase());
    expect(await gw.getDisk(original.id)).not.toBeNull();
    expect(job.result?.keptOsDisk).toEqual(original);
    expect(incident?.keptOsDisk?.id).toBe(original.id);
    // only the repaired copy (now the OS disk) is left of what the bot created
    expect(await leftovers(vmId, incidentId)).toEqual([job.plan!.repair!.creates.find((c) => c.kind === 'disk')!.name]);
    expect(sim().operations().some((o) => String(o.kind) === 'diskDelete' && o.path.toLowerCase().endsWith(`/disks/${original.name.toLowerCase()}`))).toBe(false);
  }, 300000);

  const FAULTS = ['snapshot', 'createDisk', 'createVm', 'attach', 'runCommand', 'detach', 'deallocate', 'swap', 'start', 'delete'] as const;
  it.each(FAULTS.map((op) => [op]))('a fault at %s: rolled back, the VM has its original OS disk, and what is left is reported', async (op) => {
    const name = `vm-rfault-${op.toLowerCase()}`;
    cloneVm('vm-noagent-08', name, (vm) => {
      (vm as unknown as { faults: Record<string, unknown> }).faults = { ...(vm.faults ?? {}), repair: { [op]: 'fail' } };
    });
    const { job, incidentId, vmId } = await repair(name);
    expect(job.state).toBe('failed');
    expect(job.error?.step).toBeDefined();
    const params = job.error!.params;
    const model = await gw.getVmModel(vmId);
    const vm = await gw.getVm(vmId);
    const rescue = job.plan!.repair!.creates.find((c) => c.kind === 'vm')!.name;
    // every operation that ran, ran once per target (the roll-back's own inverse operations aside)
    expect(count(name, 'swapOsDisk')).toBeLessThanOrEqual(2);
    expect(count(rescue, 'vmCreate')).toBeLessThanOrEqual(1);
    // whatever failed, the VM has its original OS disk again (the swap back is never skipped)
    expect(model.osDiskId.toLowerCase()).toBe(job.plan!.repair!.keepsOriginalDisk.id.toLowerCase());
    expect(params.osDisk).toBe(job.plan!.repair!.keepsOriginalDisk.name);
    if (params.rollback === 'done') {
      expect(vm.powerState).toBe('running');
      expect(await leftovers(vmId, incidentId)).toEqual([]);
      expect(params).toMatchObject({ detailKey: 'repair.run.failedRolledBack', vmState: 'running' });
    } else {
      // a fault the roll-back meets again (a start, a detach or a delete that always fails): recorded and reported, never hidden
      expect(['start', 'detach', 'delete']).toContain(op);
      const actions = (job.steps.find((s) => s.name === 'rollback')?.detail?.actions ?? []) as { action: string; ok: boolean }[];
      expect(actions.filter((a) => !a.ok).length).toBe(Number(params.rollbackFailures));
      // a failed detach is no leftover: deleting the rescue VM frees the copy, which is then deleted
      if (op === 'detach') expect(await leftovers(vmId, incidentId)).toEqual([]);
      expect(params).toMatchObject({ detailKey: 'repair.run.failedRollbackIncomplete', rollback: 'incomplete' });
      expect(Number(params.rollbackFailures)).toBeGreaterThan(0);
      expect(job.steps.find((s) => s.name === 'rollback')?.state).toBe('failed');
      expect(params.vmState).toBe(vm.powerState);
    }
    // the original OS disk always survives
    expect(await gw.getDisk(job.plan!.repair!.keepsOriginalDisk.id)).not.toBeNull();
  }, 300000);
});
