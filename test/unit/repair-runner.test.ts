import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../bot/config';
import type { VmModel } from '../../services/azure/gateway';
import { approvalHash } from '../../services/incidents/approvals';
import { FixRunner, type FixObserver } from '../../services/incidents/fix-runner';
import { JobRunner } from '../../services/incidents/jobs';
import type { AuditEntry, DiagnosisRecord, Incident, Job } from '../../services/incidents/model';
import { planFix } from '../../services/incidents/planner';
import { RepairRunner } from '../../services/incidents/repair-runner';
import { silentLogger } from '../../services/log';
import { REPAIR_STEPS, type RepairStepId } from '../../services/runbook/repair-plan';
import { openStore } from '../../services/store';
import type { AppStore } from '../../services/store/store';
import { FakeRepairAzure, type FakeMethod } from '../support/fake-repair-gateway';

/**
 * The offline repair's runner (issue #15) against a small in-memory Azure (test/support/
 * fake-repair-gateway.ts): step order and overlap, the roll-back after a failure at each step,
 * and the resume rule after a crash. A fake is used ONLY for these rules; what Azure does is
 * tested against the simulator (test/integration/repair-*.test.ts). What happened to the VM is
 * read from the fake's state and operation log, never from the bot's words.
 */
const SUB = '00000000-0000-4000-8000-000000000001';
const RG = 'rg-demo';
const VM_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/vm-noagent-08`;
const ORIGINAL = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/vm-noagent-08-osdisk`;
const INCIDENT = '5b0c7a3e-1f2d-4c6b-9a8e-7d6c5b4a3f21';
const NOW = new Date('2026-11-30T10:00:00Z');

const model = (over: Partial<VmModel> = {}): VmModel => ({
  id: VM_ID,
  name: 'vm-noagent-08',
  resourceGroup: RG,
  subscriptionId: SUB,
  location: 'westeurope',
  vmSize: 'Standard_B2s',
  hyperVGeneration: 'V1',
  osDiskId: ORIGINAL,
  osDiskName: 'vm-noagent-08-osdisk',
  osDiskSku: 'Premium_LRS',
  subnetId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default`,
  dataDisks: [],
  ...over,
});

const record = (findings: { id: string; severity: string }[]): DiagnosisRecord => ({
  at: NOW.toISOString(),
  findings: findings.map((f) => ({ ...f, evidence: [] })),
  fixes: [],
  runCommandCalls: 0,
  armCalls: 1,
  elapsedMs: 1,
  vm: { id: VM_ID, name: 'vm-noagent-08', powerState: 'running', agentStatus: 'NotReady', osType: 'Windows' },
});

interface Setup {
  store: AppStore;
  fake: FakeRepairAzure;
  job: Job;
  progress: string[][];
  finished: Promise<{ job: Job; incident: Incident | null }>;
  observer: FixObserver;
  diagnosed: string[];
  /** the next re-diagnosis fails (a Run Command error) */
  failDiagnoseOnce(): void;
  runner(session?: number): FixRunner;
  close(): Promise<void>;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function setup(over: Partial<VmModel> = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'rdp-repair-'));
  dirs.push(dir);
  const store = await openStore(loadConfig({ DATA_DIR: dir }), silentLogger);
  const fake = new FakeRepairAzure(model(over));
  const at = NOW.toISOString();
  const person = { id: '29:user', name: 'User', aadObjectId: '00000000-0000-4000-8000-0000000000a1' };
  await store.incidents.create({
    id: INCIDENT, createdAt: at, updatedAt: at, state: 'blocked', lang: 'en', symptom: 'internal-error', requester: person, conversation: {}, vmId: VM_ID, vmName: 'vm-noagent-08', candidates: [],
    diagnosis: record([{ id: 'vm-agent-not-ready', severity: 'blocker' }]),
  });
  const { plan } = await planFix(fake.gateway(), { vmId: VM_ID, fixId: 'offline-repair', params: {}, facts: null, now: NOW, incidentId: INCIDENT });
  const bound = { incidentId: INCIDENT, vmId: VM_ID, fixId: 'offline-repair', params: {}, plan };
  const paramsHash = approvalHash(bound);
  await store.approvals.create({ id: 'ap-1', ...bound, vmName: 'vm-noagent-08', paramsHash, requester: person, lang: 'en', state: 'pending', createdAt: at, expiresAt: new Date(NOW.getTime() + 3600e3).toISOString(), cards: [] });
  const queued: Job = { id: 'job-1', approvalId: 'ap-1', ...bound, vmName: 'vm-noagent-08', paramsHash, lang: 'en', state: 'queued', steps: [], createdAt: at, updatedAt: at };
  const decided = await store.approvals.decide('ap-1', { state: 'approved', decidedBy: { id: '29:approver', name: 'Approver' }, decidedAt: at }, queued);
  const progress: string[][] = [];
  let done: (v: { job: Job; incident: Incident | null }) => void = () => undefined;
  const finished = new Promise<{ job: Job; incident: Incident | null }>((r) => (done = r));
  const observer: FixObserver = {
    progress: async (job) => void progress.push(job.steps.map((s) => `${s.name}:${s.state}`)),
    finished: async (job, incident) => done({ job, incident }),
  };
  const diagnosed: string[] = [];
  let diagnoseFails = false;
  const jobs = new JobRunner(silentLogger);
  const runner = (session = 1) =>
    new FixRunner({
      store, gateway: fake.gateway(session), jobs, logger: silentLogger, observer, snapshotBeforeFix: true, leaseInMs: 3600e3,
      repair: {
        agentPollInMs: 1,
        agentTimeoutInMs: 3,
        sleep: () => new Promise((r) => setImmediate(r)),
        // the re-diagnosis: what the VM's agent says now (the real one is diagnoseVm, tested elsewhere)
        diagnose: async (vmId) => {
          if (diagnoseFails) {
            diagnoseFails = false;
            throw new Error('injected: the re-diagnosis failed');
          }
          const vm = await fake.gateway(session).getVm(vmId);
          diagnosed.push(vm.agentStatus);
          return record(vm.agentStatus === 'Ready' ? [] : [{ id: 'vm-agent-not-ready', severity: 'blocker' }]);
        },
      },
    });
  return {
    store, fake, job: decided!.job!, progress, finished, observer, diagnosed, runner,
    failDiagnoseOnce: () => void (diagnoseFails = true),
    close: async () => {
      await jobs.drain(60000);
      await store.close();
    },
  };
}

/** Runs the approved job through the queue like the bot does, to its end. */
async function runToEnd(s: Setup): Promise<{ job: Job; incident: Incident | null }> {
  const runner = s.runner();
  const stop = runner.listen();
  await runner.start(s.job);
  const end = await s.finished;
  await stop();
  return end;
}

async function audit(store: AppStore): Promise<AuditEntry[]> {
  return store.audit.list({ limit: 500 });
}

/** What the fake Azure holds that the bot created for this incident. */
const leftovers = (fake: FakeRepairAzure) => fake.tagged('rdp-doctor-incident', INCIDENT).map((r) => r.name).sort();
/** Every mutating call at most once per target: no operation ran twice. */
const repeated = (fake: FakeRepairAzure) => fake.ops.map((o) => `${o.op} ${o.target}`).filter((x, i, all) => all.indexOf(x) !== i);

describe('offline repair: a run to the end', () => {
  it('runs every step in order, overlaps what can overlap, swaps once, cleans up and keeps the original disk', async () => {
    const s = await setup();
    const { job, incident } = await runToEnd(s);

    expect(job.state).toBe('succeeded');
    expect(job.steps.map((x) => `${x.name}:${x.state}`)).toEqual(['precheck:done', ...REPAIR_STEPS.map((id) => `${id}:done`)]);
    // Azure, as the fake holds it: one rescue VM created and deleted, one swap, the VM runs from the copy with its agent Ready
    expect([s.fake.count('createRescueVm'), s.fake.count('deleteVm'), s.fake.count('swapOsDisk'), s.fake.count('deallocateVm'), s.fake.count('startVm')]).toEqual([1, 1, 1, 1, 1]);
    expect(s.fake.count('runScript')).toBe(3);
    expect(s.fake.ops.filter((o) => o.op === 'runScript').map((o) => o.target.split('#')[1])).toEqual(['offline-registry', 'offline-machinekeys', 'offline-bcd']);
    const vm = s.fake.brokenVm();
    expect(vm.power).toBe('running');
    expect(vm.osDiskId).toMatch(/rdpd-5b0c7a3e1f2d-osdisk$/);
    expect(s.fake.disks.has(ORIGINAL.toLowerCase())).toBe(true);
    expect(s.fake.ops.some((o) => o.op === 'deleteDisk' && o.target.toLowerCase() === ORIGINAL.toLowerCase())).toBe(false);
    // only the repaired disk (now the OS disk) is left of what the bot created
    expect(leftovers(s.fake)).toEqual(['rdpd-5b0c7a3e1f2d-osdisk']);
    expect(repeated(s.fake)).toEqual([]);
    expect(s.diagnosed).toEqual(['Ready']);

    // overlap: the rescue VM is created while the snapshot and the disk are made, and cleaned up while the VM is swapped and started
    const ev = s.fake.events;
    expect(ev.indexOf('begin createRescueVm')).toBeLessThan(ev.indexOf('end createSnapshot'));
    expect(ev.indexOf('begin deleteVm')).toBeLessThan(ev.indexOf('end startVm'));

    // the job, the incident and the audit name the kept disk; every step is audited
    expect(job.result?.keptOsDisk).toEqual({ id: ORIGINAL, name: 'vm-noagent-08-osdisk' });
    expect(job.result?.gone).toEqual(['vm-agent-not-ready']);
    expect(incident?.state).toBe('resolved');
    expect(incident?.keptOsDisk?.name).toBe('vm-noagent-08-osdisk');
    const actions = (await audit(s.store)).map((a) => a.action);
    for (const id of REPAIR_STEPS) expect([id, actions.includes(`job.step.${id}`)]).toEqual([id, true]);
    // the progress card saw each step running and done
    for (const id of REPAIR_STEPS) expect([id, s.progress.some((p) => p.includes(`${id}:running`))]).toEqual([id, true]);
    // the offline scripts' output is kept on the step, the drive passed as a parameter
    const scripts = job.steps.find((x) => x.name === 'run-offline-scripts')?.detail as { drive: string; scripts: { id: string; stdout: string }[] };
    expect(scripts.drive).toBe('F');
    expect(scripts.scripts.map((x) => x.stdout)).toEqual(['offline-registry on F: done', 'offline-machinekeys on F: done', 'offline-bcd on F: done']);
    await s.close();
  });

  it('works the same on a Gen2 Trusted Launch VM (the plan carries generation and security type to every create)', async () => {
    const s = await setup({ hyperVGeneration: 'V2', securityType: 'TrustedLaunch', zone: '2' });
    const { job } = await runToEnd(s);
    expect(job.state).toBe('succeeded');
    expect(job.plan?.repair?.vm).toMatchObject({ hyperVGeneration: 'V2', securityType: 'TrustedLaunch', zone: '2' });
    expect(s.fake.disks.get(s.fake.brokenVm().osDiskId.toLowerCase())?.hyperVGeneration).toBe('V2');
    expect(leftovers(s.fake)).toEqual(['rdpd-5b0c7a3e1f2d-osdisk']);
    await s.close();
  });

  it('refuses a confidential VM and a VM without a managed OS disk before anything is created', async () => {
    const fake = new FakeRepairAzure(model({ securityType: 'ConfidentialVM' }));
    await expect(planFix(fake.gateway(), { vmId: VM_ID, fixId: 'offline-repair', params: {}, facts: null, now: NOW, incidentId: INCIDENT })).rejects.toMatchObject({ code: 'bad-input', params: { detailKey: 'runbook.param.repairConfidential' } });
    const vhd = new FakeRepairAzure(model({ osDiskId: 'https://acct.blob.core.windows.net/vhds/os.vhd' }));
    await expect(planFix(vhd.gateway(), { vmId: VM_ID, fixId: 'offline-repair', params: {}, facts: null, now: NOW, incidentId: INCIDENT })).rejects.toMatchObject({ code: 'bad-input', params: { detailKey: 'runbook.param.repairUnmanagedDisk' } });
    expect([fake.ops, vhd.ops]).toEqual([[], []]);
  });
});

/** The gateway call each step makes (the fault that fails it). */
const FAULT_OF: Record<RepairStepId, FakeMethod | 'agent' | 'diagnose'> = {
  snapshot: 'createSnapshot',
  'create-disk': 'createDiskFromSnapshot',
  'create-rescue-vm': 'createRescueVm',
  'attach-disk': 'attachDataDisk',
  'run-offline-scripts': 'runScript',
  'detach-disk': 'detachDataDisk',
  'deallocate-vm': 'deallocateVm',
  'swap-os-disk': 'swapOsDisk',
  'start-vm': 'startVm',
  'wait-agent': 'agent',
  rediagnose: 'diagnose',
  cleanup: 'deleteVm',
};

describe('offline repair: a failure at any step rolls back', () => {
  it.each(REPAIR_STEPS.map((id) => [id]))('%s fails: the VM runs from its original OS disk and nothing of the bot is left', async (step) => {
    const s = await setup();
    const fault = FAULT_OF[step];
    if (fault === 'agent') s.fake.agentBroken = true;
    else if (fault === 'diagnose') s.failDiagnoseOnce();
    else s.fake.faults.set(fault, 'once');
    const { job, incident } = await runToEnd(s);
    s.fake.agentBroken = false;

    expect(job.state).toBe('failed');
    expect(job.error?.step).toBe(step);
    expect(job.steps.find((x) => x.name === step)?.state).toBe('failed');
    expect(job.steps.find((x) => x.name === 'rollback')?.state).toBe('done');
    expect(job.error?.params).toMatchObject({ detailKey: 'repair.run.failedRolledBack', failedStep: step, vmState: 'running', osDisk: 'vm-noagent-08-osdisk', rollbackFailures: 0, rollback: 'done' });
    expect(incident?.state).toBe('failed');
    expect(incident?.error?.params.failedStep).toBe(step);
    // Azure: the original OS disk, running, nothing tagged for this incident, the original never deleted
    const vm = s.fake.brokenVm();
    expect([vm.osDiskId, vm.power]).toEqual([ORIGINAL, 'running']);
    expect(leftovers(s.fake)).toEqual([]);
    expect(s.fake.disks.has(ORIGINAL.toLowerCase())).toBe(true);
    expect(repeated(s.fake).filter((x) => !x.startsWith('deallocateVm') && !x.startsWith('startVm'))).toEqual([]);
    // nothing after a failed step of the sequential middle part started
    if (['attach-disk', 'run-offline-scripts', 'detach-disk'].includes(step)) {
      const later = REPAIR_STEPS.slice(REPAIR_STEPS.indexOf(step) + 1);
      expect(later.filter((id) => job.steps.find((x) => x.name === id)?.state !== 'pending')).toEqual([]);
    }
    await s.close();
  });

  it('never deletes by name alone: a resource with a planned name but not tagged for this incident is left alone', async () => {
    const s = await setup();
    // someone else's snapshot under the name the plan derives (created outside RDP Doctor: no tags)
    const foreign = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/snapshots/rdpd-5b0c7a3e1f2d-snapshot`;
    s.fake.snapshots.set(foreign.toLowerCase(), { id: foreign, name: 'rdpd-5b0c7a3e1f2d-snapshot', tags: { owner: 'someone' }, repaired: false });
    s.fake.faults.set('createSnapshot', 'once');
    const { job } = await runToEnd(s);
    expect(job.error?.step).toBe('snapshot');
    expect(s.fake.snapshots.has(foreign.toLowerCase())).toBe(true);
    expect(s.fake.count('deleteSnapshot')).toBe(0);
    expect(leftovers(s.fake)).toEqual([]);
    await s.close();
  });

  it('records and reports a roll-back action that fails itself, and still does the others', async () => {
    const s = await setup();
    s.fake.faults.set('attachDataDisk', 'once');
    s.fake.faults.set('deleteNic', 'always');
    const { job } = await runToEnd(s);
    expect(job.state).toBe('failed');
    const rollback = job.steps.find((x) => x.name === 'rollback');
    expect(rollback?.state).toBe('failed');
    const actions = (rollback?.detail?.actions ?? []) as { action: string; ok: boolean }[];
    expect(actions.filter((a) => !a.ok).map((a) => a.action)).toEqual(['delete-nic']);
    expect(job.error?.params).toMatchObject({ detailKey: 'repair.run.failedRollbackIncomplete', failedStep: 'attach-disk', rollbackFailures: 1, rollback: 'incomplete' });
    // the rest was still removed: only the NIC is left
    expect(leftovers(s.fake)).toEqual(['rdpd-5b0c7a3e1f2d-rescue-nic']);
    expect((await audit(s.store)).some((a) => a.action === 'job.rollback.delete-nic' && a.details?.ok === false)).toBe(true);
    await s.close();
  });
});

describe('offline repair: a crash mid-repair is resumed or rolled back, never a step twice', () => {
  /** Runs the job in "process 1" until it dies at `method`, then "process 2" recovers it. */
  async function crashAndRecover(method: FakeMethod, applied: boolean): Promise<Setup & { end: { job: Job; incident: Incident | null } }> {
    const s = await setup();
    s.fake.crashAt(method, { applied, session: 1 });
    // process 1: the repair runner alone (no lease timer to outlive the "process"), on a claimed job
    await s.store.incidents.transition(INCIDENT, ['blocked'], { state: 'fixing' });
    const claimed = (await s.store.jobs.claim(s.job.id, new Date(Date.now() + 3600e3).toISOString()))!;
    const first = await s.store.jobs.update(claimed.id, { steps: RepairRunner.initialSteps([{ name: 'precheck', state: 'done' }]) });
    const p1 = s.runner(1) as unknown as { repairRunner(job: Job): RepairRunner };
    void p1.repairRunner(first!).run(NOW);
    await s.fake.crashReached;
    // let the dead process's other branch reach its own next call (it hangs there)
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // process 2 starts on the same data: every running job is abandoned
    const runner2 = s.runner(2);
    const recovered = await runner2.recover({ all: true, requeue: false });
    expect(recovered).toEqual([]); // not reported interrupted: taken over
    const end = await s.finished;
    return { ...s, end };
  }

  it('before the swap (attach-disk was running): rolls back; the steps done before never run again', async () => {
    const s = await crashAndRecover('attachDataDisk', false);
    expect(s.end.job.state).toBe('failed');
    expect(s.end.job.error).toMatchObject({ code: 'interrupted', step: 'attach-disk' });
    expect([s.fake.count('createSnapshot'), s.fake.count('createDiskFromSnapshot'), s.fake.count('createRescueVm'), s.fake.count('attachDataDisk')]).toEqual([1, 1, 1, 0]);
    expect([s.fake.brokenVm().osDiskId, s.fake.brokenVm().power]).toEqual([ORIGINAL, 'running']);
    expect(leftovers(s.fake)).toEqual([]);
    expect(repeated(s.fake)).toEqual([]);
    await s.close();
  });

  it('the swap was sent but not recorded: Azure shows the copy as the OS disk, so the repair finishes', async () => {
    const s = await crashAndRecover('swapOsDisk', true);
    expect(s.end.job.state).toBe('succeeded');
    expect(s.end.job.steps.find((x) => x.name === 'swap-os-disk')?.detail).toMatchObject({ recovered: 'seen-in-azure' });
    expect([s.fake.count('createRescueVm'), s.fake.count('deallocateVm'), s.fake.count('swapOsDisk'), s.fake.count('startVm'), s.fake.count('deleteVm')]).toEqual([1, 1, 1, 1, 1]);
    expect(s.fake.brokenVm().osDiskId).toMatch(/rdpd-5b0c7a3e1f2d-osdisk$/);
    expect(leftovers(s.fake)).toEqual(['rdpd-5b0c7a3e1f2d-osdisk']);
    expect(repeated(s.fake)).toEqual([]);
    await s.close();
  });

  it('the swap was not sent: rolls back and starts the deallocated VM again on its original disk', async () => {
    const s = await crashAndRecover('swapOsDisk', false);
    expect(s.end.job.state).toBe('failed');
    expect(s.end.job.error?.step).toBe('swap-os-disk');
    expect(s.fake.count('swapOsDisk')).toBe(0);
    expect([s.fake.brokenVm().osDiskId, s.fake.brokenVm().power]).toEqual([ORIGINAL, 'running']);
    expect(leftovers(s.fake)).toEqual([]);
    expect(repeated(s.fake)).toEqual([]);
    await s.close();
  });

  it('after the swap (start-vm sent): the VM already runs, it is not started twice, the repair finishes', async () => {
    const s = await crashAndRecover('startVm', true);
    expect(s.end.job.state).toBe('succeeded');
    expect(s.end.job.steps.find((x) => x.name === 'start-vm')?.detail).toMatchObject({ alreadyRunning: true });
    expect(s.fake.count('startVm')).toBe(1);
    expect(leftovers(s.fake)).toEqual(['rdpd-5b0c7a3e1f2d-osdisk']);
    expect(repeated(s.fake)).toEqual([]);
    await s.close();
  });
});
