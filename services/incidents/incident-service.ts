import { randomUUID } from 'node:crypto';
import type { AzureGateway, VmSummary } from '../azure/gateway';
import { DomainError, isDomainError } from '../errors';
import type { Lang } from '../i18n';
import type { Logger } from '../log';
import type { AppStore } from '../store/store';
import { diagnoseVm, toRecord, type DiagnosisPhase, type DiagnosisReport } from './diagnosis';
import type { JobRunner } from './jobs';
import { RateLimiter } from './rate-limit';
import { inSelfServiceScope, scopeIsEmpty, type SelfServiceScope } from './self-service';
import { findVmCandidates } from './vm-lookup';
import type { DiagnosisRecord, Incident, Person, Symptom } from './model';
import { identityOf, samePerson } from './identity';

export interface DiagnosisObserver {
  phase(incident: Incident, phase: DiagnosisPhase): Promise<void>;
  done(incident: Incident, record: DiagnosisRecord): Promise<void>;
  failed(incident: Incident, error: DomainError): Promise<void>;
}

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

  constructor(private readonly deps: IncidentServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.limiter = new RateLimiter(deps.diagnosesPerHour ?? 20, 3600_000, () => this.now().getTime());
    this.searches = new RateLimiter(deps.searchesPerHour ?? 60, 3600_000, () => this.now().getTime());
    this.opened = new RateLimiter(deps.incidentsPerHour ?? 30, 3600_000, () => this.now().getTime());
  }

  /** A person's search: counted against their hourly limit before Azure is asked anything. */
  async resolveVmFor(person: Person, query: string): Promise<VmSummary[]> {
    if (!this.searches.take(identityOf(person))) {
      this.deps.logger.warn({ actor: identityOf(person) }, 'search limit reached');
      throw new DomainError('rate-limited', `${person.id} searched too often`, { params: { messageKey: 'limits.searches' } });
    }
    const found = await this.resolveVm(query);
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
    if (!this.opened.take(identityOf(p.requester))) {
      await this.deps.store.audit.append({ at: this.now().toISOString(), actor: p.requester.aadObjectId ?? p.requester.id, action: 'incident.rateLimited', details: {} });
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
    return incident;
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
    return next;
  }

  async cancel(incidentId: string, actor: Person): Promise<Incident | null> {
    const incident = await this.get(incidentId);
    this.assertRequester(incident, actor);
    const next = await this.deps.store.incidents.transition(incidentId, ['picking', 'awaiting-consent'], { state: 'cancelled' });
    if (next) await this.audit(actor, 'incident.cancelled', next, {});
    return next;
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
    if (!this.limiter.take(identityOf(actor))) {
      await this.audit(actor, 'diagnosis.rateLimited', incident, {});
      throw new DomainError('rate-limited', `${actor.id} started too many diagnoses`);
    }
    const next = await this.deps.store.incidents.transition(incidentId, ['awaiting-consent', 'diagnosed', 'failed', 'blocked', 'resolved'], {
      state: 'diagnosing',
      error: undefined,
      diagnosisLeaseUntil: this.leaseUntil(),
      ...(cardActivityId ? { cardActivityId } : {}),
    });
    if (!next) return null;
    await this.audit(actor, 'diagnosis.started', next, {});
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
        onPhase: (phase) => observer.phase(incident, phase).catch((e) => logger.warn({ err: e }, 'progress update failed')),
      });
    } catch (e) {
      const err = isDomainError(e) ? e : new DomainError('internal', (e as Error).message, { cause: e });
      if (!isDomainError(e)) logger.error({ err: e, incidentId: incident.id }, 'diagnosis failed unexpectedly');
      const failed =
        (await this.deps.store.incidents.transition(incident.id, ['diagnosing'], {
          state: 'failed',
          error: { code: err.code, params: err.params },
          diagnosisLeaseUntil: undefined,
        })) ?? incident;
      await this.audit({ id: 'rdp-doctor' }, 'diagnosis.failed', failed, { code: err.code, message: err.message });
      await observer.failed(failed, err);
      return;
    }
    const record = toRecord(report, this.now());
    const done =
      (await this.deps.store.incidents.transition(incident.id, ['diagnosing'], {
        state: report.blocked ? 'blocked' : 'diagnosed',
        diagnosis: record,
        diagnosisLeaseUntil: undefined,
      })) ?? incident;
    await this.audit({ id: 'rdp-doctor' }, 'diagnosis.completed', done, {
      findings: record.findings.map((f) => f.id),
      runCommandCalls: record.runCommandCalls,
      elapsedMs: record.elapsedMs,
    });
    await observer.done(done, record);
  }

  private assertRequester(incident: Incident, actor: Person): void {
    if (!samePerson(incident.requester, actor)) {
      throw new DomainError('not-allowed', `${actor.id} is not the requester of ${incident.id}`, { params: { detailKey: 'incident.onlyRequester' } });
    }
  }

  private async audit(actor: Person, action: string, incident: Incident, details: Record<string, unknown>): Promise<void> {
    await this.deps.store.audit.append({
      at: this.now().toISOString(),
      actor: actor.aadObjectId ?? actor.id,
      action,
      incidentId: incident.id,
      vmId: incident.vmId,
      details,
    });
  }
}
