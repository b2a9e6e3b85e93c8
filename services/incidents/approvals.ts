import { createHash, randomUUID } from 'node:crypto';
import { DomainError } from '../errors';
import type { Logger } from '../log';
import { buildFixRun, FIX_PARAMS, FIXES, isFixId } from '../runbook/fixes';
import { highRiskKinds, type FixPlan, type HighRiskKind } from '../runbook/plan';
import type { AppStore } from '../store/store';
import { recordAudit } from './audit';
import type { Approval, Incident, Job, Person } from './model';
import { identityOf, samePerson } from './identity';
import { RateLimiter } from './rate-limit';

export interface ApprovalPolicy {
  /** Entra object ids of the approvers */
  approverIds: string[];
  allowSelfApproval: boolean;
  ttlMinutes: number;
  /** plans with these kinds of change need two different approvers (TWO_PERSON_FIXES); empty: one */
  twoPerson?: readonly HighRiskKind[];
  /** new fix requests one person may make per hour (a request that merges into a pending one is not counted) */
  fixRequestsPerHour?: number;
}

/** Works out the exact plan of a requested fix (the undo of a job included) from the VM as it is now. */
export interface Planner {
  plan(incident: Incident, fixId: string, params: Record<string, unknown>): Promise<FixPlan>;
}

export type Decision = 'approve' | 'reject';

export interface DecisionResult {
  approval: Approval;
  job?: Job;
  /** 'already': someone decided first (or it expired); 'voted': one of two approvals recorded */
  outcome: 'decided' | 'already' | 'voted';
}

/**
 * The seal of an approval: what exactly may run, on which VM, for which incident: the fix, a
 * SHA-256 of the parameters and of the plan (script and parameters, NSG rules before -> after,
 * restart, what else the NSGs reach) and how many approvers it needs.
 */
export function approvalHash(a: Pick<Approval, 'incidentId' | 'vmId' | 'fixId' | 'params' | 'plan' | 'approvalsRequired'>): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
        : v;
  const sealed: Record<string, unknown> = { incidentId: a.incidentId, vmId: a.vmId.toLowerCase(), fixId: a.fixId, params: a.params };
  if (a.plan !== undefined) sealed.plan = a.plan;
  if (a.approvalsRequired !== undefined && a.approvalsRequired > 1) sealed.approvalsRequired = a.approvalsRequired;
  return createHash('sha256').update(JSON.stringify(canonical(sealed))).digest('hex');
}

const refuse = (detailKey: string, params: Record<string, string | number> = {}) =>
  new DomainError('approval-invalid', detailKey, { params: { ...params, detailKey } });

/**
 * Nothing changes on a VM unless the right person approved exactly that change: requests are
 * bound server-side to incident, VM, fix and a hash of the parameters; a decision is taken
 * once, atomically; every refusal is recorded.
 */
export class ApprovalService {
  private readonly approvers: Set<string>;
  private readonly now: () => Date;
  private readonly requests: RateLimiter;
  /** one request at a time per incident in this process: a double click finds the first one's approval */
  private readonly requesting = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: { store: AppStore; policy: ApprovalPolicy; logger: Logger; now?: () => Date; planner?: Planner }) {
    this.approvers = new Set(deps.policy.approverIds.map((id) => id.toLowerCase()));
    this.now = deps.now ?? (() => new Date());
    this.requests = new RateLimiter('fix-requests', deps.policy.fixRequestsPerHour ?? 20, 3600_000, () => this.now().getTime(), deps.store.limits);
  }

  isApprover(person: Person): boolean {
    return !!person.aadObjectId && this.approvers.has(person.aadObjectId.toLowerCase());
  }

  approverIds(): string[] {
    return [...this.approvers];
  }

  /** Only the fix's own parameters, without empty optional inputs of the card. */
  static fixParams(fixId: string, data: Record<string, unknown>): Record<string, unknown> {
    if (!isFixId(fixId)) return {};
    const shape = (FIX_PARAMS[fixId] as unknown as { shape?: Record<string, unknown> }).shape ?? {};
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(shape)) {
      const v = data[key];
      if (v !== undefined && v !== null && v !== '') out[key] = v;
    }
    return out;
  }

  async request(incident: Incident, fixId: string, params: Record<string, unknown>, actor: Person): Promise<Approval> {
    return (await this.submit(incident, fixId, params, actor)).approval;
  }

  /**
   * A fix request; `created` is false when it merged into the same pending request (a double
   * click, the same request again): then no new card should be posted anywhere.
   */
  async submit(incident: Incident, fixId: string, params: Record<string, unknown>, actor: Person): Promise<{ approval: Approval; created: boolean }> {
    return this.oneAtATime(incident.id, () => this.submitNow(incident, fixId, params, actor));
  }

  /** One request at a time per incident in this process: a double click finds the first one's approval. */
  private async oneAtATime<T>(incidentId: string, work: () => Promise<T>): Promise<T> {
    const before = this.requesting.get(incidentId) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(work);
    this.requesting.set(incidentId, mine);
    try {
      return await mine;
    } finally {
      if (this.requesting.get(incidentId) === mine) this.requesting.delete(incidentId);
    }
  }

  private async submitNow(incident: Incident, fixId: string, params: Record<string, unknown>, actor: Person): Promise<{ approval: Approval; created: boolean }> {
    if (!samePerson(incident.requester, actor) && !this.isApprover(actor)) {
      throw new DomainError('not-allowed', `${actor.id} may not request fixes for ${incident.id}`, { params: { detailKey: 'approval.onlyRequesterOrApprover' } });
    }
    if (!incident.diagnosis || !incident.vmId || !['diagnosed', 'blocked'].includes(incident.state)) {
      throw refuse('approval.notReady', { state: incident.state });
    }
    if (!incident.diagnosis.fixes.some((f) => f.id === fixId)) {
      throw new DomainError('bad-input', `fix ${fixId} does not address this diagnosis`, { params: { detailKey: 'approval.fixNotOffered', fix: fixId } });
    }
    // validates every parameter against the fix's schema and the diagnosis (throws bad-input);
    // offline-repair (issue #15) needs the VM's compute model: the planner validates it with the model it reads
    if (!(isFixId(fixId) && FIXES[fixId].readsVmModel)) buildFixRun(fixId, params, incident.diagnosis.facts ?? null, { nsgs: incident.diagnosis.nsgs ?? null, now: this.now() });
    // the exact plan, from the VM as it is now: what the card shows and the hash seals
    const plan = this.deps.planner ? await this.deps.planner.plan(incident, fixId, params) : undefined;
    return this.create(incident, fixId, params, plan, actor);
  }

  /** The undo of a completed fix: a fix request like any other, planned from what the fix recorded. */
  async requestUndo(incident: Incident, jobId: string, actor: Person): Promise<Approval> {
    return (await this.submitUndo(incident, jobId, actor)).approval;
  }

  /** As `requestUndo`; `created` is false when it merged into the same pending undo request. */
  async submitUndo(incident: Incident, jobId: string, actor: Person): Promise<{ approval: Approval; created: boolean }> {
    return this.oneAtATime(incident.id, () => this.submitUndoNow(incident, jobId, actor));
  }

  private async submitUndoNow(incident: Incident, jobId: string, actor: Person): Promise<{ approval: Approval; created: boolean }> {
    if (!samePerson(incident.requester, actor) && !this.isApprover(actor)) {
      throw new DomainError('not-allowed', `${actor.id} may not request an undo for ${incident.id}`, { params: { detailKey: 'approval.onlyRequesterOrApprover' } });
    }
    const job = await this.deps.store.jobs.get(jobId);
    if (!job || job.incidentId !== incident.id || job.state !== 'succeeded' || !incident.vmId) throw refuse('plans.undo.notPossible');
    if (incident.state === 'fixing') throw refuse('approval.notReady', { state: incident.state });
    if (!this.deps.planner) throw refuse('plans.undo.notPossible');
    const params = { jobId };
    const plan = await this.deps.planner.plan(incident, 'undo', params);
    return this.create(incident, 'undo', params, plan, actor);
  }

  private async create(incident: Incident, fixId: string, params: Record<string, unknown>, plan: FixPlan | undefined, actor: Person): Promise<{ approval: Approval; created: boolean }> {
    if (!incident.vmId) throw refuse('approval.notReady', { state: incident.state });
    const twoPerson = this.deps.policy.twoPerson ?? [];
    const approvalsRequired = plan && highRiskKinds(plan).some((k) => twoPerson.includes(k)) ? 2 : undefined;
    const bound = { incidentId: incident.id, vmId: incident.vmId, fixId, params, ...(plan ? { plan } : {}), ...(approvalsRequired ? { approvalsRequired } : {}) };
    const paramsHash = approvalHash(bound);
    const same = (await this.deps.store.approvals.listByIncident(incident.id)).filter((a) => a.paramsHash === paramsHash);
    const existing = same.find((a) => a.state === 'pending' && Date.parse(a.expiresAt) > this.now().getTime());
    if (existing) return { approval: existing, created: false }; // the same request twice (a double click): one approval
    if (!(await this.requests.take(identityOf(actor)))) {
      await this.auditRaw(actor, 'approval.rateLimited', { incidentId: incident.id, fixId });
      throw new DomainError('rate-limited', `${actor.id} requested too many fixes`, { params: { messageKey: 'limits.fixRequests' } });
    }
    const at = this.now();
    // the evidence behind the request: the diagnosis's findings that this fix addresses
    const addressed = incident.diagnosis?.fixes.find((f) => f.id === fixId)?.addresses ?? [];
    const findings = (incident.diagnosis?.findings ?? []).filter((f) => addressed.includes(f.id));
    const approval: Approval = {
      // the same request made twice at once, on two instances, gets the same id: one create wins
      id: requestId(incident.id, paramsHash, same.length),
      ...bound,
      ...(findings.length ? { findings } : {}),
      vmName: incident.vmName ?? '',
      paramsHash,
      requester: actor,
      lang: incident.lang,
      ...(incident.tz ? { tz: incident.tz } : {}),
      state: 'pending',
      createdAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + this.deps.policy.ttlMinutes * 60000).toISOString(),
      cards: [],
    };
    try {
      await this.deps.store.approvals.create(approval);
    } catch (e) {
      const winner = await this.deps.store.approvals.get(approval.id);
      if (winner) return { approval: winner, created: false };
      throw e;
    }
    await this.audit(actor, 'approval.requested', approval, { fixId, params, ...(plan ? { plan } : {}), ...(approvalsRequired ? { approvalsRequired } : {}) });
    return { approval, created: true };
  }

  async addCard(approvalId: string, card: Approval['cards'][number]): Promise<void> {
    await this.deps.store.approvals.addCard(approvalId, card);
  }

  /** Forgets the posted copies `drop` selects (e.g. a listing replaced by a newer one); returns how many. */
  removeCards(approvalId: string, drop: (card: Approval['cards'][number]) => boolean): Promise<number> {
    return this.deps.store.approvals.removeCards(approvalId, drop);
  }

  /** The requests waiting for a decision (the `approvals` listing). */
  listPending(limit: number, order: 'oldest' | 'newest'): Promise<Approval[]> {
    return this.deps.store.approvals.listPending(limit, order);
  }

  /** Whether a request of this incident still waits for a decision (and has not expired). */
  async hasPending(incidentId: string): Promise<boolean> {
    const now = this.now().getTime();
    return (await this.deps.store.approvals.listByIncident(incidentId)).some((a) => a.state === 'pending' && Date.parse(a.expiresAt) > now);
  }

  async get(approvalId: string): Promise<Approval> {
    const a = await this.deps.store.approvals.get(approvalId);
    if (!a) throw refuse('approval.unknown');
    return a;
  }

  /** An approver's reason for a rejection as it is kept and shown: one line of plain text, at most 500 characters. */
  static reasonText(raw: unknown): string | undefined {
    if (typeof raw !== 'string') return undefined;
    const s = raw.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 500);
    return s || undefined;
  }

  async decide(approvalId: string, actor: Person, decision: Decision, opts: { reason?: string } = {}): Promise<DecisionResult> {
    const approval = await this.deps.store.approvals.get(approvalId);
    if (!approval) {
      await this.auditRaw(actor, 'approval.refused', { approvalId: approvalId.slice(0, 64), reason: 'unknown' });
      throw refuse('approval.unknown');
    }
    if (approval.state !== 'pending') return { approval, outcome: 'already' };
    if (!this.isApprover(actor)) {
      await this.audit(actor, 'approval.refused', approval, { reason: 'not-approver', decision });
      throw new DomainError('not-allowed', 'not an approver', { params: { detailKey: 'approval.notApprover' } });
    }
    if (samePerson(approval.requester, actor) && !this.deps.policy.allowSelfApproval) {
      await this.audit(actor, 'approval.refused', approval, { reason: 'self-approval', decision });
      throw refuse('approval.self');
    }
    if (approvalHash(approval) !== approval.paramsHash) {
      await this.audit(actor, 'approval.refused', approval, { reason: 'hash-mismatch', decision });
      throw refuse('approval.tampered');
    }
    const at = this.now().toISOString();
    if (Date.parse(approval.expiresAt) <= this.now().getTime()) {
      const expired = await this.deps.store.approvals.decide(approvalId, { state: 'expired', decidedAt: at });
      await this.audit(actor, 'approval.refused', approval, { reason: 'expired', decision });
      if (expired) await this.audit({ id: 'rdp-doctor' }, 'approval.expired', expired.approval, {});
      throw refuse('approval.expired');
    }
    const required = approval.approvalsRequired ?? 1;
    const votes = approval.votes ?? [];
    if (decision === 'approve' && votes.some((v) => samePerson(v.by, actor))) {
      await this.audit(actor, 'approval.refused', approval, { reason: 'same-approver', decision });
      throw refuse('plans.twoPerson.sameApprover');
    }
    if (decision === 'approve' && votes.length + 1 < required) {
      const voted = await this.deps.store.approvals.vote(approvalId, { by: actor, at }, required - 1);
      if (!voted) return { approval: await this.get(approvalId), outcome: 'already' };
      await this.audit(actor, 'approval.approvedFirst', voted, { fixId: approval.fixId, params: approval.params, of: required });
      return { approval: voted, outcome: 'voted' };
    }
    const job: Job | undefined =
      decision === 'approve'
        ? {
            id: randomUUID(),
            approvalId: approval.id,
            incidentId: approval.incidentId,
            vmId: approval.vmId,
            vmName: approval.vmName,
            fixId: approval.fixId,
            params: approval.params,
            paramsHash: approval.paramsHash,
            ...(approval.plan ? { plan: approval.plan } : {}),
            ...(approval.approvalsRequired ? { approvalsRequired: approval.approvalsRequired } : {}),
            lang: approval.lang,
            state: 'queued',
            steps: [],
            createdAt: at,
            updatedAt: at,
          }
        : undefined;
    const reason = decision === 'reject' ? ApprovalService.reasonText(opts.reason) : undefined;
    const decided = await this.deps.store.approvals.decide(
      approvalId,
      { state: decision === 'approve' ? 'approved' : 'rejected', decidedBy: actor, decidedAt: at, ...(reason ? { reason } : {}) },
      job,
    );
    if (!decided) return { approval: await this.get(approvalId), outcome: 'already' };
    await this.audit(actor, decision === 'approve' ? 'approval.approved' : 'approval.rejected', decided.approval, {
      fixId: approval.fixId,
      params: approval.params,
      jobId: decided.job?.id,
      ...(decision === 'reject' ? { reason: reason ?? null } : {}),
    });
    return { approval: decided.approval, job: decided.job, outcome: 'decided' };
  }

  /** Pending approvals past their time: marked expired (so their cards can say so). */
  async expireDue(): Promise<Approval[]> {
    const out: Approval[] = [];
    for (const a of await this.deps.store.approvals.listPending(500)) {
      if (Date.parse(a.expiresAt) > this.now().getTime()) continue;
      const r = await this.deps.store.approvals.decide(a.id, { state: 'expired', decidedAt: this.now().toISOString() });
      if (r) {
        await this.audit({ id: 'rdp-doctor' }, 'approval.expired', r.approval, {});
        out.push(r.approval);
      }
    }
    return out;
  }

  private async audit(actor: Person, action: string, a: Approval, details: Record<string, unknown>): Promise<void> {
    await recordAudit(this.deps.store, this.now(), actor, action, { incidentId: a.incidentId, vmId: a.vmId }, { approvalId: a.id, ...details });
  }

  private async auditRaw(actor: Person, action: string, details: Record<string, unknown>): Promise<void> {
    await recordAudit(this.deps.store, this.now(), actor, action, null, details);
  }
}

/**
 * The id of the `n`th request of one fix with the same parameters on one incident: derived, not
 * random, so that two instances taking the same double click at once write the same row and the
 * store refuses the second (a UUID of version 8, RFC 9562's custom layout, from SHA-256).
 */
export function requestId(incidentId: string, paramsHash: string, n: number): string {
  const h = createHash('sha256').update(`${incidentId}\n${paramsHash}\n${n}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
