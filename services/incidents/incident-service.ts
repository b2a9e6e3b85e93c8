import { randomUUID } from 'node:crypto';
import type { AzureGateway, VmSummary } from '../azure/gateway';
import { parseVmId } from '../azure/arm-ids';
import { DomainError, isDomainError } from '../errors';
import type { Lang } from '../i18n';
import type { Logger } from '../log';
import type { AppStore } from '../store/store';
import { recordAudit } from './audit';
import { diagnoseVm, toRecord, type DiagnosisPhase, type DiagnosisReport } from './diagnosis';
import type { JobRunner } from './jobs';
import { RateLimiter } from './rate-limit';
import { inSelfServiceScope, scopeIsEmpty, type SelfServiceScope } from './self-service';
import { findVmCandidates, rankVmCandidates } from './vm-lookup';
import { SearchReuse } from './search-cache';
import type { ChatAddress, DiagnosisRecord, Incident, IncidentState, Person, Symptom } from './model';
import { identityOf, samePerson } from './identity';

export interface DiagnosisObserver {
  phase(incident: Incident, phase: DiagnosisPhase): Promise<void>;
  done(incident: Incident, record: DiagnosisRecord): Promise<void>;
  failed(incident: Incident, error: DomainError): Promise<void>;
  /** the incident was cancelled: its live card says so (and whether a Run Command had already gone out) */
  cancelled?(incident: Incident, runCommandSent: boolean): Promise<void>;
}

/** What a cancel stopped. `runCommandSent`: the diagnostic was already inside the VM; it cannot be recalled, its result is dropped. */
export interface CancelOutcome {
  incident: Incident;
  runCommandSent: boolean;
  /** pending fix requests of the incident that were withdrawn */
  withdrawn: number;
}

/** States a cancel stops: the journey up to the findings. A diagnosed incident's fix requests have their own end (reject, expiry). */
export const CANCELLABLE_STATES: IncidentState[] = ['picking', 'awaiting-consent', 'diagnosing'];
/** States a newer diagnosis of the same VM by the same person closes as superseded (never one with a pending fix request). */
const SUPERSEDABLE_STATES: IncidentState[] = ['awaiting-consent', 'diagnosed', 'blocked', 'failed'];

/** Thrown inside a diagnosis that was cancelled before its Run Command went out. */
class DiagnosisCancelled extends Error {}

export interface IncidentServiceDeps {
  store: AppStore;
  gateway: AzureGateway;
  jobs: JobRunner;
  logger: Logger;
  runCommandTimeoutInMs?: number;
  now?: () => Date;
  /** diagnoses one person may start per hour */
  diagnosesPerHour?: number;
  /** VM searches (Resource Graph queries) one person may cause per hour */
  searchesPerHour?: number;
  /** incidents one person may open per hour */
  incidentsPerHour?: number;
  /** how long a running diagnosis holds its lease without renewal (renewed while it runs) */
  leaseInMs?: number;
  /** SELF_SERVICE_SCOPE: the resource groups and tags whose VMs people other than approvers may diagnose (empty: all in scope) */
  selfService?: { scope: SelfServiceScope; isApprover: (p: Person) => boolean };
}

export const MAX_CANDIDATES = 10;

/**
 * The incident lifecycle up to the findings: open, pick a VM, consent, diagnose in the
 * background. Every state change is atomic (a double click moves it once) and audited.
 */
export class IncidentService {
  private readonly now: () => Date;
  private readonly limiter: RateLimiter;
  private readonly searches: RateLimiter;
  private readonly opened: RateLimiter;
  private readonly reuse: SearchReuse;
  /** keeps each incident's live card current; set by the chat layer (registerDiagnosisVerbs) */
  private observer?: DiagnosisObserver;

  constructor(private readonly deps: IncidentServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.limiter = new RateLimiter('diagnoses', deps.diagnosesPerHour ?? 20, 3600_000, () => this.now().getTime(), deps.store.limits);
    this.searches = new RateLimiter('searches', deps.searchesPerHour ?? 60, 3600_000, () => this.now().getTime(), deps.store.limits);
    this.opened = new RateLimiter('incidents', deps.incidentsPerHour ?? 30, 3600_000, () => this.now().getTime(), deps.store.limits);
    this.reuse = new SearchReuse(() => this.now().getTime());
  }

  /**
   * A person's search: counted against their hourly limit before Azure is asked anything. With
   * `reuse` (the message extension's search, sent as the person types) a text narrowing the
   * person's last complete answer is answered from it, uncharged (SearchReuse).
   */
  async resolveVmFor(person: Person, query: string, opts: { reuse?: boolean } = {}): Promise<VmSummary[]> {
    const q = query.trim();
    const reusable = opts.reuse === true && !parseVmId(q);
    const known = reusable ? this.reuse.narrow(identityOf(person), q) : undefined;
    if (known) return this.visibleTo(person, rankVmCandidates(known, q));
    if (!(await this.searches.take(identityOf(person)))) {
      this.deps.logger.warn({ actor: identityOf(person) }, 'search limit reached');
      throw new DomainError('rate-limited', `${person.id} searched too often`, { params: { messageKey: 'limits.searches' } });
    }
    if (!reusable) return this.visibleTo(person, await this.resolveVm(q));
    const found = await this.deps.gateway.findVms(q);
    this.reuse.remember(identityOf(person), q, found);
    return this.visibleTo(person, rankVmCandidates(found, q));
  }

  private visibleTo(person: Person, found: VmSummary[]): VmSummary[] {
    const scope = this.deps.selfService;
    if (!scope || scopeIsEmpty(scope.scope) || scope.isApprover(person)) return found;
    // outside the self-service scope a VM is not there for this person: not even its name is shown
    return found.filter((v) => inSelfServiceScope(scope.scope, v));
  }

  /** VMs matching the user's words: a resource id, else names containing the query (exact names first). */
  async resolveVm(query: string): Promise<VmSummary[]> {
    return findVmCandidates(this.deps.gateway, query);
  }

  async open(p: {
    requester: Person;
    conversation: Incident['conversation'];
    lang: Lang;
    /** the requester's time zone: cards updated later show times in it */
    tz?: string;
    symptom: Symptom;
    candidates: VmSummary[];
  }): Promise<Incident> {
    if (!(await this.opened.take(identityOf(p.requester)))) {
      await recordAudit(this.deps.store, this.now(), p.requester, 'incident.rateLimited', null, {});
      throw new DomainError('rate-limited', `${p.requester.id} opened too many incidents`, { params: { messageKey: 'limits.incidents' } });
    }
    const at = this.now().toISOString();
    const single = p.candidates.length === 1 ? p.candidates[0] : undefined;
    const incident: Incident = {
      id: randomUUID(),
      createdAt: at,
      updatedAt: at,
      state: single ? 'awaiting-consent' : 'picking',
      lang: p.lang,
      ...(p.tz ? { tz: p.tz } : {}),
      symptom: p.symptom,
      requester: p.requester,
      conversation: p.conversation,
      vmId: single?.id,
      vmName: single?.name,
      candidates: p.candidates.map((c) => c.id),
    };
    await this.deps.store.incidents.create(incident);
    await this.audit(p.requester, 'incident.opened', incident, { symptom: p.symptom, candidates: incident.candidates.length });
    if (single) await this.supersedeOthers(incident);
    return incident;
  }

  /** The observer that updates live cards on changes that do not come from a diagnosis run (a cancel). */
  useObserver(observer: DiagnosisObserver): void {
    this.observer = observer;
  }

  /**
   * A newer incident of the same VM by the same person takes over: the older ones that wait for
   * nothing but the person (consent, findings, a failed run) close as superseded. One with a
   * pending fix request stays open (it waits for an approver); a running diagnosis or fix too.
   */
  private async supersedeOthers(incident: Incident): Promise<void> {
    if (!incident.vmId) return;
    const now = this.now().getTime();
    for (const other of await this.deps.store.incidents.listByVm(incident.vmId, 50, { states: SUPERSEDABLE_STATES, requester: incident.requester })) {
      if (other.id === incident.id || !SUPERSEDABLE_STATES.includes(other.state) || !samePerson(other.requester, incident.requester)) continue;
      const pending = (await this.deps.store.approvals.listByIncident(other.id)).some((a) => a.state === 'pending' && Date.parse(a.expiresAt) > now);
      if (pending) continue;
      const closed = await this.deps.store.incidents.transition(other.id, [other.state], { state: 'closed', closedReason: 'superseded', supersededBy: incident.id, diagnosisLeaseUntil: undefined });
      if (closed) await this.audit({ id: 'rdp-doctor' }, 'incident.superseded', closed, { by: incident.id, was: other.state });
    }
  }

  /** The incidents not yet closed, resolved or superseded (`status`). */
  listOpen(limit: number): Promise<Incident[]> {
    return this.deps.store.incidents.listOpen(limit);
  }

  async get(incidentId: string): Promise<Incident> {
    const incident = await this.deps.store.incidents.get(incidentId);
    if (!incident) throw new DomainError('not-found', `incident ${incidentId} not found`, { params: { what: 'incident' } });
    return incident;
  }

  async pick(incidentId: string, vmId: string, actor: Person): Promise<Incident> {
    const incident = await this.get(incidentId);
    this.assertRequester(incident, actor);
    const candidate = incident.candidates.find((c) => c.toLowerCase() === vmId.toLowerCase());
    if (!candidate) throw new DomainError('bad-input', 'picked VM was not offered', { params: { detail: 'vm' } });
    const vm = await this.deps.gateway.getVm(candidate);
    const next = await this.deps.store.incidents.transition(incidentId, ['picking'], {
      state: 'awaiting-consent',
      vmId: vm.id,
      vmName: vm.name,
    });
    if (!next) return this.get(incidentId); // already picked (double click): show the current state
    await this.audit(actor, 'incident.vmPicked', next, {});
    await this.supersedeOthers(next);
    return next;
  }

  /**
   * Stops an incident on its way to the findings: the VM choice, the consent, or a running
   * diagnosis. A diagnosis whose Run Command has not gone out never sends it; one already sent
   * cannot be recalled (it only reads): its result is dropped. Consent cards of a cancelled
   * incident no longer start anything, and its pending fix requests are withdrawn. null when
   * there was nothing to stop (already cancelled, diagnosed, ...).
   */
  async cancel(incidentId: string, actor: Person): Promise<CancelOutcome | null> {
    const incident = await this.get(incidentId);
    this.assertRequester(incident, actor);
    const next = await this.deps.store.incidents.transition(incidentId, CANCELLABLE_STATES, { state: 'cancelled', diagnosisLeaseUntil: undefined });
    if (!next) return null;
    // the transition is atomic with the one that marks the Run Command sent: `next` tells which came first
    const runCommandSent = !!next.runCommandSentAt;
    const withdrawn = await this.withdrawPending(next, actor);
    await this.audit(actor, 'incident.cancelled', next, { was: incident.state, runCommandSent, withdrawn });
    await this.observer?.cancelled?.(next, runCommandSent).catch((e: unknown) => this.deps.logger.warn({ err: e, incidentId }, 'could not show the cancel on the live card'));
    return { incident: next, runCommandSent, withdrawn };
  }

  /**
   * `cancel` typed in a conversation: everything of this person there that is on its way to
   * findings. `here` tells whether an incident's chat address is that conversation (the chat layer
   * knows the address's shape; the domain does not).
   */
  async cancelActive(actor: Person, here: (address: ChatAddress) => boolean): Promise<CancelOutcome[]> {
    const out: CancelOutcome[] = [];
    for (const i of await this.deps.store.incidents.listOpen(1000)) {
      if (!CANCELLABLE_STATES.includes(i.state) || !samePerson(i.requester, actor)) continue;
      if (!here(i.conversation)) continue;
      const done = await this.cancel(i.id, actor);
      if (done) out.push(done);
    }
    return out;
  }

  private async withdrawPending(incident: Incident, actor: Person): Promise<number> {
    let n = 0;
    for (const a of await this.deps.store.approvals.listByIncident(incident.id)) {
      if (a.state !== 'pending') continue;
      const r = await this.deps.store.approvals.decide(a.id, { state: 'withdrawn', decidedBy: actor, decidedAt: this.now().toISOString() });
      if (!r) continue;
      n++;
      await this.audit(actor, 'approval.withdrawn', incident, { approvalId: a.id, reason: 'incident-cancelled' });
    }
    return n;
  }

  async setCard(incidentId: string, cardActivityId: string | undefined): Promise<void> {
    if (cardActivityId) await this.deps.store.incidents.patch(incidentId, { cardActivityId });
  }

  /**
   * Consent given: moves the incident to `diagnosing` exactly once and runs the diagnosis in the
   * background. Returns null when it was not waiting for consent (a second click).
   */
  async startDiagnosis(incidentId: string, actor: Person, observer: DiagnosisObserver, cardActivityId?: string): Promise<Incident | null> {
    const incident = await this.get(incidentId);
    this.assertRequester(incident, actor);
    if (incident.state === 'diagnosing') return null; // a double click: no rate-limit hit for it
    if (!(await this.limiter.take(identityOf(actor)))) {
      await this.audit(actor, 'diagnosis.rateLimited', incident, {});
      throw new DomainError('rate-limited', `${actor.id} started too many diagnoses`);
    }
    // a cancelled incident stays cancelled: its old consent card refuses (stateCard says so)
    const next = await this.deps.store.incidents.transition(incidentId, ['awaiting-consent', 'diagnosed', 'failed', 'blocked', 'resolved', 'closed'], {
      state: 'diagnosing',
      error: undefined,
      diagnosisLeaseUntil: this.leaseUntil(),
      runCommandSentAt: undefined,
      closedReason: undefined,
      supersededBy: undefined,
      ...(cardActivityId ? { cardActivityId } : {}),
    });
    if (!next) return null;
    await this.audit(actor, 'diagnosis.started', next, {});
    await this.supersedeOthers(next);
    this.deps.jobs.run(`diagnose:${incidentId}`, () => this.runDiagnosis(next, observer));
    return next;
  }

  private leaseUntil(): string {
    return new Date(this.now().getTime() + (this.deps.leaseInMs ?? 60000)).toISOString();
  }

  /**
   * Diagnoses abandoned by a process that stopped (a crash, SIGKILL), like fix jobs: with `all`
   * (one process, at its start) every `diagnosing` incident, else those whose lease ran out. Each
   * moves to `failed` (interrupted) exactly once, is audited, and the requester is told; it can be
   * started again from there. Nothing is re-run by itself.
   */
  async recoverDiagnoses(observer: DiagnosisObserver, opts: { all: boolean }): Promise<Incident[]> {
    const cutoff = this.now().toISOString();
    const out: Incident[] = [];
    for (const i of await this.deps.store.incidents.listOpen(1000)) {
      if (i.state !== 'diagnosing') continue;
      if (!opts.all && (i.diagnosisLeaseUntil ?? '') >= cutoff) continue;
      const failed = await this.deps.store.incidents.transition(i.id, ['diagnosing'], { state: 'failed', error: { code: 'interrupted', params: {} }, diagnosisLeaseUntil: undefined });
      if (!failed) continue;
      await this.audit({ id: 'rdp-doctor' }, 'diagnosis.interrupted', failed, {});
      await observer
        .failed(failed, new DomainError('interrupted', `diagnosis of ${i.id} was interrupted`, { params: { messageKey: 'diagnosis.interrupted' } }))
        .catch((e: unknown) => this.deps.logger.warn({ err: e, incidentId: i.id }, 'could not report an interrupted diagnosis'));
      out.push(failed);
    }
    return out;
  }

  private async runDiagnosis(incident: Incident, observer: DiagnosisObserver): Promise<void> {
    const leaseInMs = this.deps.leaseInMs ?? 60000;
    const heartbeat = setInterval(() => {
      void this.deps.store.incidents.patch(incident.id, { diagnosisLeaseUntil: this.leaseUntil() }).catch((e: unknown) => this.deps.logger.warn({ err: e }, 'diagnosis lease renewal failed'));
    }, Math.max(1000, Math.floor(leaseInMs / 3)));
    try {
      await this.diagnose(incident, observer);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async diagnose(incident: Incident, observer: DiagnosisObserver): Promise<void> {
    const { logger } = this.deps;
    let report: DiagnosisReport;
    try {
      if (!incident.vmId) throw new DomainError('bad-input', 'incident has no VM', { params: { detail: 'vm' } });
      report = await diagnoseVm(this.deps.gateway, incident.vmId, {
        now: this.now,
        runCommandTimeoutInMs: this.deps.runCommandTimeoutInMs,
        onPhase: async (phase) => {
          if (phase === 'runCommand') {
            // the last moment a cancel can stop it: atomic with the cancel's own transition
            const sending = await this.deps.store.incidents.transition(incident.id, ['diagnosing'], { runCommandSentAt: this.now().toISOString() });
            if (!sending) throw new DiagnosisCancelled();
          }
          await observer.phase(incident, phase).catch((e: unknown) => logger.warn({ err: e }, 'progress update failed'));
        },
      });
    } catch (e) {
      if (e instanceof DiagnosisCancelled) {
        await this.audit({ id: 'rdp-doctor' }, 'diagnosis.stopped', incident, { runCommandSent: false });
        return;
      }
      const err = isDomainError(e) ? e : new DomainError('internal', (e as Error).message, { cause: e });
      if (!isDomainError(e)) logger.error({ err: e, incidentId: incident.id }, 'diagnosis failed unexpectedly');
      const failed = await this.deps.store.incidents.transition(incident.id, ['diagnosing'], {
        state: 'failed',
        error: { code: err.code, params: err.params },
        diagnosisLeaseUntil: undefined,
      });
      if (!failed) return this.discard(incident, { code: err.code });
      await this.audit({ id: 'rdp-doctor' }, 'diagnosis.failed', failed, { code: err.code, message: err.message });
      await observer.failed(failed, err);
      return;
    }
    const record = toRecord(report, this.now());
    // nothing wrong and nothing to offer: the incident is closed (healthy), it waits for no one
    const healthy = !report.blocked && record.fixes.length === 0 && record.findings.every((f) => f.severity === 'info');
    const done = await this.deps.store.incidents.transition(incident.id, ['diagnosing'], {
      state: report.blocked ? 'blocked' : healthy ? 'closed' : 'diagnosed',
      ...(healthy ? { closedReason: 'healthy' as const } : {}),
      diagnosis: record,
      diagnosisLeaseUntil: undefined,
    });
    if (!done) return this.discard(incident, { findings: record.findings.length, runCommandCalls: record.runCommandCalls });
    await this.audit({ id: 'rdp-doctor' }, 'diagnosis.completed', done, {
      findings: record.findings.map((f) => f.id),
      runCommandCalls: record.runCommandCalls,
      elapsedMs: record.elapsedMs,
    });
    await observer.done(done, record);
  }

  /** The run ended after a cancel (or another change) moved the incident on: its result is not shown anywhere. */
  private async discard(incident: Incident, details: Record<string, unknown>): Promise<void> {
    const now = await this.deps.store.incidents.get(incident.id);
    await this.audit({ id: 'rdp-doctor' }, 'diagnosis.discarded', incident, { state: now?.state ?? 'unknown', ...details });
  }

  private assertRequester(incident: Incident, actor: Person): void {
    if (!samePerson(incident.requester, actor)) {
      throw new DomainError('not-allowed', `${actor.id} is not the requester of ${incident.id}`, { params: { detailKey: 'incident.onlyRequester' } });
    }
  }

  private async audit(actor: Person, action: string, incident: Incident, details: Record<string, unknown>): Promise<void> {
    await recordAudit(this.deps.store, this.now(), actor, action, { incidentId: incident.id, vmId: incident.vmId }, details);
  }
}
