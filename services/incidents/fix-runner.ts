import type { AzureGateway } from '../azure/gateway';
import { DomainError, isDomainError } from '../errors';
import type { Logger } from '../log';
import { blockers, evaluate } from '../runbook/findings';
import { defaultSnapshotName, FIXES, isFixId, type ArmOp, type FixRun } from '../runbook/fixes';
import { sameJson, type FixPlan } from '../runbook/plan';
import type { AppStore } from '../store/store';
import { recordAudit, SYSTEM_ACTOR } from './audit';
import { approvalHash } from './approvals';
import { diagnoseVm, toRecord } from './diagnosis';
import type { JobRunner } from './jobs';
import type { DiagnosisRecord, Incident, Job, JobStep, JobStepName } from './model';
import { currentBasis, isRepairGateway, planFix, planUndo, type PlannedFix } from './planner';
import { RepairRunner, type RepairRunnerDeps } from './repair-runner';

export interface FixObserver {
  /** a step started or ended */
  progress(job: Job): Promise<void>;
  /** the job ended: succeeded (with the verification), failed, or interrupted */
  finished(job: Job, incident: Incident | null): Promise<void>;
}

export interface FixRunnerDeps {
  store: AppStore;
  gateway: AzureGateway;
  jobs: JobRunner;
  logger: Logger;
  observer: FixObserver;
  snapshotBeforeFix: boolean;
  now?: () => Date;
  /** how long a claim holds without renewal; the runner renews it while it works */
  leaseInMs?: number;
  /** how long after its approval a job may wait for another job on the same VM */
  vmBusyWaitInMs?: number;
  /** offline-repair: the agent wait and the re-diagnosis (tests of step order replace them) */
  repair?: Partial<Pick<RepairRunnerDeps, 'agentPollInMs' | 'agentTimeoutInMs' | 'rollbackStartTimeoutInMs' | 'sleep' | 'diagnose'>>;
}

/** Fixes that change nothing on the disk: no snapshot before them. */

const problems = (d: DiagnosisRecord | undefined) => (d?.findings ?? []).filter((f) => f.severity !== 'info').map((f) => f.id);

/**
 * Runs an approved fix: OS disk snapshot (once per incident), the fix, the restart when the
 * fix needs one, then the same diagnosis again. One job at a time per VM; every step is
 * recorded and shown; a failure stops the plan and nothing is retried blindly.
 */
export class FixRunner {
  private readonly now: () => Date;

  constructor(private readonly deps: FixRunnerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** An approved job goes to the queue; whichever instance takes it first runs it. */
  async start(job: Job): Promise<void> {
    await this.deps.store.jobQueue.enqueue(job.id);
  }

  /** Starts taking jobs from the queue; returns the function that stops it. */
  listen(): () => Promise<void> {
    return this.deps.store.jobQueue.consume(
      async (jobId) => {
        // the claim happens before the queue forgets the message: an instance that dies after
        // this point leaves a running job with a lease (reported by the sweep), never a lost one
        const job = await this.claim(jobId);
        if (job) this.deps.jobs.run(`fix:${jobId}`, () => this.run(job));
      },
      { poisoned: (jobId) => this.poisoned(jobId) },
    );
  }

  /** A queued job whose message kept coming back untaken (shared queue): failed and reported, not retried forever. */
  async poisoned(jobId: string): Promise<void> {
    const job = await this.deps.store.jobs.get(jobId);
    if (!job || job.state !== 'queued') return;
    const busy = (await this.deps.store.jobs.listByState(['running'])).some((j) => j.vmId.toLowerCase() === job.vmId.toLowerCase());
    const err = busy
      ? new DomainError('conflict', 'another fix kept the VM busy', { params: { vm: job.vmName } })
      : new DomainError('internal', `job ${jobId} was delivered too often without being taken`);
    await this.fail(job, this.deps.observer, err);
  }

  /**
   * Jobs abandoned by a stopped process are reported interrupted, never re-run: at the start of
   * a single process every running job (`all`), else those whose lease ran out. Queued jobs are
   * queued again (nothing of them ran). An offline repair is the exception: it is taken over and
   * resumed or rolled back (repair-runner.ts), never left with a VM half repaired.
   */
  async recover(opts: { all: boolean; requeue: boolean }): Promise<Job[]> {
    const interrupted: Job[] = [];
    for (const job of await this.deps.store.jobs.interruptAbandoned({ now: this.now(), all: opts.all })) {
      // issue #15: an offline repair is never left half done: resumed or rolled back (repair-runner.ts)
      if (job.fixId === 'offline-repair' && job.plan?.repair && (await this.resumeRepair(job))) continue;
      interrupted.push(job);
      await this.audit(job, 'job.interrupted', { steps: job.steps.map((st) => `${st.name}:${st.state}`) });
      const incident = await this.deps.store.incidents.transition(job.incidentId, ['fixing'], { state: 'failed', error: { code: 'interrupted', params: {} } });
      await this.deps.observer.finished(job, incident ?? (await this.deps.store.incidents.get(job.incidentId)));
    }
    if (opts.requeue) for (const job of await this.deps.store.jobs.listByState(['queued'])) await this.start(job);
    return interrupted;
  }

  private async run(claimed: Job): Promise<void> {
    const observer = this.deps.observer;
    const jobId = claimed.id;
    let job = claimed;
    const { store, gateway } = this.deps;
    const approval = await store.approvals.get(job.approvalId);
    let incident = await store.incidents.get(job.incidentId);
    if (!approval || approval.state !== 'approved' || approvalHash(job) !== approval.paramsHash || job.paramsHash !== approval.paramsHash || !incident) {
      await this.fail(job, observer, new DomainError('approval-invalid', 'job does not match its approval', { params: { detailKey: 'approval.tampered' } }));
      return;
    }

    const plan: JobStepName[] = ['precheck'];
    const isUndo = job.fixId === 'undo';
    const isRepair = job.plan?.arm === 'offlineRepair';
    const wantsSnapshot = !isRepair && this.deps.snapshotBeforeFix && !incident.snapshotId && (isUndo ? !!job.plan?.script : (isFixId(job.fixId) && FIXES[job.fixId].changesDisk));
    if (wantsSnapshot) plan.push('snapshot');
    if (!isRepair) plan.push('fix');
    const pending = plan.map((name): JobStep => ({ name, state: 'pending' }));
    job = await this.save(job, { steps: isRepair ? RepairRunner.initialSteps(pending) : pending });
    incident = (await store.incidents.transition(incident.id, ['diagnosed', 'blocked', 'failed', 'resolved', 'closed'], { state: 'fixing', closedReason: undefined, supersededBy: undefined })) ?? incident;
    await this.audit(job, 'job.started', { fixId: job.fixId, params: job.params, approvalId: job.approvalId });
    await observer.progress(job);

    const startedAt = this.now();
    const leaseInMs = this.deps.leaseInMs ?? 60000;
    const heartbeat = setInterval(() => {
      void this.deps.store.jobs.renew(jobId, new Date(this.now().getTime() + leaseInMs).toISOString()).catch((e: unknown) => this.deps.logger.warn({ err: e, jobId }, 'lease renewal failed'));
    }, Math.max(1000, Math.floor(leaseInMs / 3)));
    try {
      // before any change: is there still something to fix, and is the plan still the approved one?
      let planned: PlannedFix | null = null;
      let basis: DiagnosisRecord | null = null;
      job = await this.step(job, 'precheck', observer, async () => {
        const check = await this.precheck(job!, incident!);
        planned = check.planned;
        basis = check.basis;
        return check.detail;
      }, { audit: false }); // kept on the job; the audit records its outcome when it stops the job (job.alreadyFixed, job.failed)
      if (!planned) {
        await this.alreadyFixed(job, incident, basis);
        return;
      }
      const run = (planned as PlannedFix).run;
      if (run.kind === 'arm' && run.arm.op === 'offlineRepair') {
        // issue #15: the repair runs its own steps, roll-back and end of job
        await this.repairRunner(job).run(startedAt);
        return;
      }
      if (wantsSnapshot) {
        job = await this.step(job, 'snapshot', observer, async () => {
          const vm = await gateway.getVm(job!.vmId);
          const { snapshotId } = await gateway.snapshotOsDisk(job!.vmId, defaultSnapshotName({ vm, now: this.now() }, job!.id));
          await store.incidents.patch(job!.incidentId, { snapshotId });
          return { snapshotId };
        });
      }
      let reported: Record<string, unknown> | null = null;
      job = await this.step(job, 'fix', observer, async () => {
        const detail = await this.apply(job!, run);
        reported = (detail.status as Record<string, unknown> | undefined) ?? null;
        return detail;
      });
      if (run.kind === 'script' && run.arm) job = await this.step(job, 'nsg', observer, () => this.applyArm(job!, run.arm!));
      // a restart only when the script says it changed something that needs one ("noop": nothing did)
      const status = reported as Record<string, unknown> | null;
      if (run.needsRestart && status?.status !== 'noop' && status?.needsRestart !== false) {
        job = await this.step(job, 'restart', observer, async () => (await gateway.restartVm(job!.vmId), {}));
      } else if (run.needsRestart) {
        job = await this.save(job, { steps: [...job.steps, { name: 'restart', state: 'skipped', at: this.now().toISOString(), detail: { reason: 'script-reported-no-change' } }] });
        await this.audit(job, 'job.step.restart.skipped', { status: String(status?.status ?? '') });
      }

      let verification: DiagnosisRecord | undefined;
      job = await this.step(job, 'verify', observer, async () => {
        const report = await diagnoseVm(gateway, job!.vmId, { now: this.now, since: startedAt });
        verification = toRecord(report, this.now());
        return { findings: verification.findings.map((f) => f.id) };
      });
      const before = problems(incident.diagnosis);
      const after = problems(verification);
      const result = {
        gone: before.filter((id) => !after.includes(id)),
        remaining: after.filter((id) => before.includes(id)),
        appeared: after.filter((id) => !before.includes(id)),
      };
      job = await this.save(job, { state: 'succeeded', result });
      const done = await store.incidents.transition(incident.id, ['fixing'], {
        state: after.length === 0 ? 'resolved' : 'diagnosed',
        firstDiagnosis: incident.firstDiagnosis ?? incident.diagnosis,
        diagnosis: verification,
      });
      await this.audit(job, 'job.succeeded', { result });
      await observer.finished(job, done ?? (await store.incidents.get(incident.id)));
    } catch (e) {
      await this.fail(job, observer, e);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * The run-time preconditions. The findings now: the VM and its NSGs read fresh, the facts from
   * the newest diagnosis of this VM on record (any incident; every fix the bot runs ends with one)
   * unless a job may have changed the VM after it without a verification (a failed or
   * interrupted one), in which case a fresh read-only diagnosis. No finding the fix addresses is
   * left: `planned` is null (nothing will change). Then the plan, worked out again from the VM as
   * it is: a plan other than the approved one is refused.
   */
  private async precheck(job: Job, incident: Incident): Promise<{ planned: PlannedFix | null; basis: DiagnosisRecord | null; detail: Record<string, unknown> }> {
    const { gateway, store } = this.deps;
    if (job.fixId === 'undo') {
      const planned = await planUndo(gateway, store, job).catch((e: unknown) => {
        throw isDomainError(e) && e.code === 'approval-invalid' ? e : planChanged(e);
      });
      this.assertSamePlan(job, planned.plan);
      return { planned, basis: null, detail: { undoOf: String(job.params.jobId ?? '') } };
    }
    const vm = await gateway.getVm(job.vmId);
    const nsgs = vm.primaryNicId ? await gateway.getEffectiveNsgRules(vm) : null;
    const basis = await currentBasis(gateway, store, job.vmId, { now: this.now, needsFacts: isFixId(job.fixId) && FIXES[job.fixId].kind === 'script' && blockers(vm).length === 0 });
    const stop = blockers(vm);
    const current = stop.length > 0 ? [...stop, ...evaluate({ vm, nsgs, facts: null, now: this.now() })] : evaluate({ vm, nsgs, facts: basis.record?.facts ?? null, now: this.now() });
    const addresses: readonly string[] = isFixId(job.fixId) ? FIXES[job.fixId].addresses : [];
    const present = addresses.filter((id) => current.some((f) => f.id === id));
    const detail = { basis: basis.fresh ? 'fresh-diagnosis' : 'latest-diagnosis', basisAt: basis.record?.at ?? null, addressed: present };
    if (addresses.length > 0 && present.length === 0) return { planned: null, basis: basis.record, detail: { ...detail, alreadyFixed: true } };
    let planned: PlannedFix;
    try {
      planned = await planFix(gateway, { vmId: job.vmId, fixId: job.fixId, params: job.params, facts: basis.record?.facts ?? incident.diagnosis?.facts ?? null, now: this.now(), knownNsgs: nsgs, incidentId: job.incidentId });
    } catch (e) {
      if (isDomainError(e) && e.params.detailKey === 'runbook.param.nothingToRestrict') return { planned: null, basis: basis.record, detail: { ...detail, alreadyFixed: true } };
      throw planChanged(e);
    }
    this.assertSamePlan(job, planned.plan);
    return { planned, basis: basis.record, detail };
  }

  private assertSamePlan(job: Job, plan: FixPlan): void {
    if (job.plan && !sameJson(job.plan, plan)) {
      throw new DomainError('approval-invalid', 'the plan worked out now differs from the approved one', { params: { detailKey: 'plans.changed' } });
    }
  }

  /** Nothing left to fix: no snapshot, no script, no restart; the incident takes the newer findings. */
  private async alreadyFixed(job: Job, incident: Incident, basis: DiagnosisRecord | null): Promise<void> {
    const { store } = this.deps;
    const result = { gone: [], remaining: [], appeared: [], outcome: 'already-fixed' as const };
    const steps = job.steps.map((s) => (s.state === 'pending' ? { ...s, state: 'skipped' as const } : s));
    const saved = await this.save(job, { state: 'succeeded', steps, result });
    const left = problems(basis ?? incident.diagnosis);
    const done = await store.incidents.transition(incident.id, ['fixing'], {
      state: left.length === 0 ? 'resolved' : 'diagnosed',
      ...(basis ? { diagnosis: basis, firstDiagnosis: incident.firstDiagnosis ?? incident.diagnosis } : {}),
    });
    await this.audit(saved, 'job.alreadyFixed', { basisAt: basis?.at ?? null });
    await this.deps.observer.finished(saved, done ?? (await store.incidents.get(incident.id)));
  }

  /**
   * One attempt to own a queued job. null when it is not queued any more (another instance has
   * it). While another job runs on the same VM it throws, so the queue delivers it again later;
   * past `vmBusyWaitInMs` since its approval the job fails with a conflict instead.
   */
  private async claim(jobId: string): Promise<Job | null> {
    const claimed = await this.deps.store.jobs.claim(jobId, new Date(this.now().getTime() + (this.deps.leaseInMs ?? 60000)).toISOString());
    if (claimed) return claimed;
    const job = await this.deps.store.jobs.get(jobId);
    if (!job || job.state !== 'queued') return null;
    if (this.now().getTime() - Date.parse(job.createdAt) > (this.deps.vmBusyWaitInMs ?? 15 * 60000)) {
      await this.fail(job, this.deps.observer, new DomainError('conflict', 'another fix kept the VM busy', { params: { vm: job.vmName } }));
      return null;
    }
    throw new VmBusyError(job.vmName);
  }

  private async apply(job: Job, run: FixRun): Promise<Record<string, unknown>> {
    if (run.kind !== 'script') return this.applyArm(job, run.arm);
    const out = await this.deps.gateway.runScript(job.vmId, { scriptId: run.scriptId, script: run.script, parameters: run.parameters });
    const status = parseStatus(out.stdout);
    if (!status || status.ok !== true) {
      throw new DomainError('azure-error', `fix script ${run.scriptId} reported failure`, {
        params: { detailKey: 'job.scriptFailed', step: String(status?.step ?? ''), status: String(status?.status ?? 'no output') },
      });
    }
    return { status };
  }

  private async applyArm(job: Job, op: ArmOp): Promise<Record<string, unknown>> {
    const { gateway } = this.deps;
    switch (op.op) {
      case 'startVm':
        await gateway.startVm(job.vmId);
        return {};
      case 'restartVm':
        await gateway.restartVm(job.vmId);
        return {};
      case 'snapshotOsDisk': {
        const { snapshotId } = await gateway.snapshotOsDisk(job.vmId, op.snapshotName);
        await this.deps.store.incidents.patch(job.incidentId, { snapshotId });
        return { snapshotId };
      }
      case 'nsgRules':
        for (const change of op.rules) {
          if (change.action === 'delete') await gateway.deleteNsgRule(change.nsgId, change.rule.name);
          else await gateway.upsertNsgRule(change.nsgId, change.rule);
        }
        return { rules: op.rules.map((r) => ({ nsgId: r.nsgId, name: r.rule.name, source: r.rule.sourceAddressPrefix ?? r.rule.sourceAddressPrefixes, ports: r.rule.destinationPortRange ?? r.rule.destinationPortRanges })) };
      case 'offlineRepair':
        // run() hands these jobs to the repair runner before any fix step; reaching here is a bug
        throw new DomainError('internal', 'an offline repair is run by the repair runner, not as one ARM step');
    }
  }

  // --- issue #15: offline repair (services/incidents/repair-runner.ts) ---
  private repairRunner(job: Job): RepairRunner {
    const { gateway, store, logger, observer } = this.deps;
    if (!isRepairGateway(gateway)) throw new DomainError('approval-invalid', 'the gateway cannot run an offline repair', { params: { detailKey: 'runbook.param.repairUnsupported' } });
    return new RepairRunner({ store, gateway, logger, observer, now: this.now, ...this.deps.repair }, job);
  }

  /**
   * An interrupted offline repair, taken over by this process (the interruption was marked once,
   * atomically, so no other process has it): running again under a new lease, resumed or rolled
   * back by the repair runner. false when it cannot be taken (reported interrupted instead).
   */
  private async resumeRepair(job: Job): Promise<boolean> {
    const leaseInMs = this.deps.leaseInMs ?? 60000;
    let taken: Job | null;
    let runner: RepairRunner;
    try {
      runner = this.repairRunner(job);
      taken = await this.deps.store.jobs.update(job.id, { state: 'running', leaseUntil: new Date(this.now().getTime() + leaseInMs).toISOString() });
    } catch (e) {
      this.deps.logger.warn({ err: e, jobId: job.id }, 'the interrupted offline repair could not be taken over');
      return false;
    }
    if (!taken) return false;
    await this.audit(taken, 'job.recovering', { steps: taken.steps.map((st) => `${st.name}:${st.state}`) });
    this.deps.jobs.run(`repair-resume:${job.id}`, async () => {
      const heartbeat = setInterval(() => {
        void this.deps.store.jobs.renew(job.id, new Date(this.now().getTime() + leaseInMs).toISOString()).catch((e: unknown) => this.deps.logger.warn({ err: e, jobId: job.id }, 'lease renewal failed'));
      }, Math.max(1000, Math.floor(leaseInMs / 3)));
      try {
        await runner.resume(this.now());
      } finally {
        clearInterval(heartbeat);
      }
    });
    return true;
  }
  // --- end issue #15 ---

  private async step(job: Job, name: JobStepName, observer: FixObserver, work: () => Promise<Record<string, unknown>>, opts: { audit?: boolean } = {}): Promise<Job> {
    const withStep = (j: Job, s: JobStep): JobStep[] => (j.steps.some((x) => x.name === name) ? j.steps.map((x) => (x.name === name ? s : x)) : [...j.steps, s]);
    let current = await this.save(job, { steps: withStep(job, { name, state: 'running', at: this.now().toISOString() }) });
    await observer.progress(current).catch((e) => this.deps.logger.warn({ err: e }, 'progress update failed'));
    const detail = await work();
    current = await this.save(current, { steps: withStep(current, { name, state: 'done', at: this.now().toISOString(), detail }) });
    if (opts.audit !== false) await this.audit(current, `job.step.${name}`, detail);
    await observer.progress(current).catch((e) => this.deps.logger.warn({ err: e }, 'progress update failed'));
    return current;
  }

  private async fail(stale: Job, observer: FixObserver, e: unknown): Promise<void> {
    // the step that threw saved its 'running' state; the caller's copy predates it
    const job = (await this.deps.store.jobs.get(stale.id)) ?? stale;
    const err = isDomainError(e) ? e : new DomainError('internal', (e as Error).message, { cause: e });
    if (!isDomainError(e)) this.deps.logger.error({ err: e, jobId: job.id }, 'fix job failed unexpectedly');
    const failedStep = job.steps.find((s) => s.state === 'running')?.name;
    const steps = job.steps.map((s) => (s.state === 'running' ? { ...s, state: 'failed' as const, detail: { code: err.code } } : s));
    const failed = await this.save(job, { state: 'failed', steps, error: { code: err.code, params: err.params, step: failedStep } });
    await this.audit(failed, 'job.failed', { code: err.code, message: err.message, step: failedStep, done: steps.filter((s) => s.state === 'done').map((s) => s.name) });
    const incident = await this.deps.store.incidents.transition(job.incidentId, ['fixing'], { state: 'failed', error: { code: err.code, params: err.params } });
    await observer.finished(failed, incident ?? (await this.deps.store.incidents.get(job.incidentId)));
  }

  private async save(job: Job, patch: Partial<Job>): Promise<Job> {
    return (await this.deps.store.jobs.update(job.id, patch)) ?? { ...job, ...patch };
  }

  private async audit(job: Job, action: string, details: Record<string, unknown>): Promise<void> {
    await recordAudit(this.deps.store, this.now(), SYSTEM_ACTOR, action, { incidentId: job.incidentId, vmId: job.vmId }, { jobId: job.id, fixId: job.fixId, ...details });
  }
}

/** A plan that cannot be worked out again as approved: refused before any change. */
function planChanged(e: unknown): DomainError {
  const why = isDomainError(e) && typeof e.params.detail === 'string' ? e.params.detail : '';
  return new DomainError('approval-invalid', `the plan cannot be worked out again: ${(e as Error).message}`, { params: { detailKey: why ? 'plans.changedBecause' : 'plans.changed', why }, cause: e });
}

/** Another job runs on the VM: the queue should offer this job again later. */
export class VmBusyError extends Error {
  constructor(vm: string) {
    super(`another fix runs on ${vm}`);
    this.name = 'VmBusyError';
  }
}

function parseStatus(stdout: string): Record<string, unknown> | null {
  const line = stdout.trim().split(/\r?\n/).pop() ?? '';
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
