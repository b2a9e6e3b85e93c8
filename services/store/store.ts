import type { Storage } from 'botbuilder';
import { samePerson } from '../incidents/identity';
import type { JobQueue } from '../incidents/job-queue';
import type { LimitWindows } from '../incidents/rate-limit';
import type { SweepRepo } from './sweeps';
import type { SweepSpreadStore } from './sweep-spread';
import type { AuditPage, AuditPageFilter, AuditRecord, AuditVerification } from './audit-chain';
import type { Approval, ApprovalVote, AuditEntry, Incident, IncidentState, Job, JobState, KnownUser, Person } from '../incidents/model';

/**
 * Persistence behind one interface. `botStorage` keeps conversation and user state in the shape
 * botbuilder expects (ETag-guarded: a stale write is refused). The incident records of the fix
 * workflow are added here as repositories; SQLite is the default backend, Azure Storage the
 * scale-out one.
 */
export interface AppStore {
  readonly kind: 'sqlite' | 'azure';
  readonly botStorage: Storage;
  readonly incidents: IncidentRepo;
  readonly approvals: ApprovalRepo;
  readonly jobs: JobRepo;
  readonly users: UserRepo;
  readonly settings: SettingsRepo;
  readonly audit: AuditLog;
  readonly jobQueue: JobQueue;
  /** per-user limit windows shared by every instance; absent: each process keeps its own (one instance) */
  readonly limits?: LimitWindows;
  /** fleet sweeps (issue #16, docs/sweeps.md) */
  readonly sweeps: SweepRepo;
  /** a deep sweep's VMs spread over several instances (sweep-spread); absent: one process runs each sweep (SQLite) */
  readonly sweepSpread?: SweepSpreadStore;
  /** Resolves when the backend answers; rejects otherwise (`/readyz`). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class StaleETagError extends Error {
  constructor(key: string) {
    super(`Storage: error writing "${key}" due to eTag conflict.`);
    this.name = 'StaleETagError';
  }
}

export interface IncidentRepo {
  create(incident: Incident): Promise<void>;
  get(id: string): Promise<Incident | null>;
  /**
   * Atomic state change: applies `patch` only if the incident is in one of `from`; returns the
   * new incident, or null when it was not (someone else moved it first: a double click).
   */
  transition(id: string, from: IncidentState[], patch: Partial<Incident>): Promise<Incident | null>;
  /** Unconditional update of fields that are not the state (card id, progress). */
  patch(id: string, patch: Partial<Omit<Incident, 'state' | 'id'>>): Promise<Incident | null>;
  listOpen(limit?: number): Promise<Incident[]>;
  /**
   * The VM's `limit` (default 50) newest incidents, newest first; with `only`, those of them in
   * one of `states` and of `requester` (the same person by `samePerson`). A store may then skip
   * reading the documents of the others (supersede runs this on every new incident of a VM).
   */
  listByVm(vmId: string, limit?: number, only?: IncidentFilter): Promise<Incident[]>;
}

export interface IncidentFilter {
  states?: readonly IncidentState[];
  requester?: Pick<Person, 'id' | 'aadObjectId'>;
}

/** Whether an incident passes `listByVm`'s filter (for stores that read the documents anyway). */
export function matchesFilter(i: Pick<Incident, 'state' | 'requester'>, only: IncidentFilter | undefined): boolean {
  if (!only) return true;
  if (only.states && !only.states.includes(i.state)) return false;
  return !only.requester || samePerson(i.requester, only.requester);
}

/**
 * Append-only and tamper-evident: every entry is chained to the one before by a hash
 * (`audit-chain.ts`); the store refuses to replace or change an entry.
 */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  /** The latest `limit` (default 200) matching entries, in the order written. */
  list(filter: { vmId?: string; incidentId?: string; limit?: number }): Promise<AuditRecord[]>;
  /** Matching entries newest first, one page at a time (`olderThan` leads to the next page). */
  page(filter: AuditPageFilter): Promise<AuditPage>;
  /** Walks the whole chain, oldest first. */
  verify(): Promise<AuditVerification & { legacy?: number }>;
}

export interface ApprovalRepo {
  create(approval: Approval): Promise<void>;
  get(id: string): Promise<Approval | null>;
  /**
   * The decision, taken exactly once: moves a `pending` approval to `decision.state` and, for an
   * approval, creates its job in the same atomic step. Returns null when it was not pending.
   */
  decide(id: string, decision: Pick<Approval, 'state' | 'decidedBy' | 'decidedAt' | 'reason'>, job?: Job): Promise<{ approval: Approval; job?: Job } | null>;
  addCard(id: string, card: Approval['cards'][number]): Promise<void>;
  /**
   * Records one approver's approval of a request that needs more than one, atomically: only
   * while it is pending, only once per approver (one person: `samePerson`), and only while fewer than
   * `below` votes are recorded. Returns the updated approval, or null when it was not recorded.
   */
  vote(id: string, vote: ApprovalVote, below: number): Promise<Approval | null>;
  /** Forgets the copies `drop` selects (replaced by a newer listing, or their conversation is gone); returns how many. */
  removeCards(id: string, drop: (card: Approval['cards'][number]) => boolean): Promise<number>;
  /** pending approvals, oldest first (expiry) or newest first (the `approvals` command) */
  listPending(limit?: number, order?: 'oldest' | 'newest'): Promise<Approval[]>;
  listByIncident(incidentId: string): Promise<Approval[]>;
}

export interface JobRepo {
  get(id: string): Promise<Job | null>;
  /**
   * queued -> running with a lease until `leaseUntil`, only if no other job runs on the same VM;
   * null when it could not claim it (another instance did, or the VM is busy).
   */
  claim(id: string, leaseUntil: string): Promise<Job | null>;
  /** Extends the lease of a running job; false when the job is no longer running. */
  renew(id: string, leaseUntil: string): Promise<boolean>;
  /** Unconditional update of a job's progress (steps, result, state). */
  update(id: string, patch: Partial<Omit<Job, 'id'>>): Promise<Job | null>;
  listByState(states: JobState[], limit?: number): Promise<Job[]>;
  /**
   * Running jobs abandoned by a process that stopped: with `all`, every running job (one process,
   * at its start); else those whose lease ended before `now`. Each is marked interrupted exactly
   * once (atomically) and returned.
   */
  interruptAbandoned(opts: { now: Date; all?: boolean }): Promise<Job[]>;
}

export interface UserRepo {
  upsert(user: KnownUser): Promise<void>;
  get(id: string): Promise<KnownUser | null>;
  findByAadObjectId(aadObjectId: string): Promise<KnownUser | null>;
}

export interface SettingsRepo {
  get<T>(key: string): Promise<T | null>;
  set<T>(key: string, value: T): Promise<void>;
  /**
   * Sets the flag `key` to true unless it is true already, atomically across instances (first
   * writer wins); true when this call set it. `set(key, false)` releases it.
   */
  claim(key: string): Promise<boolean>;
}

/** The rule of ApprovalRepo.vote, shared by the backends: the approval with the vote, or null. */
export function withVote(current: Approval, vote: ApprovalVote, below: number): Approval | null {
  const votes = current.votes ?? [];
  if (current.state !== 'pending' || votes.length >= below || votes.some((v) => samePerson(v.by, vote.by))) return null;
  return { ...current, votes: [...votes, vote] };
}
