import { REPAIR_CREATED_BY, REPAIR_INCIDENT_TAG, type AzureGateway, type RepairGateway, type RepairTags, type TaggedResource } from '../azure/gateway';
import { DomainError, isDomainError } from '../errors';
import type { Logger } from '../log';
import { offlineScriptTemplate } from '../runbook/offline';
import { REPAIR_LUN, REPAIR_STEPS, type RepairPlan, type RepairResourceKind, type RepairStepId } from '../runbook/repair-plan';
import type { AppStore } from '../store/store';
import { recordAudit, SYSTEM_ACTOR } from './audit';
import { diagnoseVm, toRecord } from './diagnosis';
import type { FixObserver } from './fix-runner';
import type { DiagnosisRecord, Job, JobStep, JobStepName } from './model';

/**
 * Runs an approved offline repair (issue #15, docs/offline-repair.md "How it runs, fails and
 * recovers"): the steps of the sealed RepairPlan, each recorded on the job, in the audit
 * (`job.step.<id>`) and shown through the observer. What Azure lets overlap runs together:
 * the rescue VM is created while the snapshot and its disk are made, and the rescue VM is
 * cleaned up while the broken VM is deallocated, swapped, started and diagnosed again.
 *
 *   snapshot -> create-disk ─┐                         ┌─ deallocate-vm -> swap-os-disk -> start-vm -> wait-agent -> rediagnose
 *   create-rescue-vm ────────┴─ attach -> scripts -> detach ─┤
 *                                                      └─ cleanup (rescue VM, its NIC and OS disk, the snapshot)
 *
 * A failed step rolls back (the original OS disk back if it was swapped, the copy detached,
 * everything the bot created and tagged for this incident deleted); the original OS disk is
 * never deleted. A crash is recovered by `resume`: before the swap it rolls back, after the swap
 * it finishes; a step recorded done never runs again.
 */

export { REPAIR_CREATED_BY, REPAIR_INCIDENT_TAG } from '../azure/gateway';

export interface RepairRunnerDeps {
  store: AppStore;
  gateway: AzureGateway & RepairGateway;
  logger: Logger;
  observer: FixObserver;
  now: () => Date;
  /** the re-diagnosis (default: the normal read-only diagnosis); tests of step order replace it */
  diagnose?: (vmId: string, since: Date) => Promise<DiagnosisRecord>;
  /** wait-agent: how often and how long the agent is polled after the start */
  agentPollInMs?: number;
  agentTimeoutInMs?: number;
  /** the roll-back's start of the VM on its original disk: how long to wait before settling for "running" (its agent was not Ready before either) */
  rollbackStartTimeoutInMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Which resource of the plan each id in a step's detail stands for. */
type Ids = Record<RepairResourceKind, string>;

/** A step that failed: its id and the error. */
class StepFailed extends Error {
  constructor(
    readonly step: JobStepName,
    readonly error: unknown,
  ) {
    super(`repair step ${step} failed: ${(error as Error)?.message ?? String(error)}`);
    this.name = 'StepFailed';
  }
}

const problems = (d: DiagnosisRecord | undefined | null) => (d?.findings ?? []).filter((f) => f.severity !== 'info').map((f) => f.id);
const same = (a: string | undefined, b: string | undefined) => !!a && !!b && a.toLowerCase() === b.toLowerCase();
const lastSegment = (id: string): string => id.split('/').filter(Boolean).pop() ?? id;
/** A clean-up or roll-back action that threw: recorded with the error's code and the start of its message. */
function failed(a: RollbackAction, e: unknown): void {
  a.ok = false;
  a.code = isDomainError(e) ? e.code : 'internal';
  a.message = (e as Error).message.slice(0, 200);
}
/** the part of a script's output kept on the job (the job record stays small) */
const OUTPUT_KEEP = 1500;

export class RepairRunner {
  private job: Job;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly plan: RepairPlan;
  private firstFailed: JobStepName | null = null;
  private firstError: unknown = null;

  constructor(
    private readonly deps: RepairRunnerDeps,
    job: Job,
  ) {
    const plan = job.plan?.repair;
    if (!plan) throw new DomainError('approval-invalid', 'an offline-repair job without its repair plan', { params: { detailKey: 'plans.changed' } });
    this.job = job;
    this.plan = plan;
  }

  /** The job's steps for a new repair: the precheck's, then every repair step pending. */
  static initialSteps(steps: JobStep[]): JobStep[] {
    const kept = steps.filter((s) => !(REPAIR_STEPS as readonly string[]).includes(s.name));
    return [...kept, ...REPAIR_STEPS.map((name): JobStep => ({ name, state: 'pending' }))];
  }

  /** A new repair, after the precheck: forward, and on a failure the roll-back. */
  async run(startedAt: Date): Promise<void> {
    try {
      const verification = await this.forward(startedAt);
      await this.succeed(verification);
    } catch (e) {
      await this.failAndRollBack(e, null);
    }
  }

  /**
   * A repair whose process stopped (its job marked interrupted, taken over by this process). The
   * rule (docs/offline-repair.md): Azure decides. The broken VM's OS disk is the copy (the swap
   * happened, recorded or not): every earlier step is done, finish the rest. Otherwise roll back.
   */
  async resume(startedAt: Date): Promise<void> {
    const cut = this.job.steps.find((s) => s.state === 'failed' && !s.detail)?.name ?? null;
    // the interruption marked the running step(s) failed without a detail: they were running
    const steps = this.job.steps.map((s) => (s.state === 'failed' && !s.detail ? { ...s, state: 'running' as const } : s));
    this.job = await this.save({ state: 'running', steps });
    await this.audit('job.resuming', { steps: steps.map((s) => `${s.name}:${s.state}`) });
    let swapped: boolean;
    try {
      const model = await this.deps.gateway.getVmModel(this.plan.vm.id);
      swapped = same(model.osDiskId, this.ids().disk);
    } catch (e) {
      await this.failAndRollBack(new DomainError('interrupted', 'the repair was interrupted and the VM could not be read to decide how to recover', { cause: e }), cut ?? 'precheck');
      return;
    }
    if (!swapped) {
      await this.failAndRollBack(new DomainError('interrupted', 'the repair was interrupted before the OS disk swap: rolled back'), cut ?? 'precheck');
      return;
    }
    // after the swap: everything up to it happened; its record may lag behind Azure
    const upToSwap = REPAIR_STEPS.slice(0, REPAIR_STEPS.indexOf('swap-os-disk') + 1);
    for (const name of upToSwap) {
      if (this.stateOf(name) !== 'done') await this.mark(name, 'done', { ...(this.detailOf(name) ?? {}), recovered: 'seen-in-azure' });
    }
    try {
      const verification = await this.forward(startedAt);
      await this.succeed(verification);
    } catch (e) {
      await this.failAndRollBack(e, null);
    }
  }

  // ------------------------------------------------------------------------------------------
  // forward

  private async forward(startedAt: Date): Promise<DiagnosisRecord> {
    const { gateway } = this.deps;
    const plan = this.plan;
    const rg = plan.vm.resourceGroup;
    const tags: RepairTags = { 'created-by': REPAIR_CREATED_BY, [REPAIR_INCIDENT_TAG]: plan.incidentId };
    const name = (kind: RepairResourceKind) => plan.creates.find((c) => c.kind === kind)?.name ?? '';
    const vmId = plan.vm.id;

    await all([
      (async () => {
        await this.step('snapshot', async () => {
          const { snapshotId } = await gateway.createSnapshot({ resourceGroup: rg, name: name('snapshot'), location: plan.vm.location, sourceDiskId: plan.vm.osDiskId, tags });
          return { snapshotId };
        });
        await this.step('create-disk', async () => {
          const model = await gateway.getVmModel(vmId);
          const { diskId } = await gateway.createDiskFromSnapshot({
            resourceGroup: rg,
            name: name('disk'),
            location: plan.vm.location,
            zone: plan.vm.zone,
            sourceSnapshotId: this.ids().snapshot,
            hyperVGeneration: plan.vm.hyperVGeneration,
            securityType: plan.vm.securityType,
            sku: model.osDiskSku,
            tags,
          });
          return { diskId };
        });
      })(),
      this.step('create-rescue-vm', async () => {
        // the subnet is read, not sealed: it is where the broken VM already is, never a choice
        const model = await gateway.getVmModel(vmId);
        const r = await gateway.createRescueVm({
          resourceGroup: rg,
          name: name('vm'),
          location: plan.vm.location,
          zone: plan.vm.zone,
          vmSize: plan.vm.vmSize,
          hyperVGeneration: plan.vm.hyperVGeneration,
          securityType: plan.vm.securityType,
          subnetId: model.subnetId,
          nicName: name('nic'),
          tags,
        });
        return { vmId: r.vmId, nicId: r.nicId, osDiskId: r.osDiskId };
      }),
    ]);
    await this.step('attach-disk', async () => (await gateway.attachDataDisk(this.ids().vm, this.ids().disk, REPAIR_LUN), { lun: REPAIR_LUN, diskId: this.ids().disk }));
    await this.step('run-offline-scripts', async () => {
      const scripts: Record<string, unknown>[] = [];
      for (const id of plan.offlineScriptIds) {
        const s = offlineScriptTemplate(id);
        // the drive letter is a validated parameter of the script, never spliced into its text
        const out = await gateway.runScript(this.ids().vm, { scriptId: s.id, script: s.source, parameters: [{ name: 'Drive', value: plan.drive }] });
        scripts.push({ id: s.id, stdout: out.stdout.slice(-OUTPUT_KEEP), stderr: out.stderr.slice(-OUTPUT_KEEP) });
        if (out.stderr.trim()) throw new DomainError('azure-error', `offline script ${s.id} reported an error`, { params: { detailKey: 'job.scriptFailed', step: s.id, status: out.stderr.trim().slice(0, 200) } });
      }
      return { drive: plan.drive, scripts };
    });
    await this.step('detach-disk', async () => (await gateway.detachDataDisk(this.ids().vm, this.ids().disk), { diskId: this.ids().disk }));

    let verification: DiagnosisRecord | null = null;
    await all([
      (async () => {
        await this.step('deallocate-vm', async () => (await gateway.deallocateVm(vmId), {}));
        await this.step('swap-os-disk', async () => {
          await gateway.swapOsDisk(vmId, this.ids().disk);
          await this.deps.store.incidents.patch(this.job.incidentId, { keptOsDisk: { ...plan.keepsOriginalDisk, jobId: this.job.id } });
          return { osDiskId: this.ids().disk, keptOsDisk: plan.keepsOriginalDisk };
        });
        await this.step('start-vm', async () => {
          const vm = await gateway.getVm(vmId);
          // a resumed repair finds the VM already started: no second start
          if (vm.powerState === 'running') return { alreadyRunning: true };
          await gateway.startVm(vmId);
          return {};
        });
        await this.step('wait-agent', () => this.waitAgent(vmId));
        await this.step('rediagnose', async () => {
          verification = await this.diagnose(vmId, startedAt);
          return { findings: verification.findings.map((f) => f.id) };
        });
      })(),
      this.step('cleanup', async () => ({ deleted: await this.deleteOurs(['vm', 'nic', 'vm-os-disk', 'snapshot'], (a) => this.audit(`job.cleanup.${a.action}`, a)) })),
    ]);
    if (!verification) {
      // a resumed repair whose re-diagnosis was done before the crash: diagnose again (read-only)
      verification = await this.diagnose(vmId, startedAt);
    }
    return verification;
  }

  private async waitAgent(vmId: string): Promise<Record<string, unknown>> {
    const poll = this.deps.agentPollInMs ?? 10000;
    const timeout = this.deps.agentTimeoutInMs ?? 10 * 60000;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let waited = 0;
    for (;;) {
      const vm = await this.deps.gateway.getVm(vmId);
      if (vm.agentStatus === 'Ready') return { agentStatus: vm.agentStatus, agentVersion: vm.agentVersion ?? null };
      if (waited >= timeout) throw new DomainError('agent-not-ready', 'the VM agent did not become Ready on the repaired disk', { params: { vm: this.plan.vm.name } });
      await sleep(poll);
      waited += poll;
    }
  }

  private async diagnose(vmId: string, since: Date): Promise<DiagnosisRecord> {
    if (this.deps.diagnose) return this.deps.diagnose(vmId, since);
    const report = await diagnoseVm(this.deps.gateway, vmId, { now: this.deps.now, since });
    return toRecord(report, this.deps.now());
  }

  // ------------------------------------------------------------------------------------------
  // clean-up and roll-back: only what carries this incident's tags, never the original disk

  /** The ids of what the repair creates: as Azure returned them (step details), else as planned. */
  private ids(): Ids {
    const planned = (kind: RepairResourceKind) => this.plan.creates.find((c) => c.kind === kind)?.id ?? '';
    const d = (step: JobStepName, key: string) => {
      const v = this.detailOf(step)?.[key];
      return typeof v === 'string' && v ? v : undefined;
    };
    return {
      snapshot: d('snapshot', 'snapshotId') ?? planned('snapshot'),
      disk: d('create-disk', 'diskId') ?? planned('disk'),
      vm: d('create-rescue-vm', 'vmId') ?? planned('vm'),
      nic: d('create-rescue-vm', 'nicId') ?? planned('nic'),
      'vm-os-disk': d('create-rescue-vm', 'osDiskId') ?? planned('vm-os-disk'),
    };
  }

  /**
   * Deletes the given resources of this repair, in that order, each only if it still exists and
   * carries this incident's tags (Resource Graph; a disk or VM not yet indexed is read directly),
   * and never the original OS disk or the disk the broken VM boots from now.
   */
  private async deleteOurs(kinds: RepairResourceKind[], record: (a: RollbackAction) => Promise<void>, onError: 'throw' | 'record' = 'throw'): Promise<RollbackAction[]> {
    const { gateway } = this.deps;
    const plan = this.plan;
    const ids = this.ids();
    const tagged: TaggedResource[] = await gateway.listTaggedResources(plan.vm.subscriptionId, plan.vm.resourceGroup, REPAIR_INCIDENT_TAG, plan.incidentId);
    const isOurs = (tags: Record<string, string> | undefined) => tags?.['created-by'] === REPAIR_CREATED_BY && tags?.[REPAIR_INCIDENT_TAG] === plan.incidentId;
    const listed = (id: string) => tagged.some((r) => same(r.id, id) && isOurs(r.tags));
    const done: RollbackAction[] = [];
    for (const kind of kinds) {
      const id = ids[kind];
      const action: RollbackAction = { action: `delete-${kind}`, target: lastSegment(id), ok: true };
      try {
        if (same(id, plan.keepsOriginalDisk.id)) throw new Error('refusing to delete the original OS disk');
        let exists = listed(id);
        if (!exists && (kind === 'disk' || kind === 'vm-os-disk')) {
          const disk = await gateway.getDisk(id);
          exists = !!disk && isOurs(disk.tags);
        }
        if (!exists && kind === 'vm') {
          exists = await gateway.getVm(id).then((vm) => isOurs(vm.tags), () => false);
        }
        if (!exists) {
          action.skipped = 'absent-or-not-ours';
          done.push(action);
          continue;
        }
        if (kind === 'disk' || kind === 'vm-os-disk') {
          const model = await gateway.getVmModel(plan.vm.id);
          if (same(model.osDiskId, id)) throw new Error('refusing to delete the disk the VM boots from');
        }
        if (kind === 'vm') await gateway.deleteVm(id);
        else if (kind === 'nic') await gateway.deleteNic(id);
        else if (kind === 'snapshot') await gateway.deleteSnapshot(id);
        else await gateway.deleteDisk(id);
        done.push(action);
        await record(action);
      } catch (e) {
        failed(action, e);
        done.push(action);
        await record(action);
        if (onError === 'throw') throw e;
      }
    }
    return done;
  }

  /**
   * Puts the VM back as it was and removes what the repair created, each action checked against
   * Azure first (so it is safe after a crash and never repeats what is already undone); an action
   * that fails is recorded and the others still run.
   */
  private async rollBack(): Promise<{ actions: RollbackAction[]; failures: number }> {
    const { gateway } = this.deps;
    const plan = this.plan;
    const vmId = plan.vm.id;
    const actions: RollbackAction[] = [];
    const record = async (a: RollbackAction) => {
      await this.audit(`job.rollback.${a.action}`, { ...a });
    };
    const act = async (action: string, target: string, work: () => Promise<void | 'skipped'>): Promise<boolean> => {
      const a: RollbackAction = { action, target, ok: true };
      try {
        if ((await work()) === 'skipped') return true;
      } catch (e) {
        failed(a, e);
      }
      actions.push(a);
      await record(a);
      return a.ok;
    };
    await this.mark('rollback', 'running');

    // 1. the original OS disk back, if the swap happened
    let swapped = false;
    const read = await act('read-vm', plan.vm.name, async () => {
      const model = await gateway.getVmModel(vmId);
      swapped = !same(model.osDiskId, plan.keepsOriginalDisk.id);
      return 'skipped';
    });
    const touchedPower = (['deallocate-vm', 'swap-os-disk', 'start-vm'] as const).some((s) => this.stateOf(s) !== 'pending' && this.stateOf(s) !== undefined);
    let originalBack = read && !swapped;
    if (read && swapped) {
      const stopped = await act('deallocate-vm', plan.vm.name, async () => {
        const vm = await gateway.getVm(vmId);
        if (vm.powerState === 'deallocated') return 'skipped';
        await gateway.deallocateVm(vmId);
      });
      if (stopped) originalBack = await act('swap-back-os-disk', plan.keepsOriginalDisk.name, () => gateway.swapOsDisk(vmId, plan.keepsOriginalDisk.id));
    }
    if (originalBack) await this.deps.store.incidents.patch(this.job.incidentId, { keptOsDisk: undefined });
    // 2. the VM runs again as it did before the repair (it was running: the repair is offered on a running VM)
    if (touchedPower || swapped) {
      await act('start-vm', plan.vm.name, async () => {
        const vm = await gateway.getVm(vmId);
        if (vm.powerState === 'running' || vm.powerState === 'starting') return 'skipped';
        try {
          // startVm waits for the agent, which on the original disk was not Ready before the repair either: running is enough
          await gateway.startVm(vmId, { timeoutInMs: this.deps.rollbackStartTimeoutInMs ?? 5 * 60000 });
        } catch (e) {
          const after = await gateway.getVm(vmId);
          if (after.powerState !== 'running') throw e;
        }
      });
    }
    // 3. the copy off the rescue VM
    const ids = this.ids();
    await act('detach-disk', lastSegment(ids.disk), async () => {
      const disk = await gateway.getDisk(ids.disk);
      if (!disk || !same(disk.managedBy, ids.vm)) return 'skipped';
      await gateway.detachDataDisk(ids.vm, ids.disk);
    });
    // 4. whatever the bot created for this incident, in reverse order (the copy only when the original is back)
    const kinds: RepairResourceKind[] = ['vm', 'nic', 'vm-os-disk', ...(originalBack ? (['disk'] as const) : []), 'snapshot'];
    try {
      actions.push(...(await this.deleteOurs(kinds, record, 'record')).filter((a) => !a.skipped));
    } catch (e) {
      const a: RollbackAction = { action: 'list-tagged', target: plan.vm.resourceGroup, ok: false, code: isDomainError(e) ? e.code : 'internal', message: (e as Error).message.slice(0, 200) };
      actions.push(a);
      await record(a);
    }
    if (!originalBack) actions.push({ action: 'keep-copy', target: lastSegment(ids.disk), ok: false, message: 'the original OS disk is not back: the copy is kept' });
    const failures = actions.filter((a) => !a.ok).length;
    await this.mark('rollback', failures ? 'failed' : 'done', { actions });
    return { actions, failures };
  }

  // ------------------------------------------------------------------------------------------
  // the end of a job

  private async succeed(verification: DiagnosisRecord): Promise<void> {
    const { store, observer } = this.deps;
    const incident = await store.incidents.get(this.job.incidentId);
    const before = problems(incident?.firstDiagnosis ?? incident?.diagnosis);
    const after = problems(verification);
    const result = {
      gone: before.filter((id) => !after.includes(id)),
      remaining: after.filter((id) => before.includes(id)),
      appeared: after.filter((id) => !before.includes(id)),
      keptOsDisk: this.plan.keepsOriginalDisk,
    };
    await this.writes;
    this.job = await this.save({ state: 'succeeded', result });
    const done = await store.incidents.transition(this.job.incidentId, ['fixing'], {
      state: after.length === 0 ? 'resolved' : 'diagnosed',
      firstDiagnosis: incident?.firstDiagnosis ?? incident?.diagnosis,
      diagnosis: verification,
      keptOsDisk: { ...this.plan.keepsOriginalDisk, jobId: this.job.id },
    });
    await this.audit('job.succeeded', { result });
    await observer.finished(this.job, done ?? (await store.incidents.get(this.job.incidentId)));
  }

  private async failAndRollBack(e: unknown, cutStep: JobStepName | null): Promise<void> {
    const { store, observer, gateway, logger } = this.deps;
    const cause = this.firstFailed ? this.firstError : e instanceof StepFailed ? e.error : e;
    const failedStep = this.firstFailed ?? (e instanceof StepFailed ? e.step : cutStep) ?? 'precheck';
    const err = isDomainError(cause) ? cause : new DomainError('internal', (cause as Error)?.message ?? String(cause), { cause });
    if (!isDomainError(cause)) logger.error({ err: cause, jobId: this.job.id }, 'offline repair failed unexpectedly');
    await this.audit('job.step.failed', { step: failedStep, code: err.code, message: err.message });
    // a step left running (the interruption of a crash) ends failed before the roll-back starts
    for (const s of this.job.steps.filter((x) => x.state === 'running')) await this.mark(s.name, 'failed', { code: err.code });
    const { failures } = await this.rollBack();
    let vmState = 'unknown';
    let osDisk = '?';
    try {
      const vm = await gateway.getVm(this.plan.vm.id);
      vmState = vm.powerState;
      osDisk = vm.osDiskName ?? (vm.osDiskId ? lastSegment(vm.osDiskId) : '?');
    } catch (readErr) {
      logger.warn({ err: readErr, jobId: this.job.id }, 'the VM could not be read after the roll-back');
    }
    const params: Record<string, string | number> = {
      ...err.params,
      detailKey: failures ? 'repair.run.failedRollbackIncomplete' : 'repair.run.failedRolledBack',
      failedStep,
      vmState,
      osDisk,
      originalDisk: this.plan.keepsOriginalDisk.name,
      rollbackFailures: failures,
      // what the final card reads (cards/repair.ts on the repair-card branch): done, or incomplete
      rollback: failures ? 'incomplete' : 'done',
      ...(typeof err.params.detailKey === 'string' ? { causeKey: err.params.detailKey } : {}),
    };
    await this.writes;
    this.job = await this.save({ state: 'failed', error: { code: err.code, params, step: failedStep } });
    await this.audit('job.failed', { code: err.code, message: err.message, step: failedStep, rollbackFailures: failures, done: this.job.steps.filter((s) => s.state === 'done').map((s) => s.name) });
    const incident = await store.incidents.transition(this.job.incidentId, ['fixing'], { state: 'failed', error: { code: err.code, params } });
    await observer.finished(this.job, incident ?? (await store.incidents.get(this.job.incidentId)));
  }

  // ------------------------------------------------------------------------------------------
  // the job record: one copy in memory, written in order (steps run side by side)

  private stateOf(name: JobStepName): JobStep['state'] | undefined {
    return this.job.steps.find((s) => s.name === name)?.state;
  }

  private detailOf(name: JobStepName): Record<string, unknown> | undefined {
    return this.job.steps.find((s) => s.name === name)?.detail;
  }

  /** One step: never run again once done; recorded, audited and shown. */
  private async step(name: RepairStepId, work: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
    if (this.stateOf(name) === 'done') return this.detailOf(name) ?? {};
    if (this.firstFailed) throw new StepFailed(name, new Error('not started: an earlier step failed'));
    await this.mark(name, 'running');
    let detail: Record<string, unknown>;
    try {
      detail = await work();
    } catch (e) {
      if (!this.firstFailed) {
        this.firstFailed = name;
        this.firstError = e;
      }
      await this.mark(name, 'failed', { code: isDomainError(e) ? e.code : 'internal' });
      throw new StepFailed(name, e);
    }
    await this.mark(name, 'done', detail);
    await this.audit(`job.step.${name}`, detail);
    return detail;
  }

  private async mark(name: JobStepName, state: JobStep['state'], detail?: Record<string, unknown>): Promise<void> {
    const next: JobStep = { name, state, at: this.deps.now().toISOString(), ...(detail ? { detail } : {}) };
    const steps = this.job.steps.some((s) => s.name === name) ? this.job.steps.map((s) => (s.name === name ? next : s)) : [...this.job.steps, next];
    this.job = { ...this.job, steps };
    const snapshot = this.job;
    const write = this.writes.then(() => this.deps.store.jobs.update(snapshot.id, { steps: snapshot.steps }));
    this.writes = write.catch((e: unknown) => this.deps.logger.warn({ err: e, jobId: snapshot.id }, 'job step write failed'));
    await write;
    await this.deps.observer.progress(this.job).catch((e: unknown) => this.deps.logger.warn({ err: e }, 'progress update failed'));
  }

  private async save(patch: Partial<Job>): Promise<Job> {
    const saved = await this.deps.store.jobs.update(this.job.id, { ...patch, steps: patch.steps ?? this.job.steps });
    this.job = saved ?? { ...this.job, ...patch };
    return this.job;
  }

  private async audit(action: string, details: Record<string, unknown>): Promise<void> {
    await recordAudit(this.deps.store, this.deps.now(), SYSTEM_ACTOR, action, { incidentId: this.job.incidentId, vmId: this.job.vmId }, { jobId: this.job.id, fixId: this.job.fixId, ...details });
  }
}

/** One action of a roll-back or clean-up, as the job and the audit record it. */
export interface RollbackAction {
  action: string;
  /** the resource's name */
  target: string;
  ok: boolean;
  skipped?: string;
  code?: string;
  message?: string;
  [key: string]: unknown;
}

/** Runs branches side by side; when one fails, waits for the others (they may be creating resources) and throws the first failure. */
async function all(branches: Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(branches);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}
