import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { Approval, ApprovalVote, Job, JobState } from '../../incidents/model';
import { withVote, type ApprovalRepo, type JobRepo } from '../store';
import { CONFLICT, compareAndSet, docProps, getOrNull, idKey, PRECONDITION_FAILED, query, readDoc, vmKey, type Entity } from './tables';

/**
 * Approvals, their jobs and the VM's lock share one partition per VM (`vm-<hash>`), so that the
 * two steps that must be atomic are one entity-group transaction each:
 * - decide: the approval (ETag-conditional) + the creation of its job;
 * - claim: the VM's lock entity (ETag-conditional) + the job queued -> running.
 * Ids are found through small reference entities (`ref-approval-<id>`, `ref-job-<id>`).
 */
const LOCK = 'lock';
const vmPartition = (vmId: string) => `vm-${vmKey(vmId)}`;
const approvalRow = (id: string) => `approval-${idKey(id)}`;
const jobRow = (id: string) => `job-${idKey(id)}`;
const refPartition = (kind: 'approval' | 'job', id: string) => `ref-${kind}-${idKey(id)}`;

const byCreated = <T extends { createdAt: string }>(a: T, b: T) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0);

/** Finds the partition of an approval or a job by its id; the mapping never changes, so it is cached. */
class Refs {
  private readonly cache = new Map<string, string>();

  constructor(private readonly table: TableClient) {}

  async write(kind: 'approval' | 'job', id: string, vmId: string): Promise<void> {
    await this.table.upsertEntity({ partitionKey: refPartition(kind, id), rowKey: 'ref', kind: 'ref', partition: vmPartition(vmId) }, 'Replace');
  }

  async find(kind: 'approval' | 'job', id: string): Promise<string | null> {
    const key = refPartition(kind, id);
    const hit = this.cache.get(key);
    if (hit) return hit;
    const e = await getOrNull(this.table, key, 'ref');
    if (!e || typeof e.partition !== 'string') return null;
    this.cache.set(key, e.partition);
    return e.partition;
  }
}

function approvalEntity(a: Approval) {
  return { partitionKey: vmPartition(a.vmId), rowKey: approvalRow(a.id), kind: 'approval', state: a.state, incidentId: a.incidentId, createdAt: a.createdAt, ...docProps(a) };
}

function jobEntity(j: Job, owner = '') {
  return { partitionKey: vmPartition(j.vmId), rowKey: jobRow(j.id), kind: 'job', state: j.state, createdAt: j.createdAt, leaseUntil: j.leaseUntil ?? '', owner, ...docProps(j) };
}

export class AzureJobRepo implements JobRepo {
  readonly refs: Refs;

  /** `owner` names this process in the job and lock entities it claims (for operators and tests). */
  constructor(private readonly table: TableClient, private readonly owner: string) {
    this.refs = new Refs(table);
  }

  /** The job entity with its ETag, or null. */
  async read(id: string): Promise<{ job: Job; entity: Entity; partition: string } | null> {
    const partition = await this.refs.find('job', id);
    if (!partition) return null;
    const entity = await getOrNull(this.table, partition, jobRow(id));
    return entity ? { job: readDoc<Job>(entity), entity, partition } : null;
  }

  /** The create action of a new job, for the decision's transaction (its reference is written first). */
  async createAction(job: Job): Promise<TransactionAction> {
    await this.refs.write('job', job.id, job.vmId);
    return ['create', jobEntity(job)];
  }

  async get(id: string): Promise<Job | null> {
    return (await this.read(id))?.job ?? null;
  }

  claim(id: string, leaseUntil: string): Promise<Job | null> {
    return compareAndSet(async () => {
      const cur = await this.read(id);
      if (!cur || cur.job.state !== 'queued') return null;
      const partition = cur.partition;
      const lock = await getOrNull(this.table, partition, LOCK);
      const holder = typeof lock?.holder === 'string' ? lock.holder : '';
      if (holder && holder !== id) {
        // the lock is free once its holder no longer runs: a holder can only start running by
        // taking the lock, which moves its ETag and makes this transaction fail
        const other = await getOrNull(this.table, partition, jobRow(holder));
        if (other && other.state === 'running') return null;
      }
      const next: Job = { ...cur.job, state: 'running', leaseUntil, updatedAt: new Date().toISOString() };
      const lockEntity = { partitionKey: partition, rowKey: LOCK, kind: 'lock', holder: id, owner: this.owner, leaseUntil };
      await this.table.submitTransaction([
        lock ? ['update', lockEntity, 'Replace', { etag: lock.etag }] : ['create', lockEntity],
        ['update', jobEntity(next, this.owner), 'Replace', { etag: cur.entity.etag }],
      ]);
      return next;
    }, [PRECONDITION_FAILED, CONFLICT]);
  }

  renew(id: string, leaseUntil: string): Promise<boolean> {
    return compareAndSet(async () => {
      const cur = await this.read(id);
      if (!cur || cur.job.state !== 'running') return false;
      const next: Job = { ...cur.job, leaseUntil, updatedAt: new Date().toISOString() };
      await this.table.updateEntity(jobEntity(next, String(cur.entity.owner ?? '')), 'Replace', { etag: cur.entity.etag });
      return true;
    });
  }

  update(id: string, patch: Partial<Omit<Job, 'id'>>): Promise<Job | null> {
    return compareAndSet(async () => {
      const cur = await this.read(id);
      if (!cur) return null;
      const next: Job = { ...cur.job, ...patch, id, updatedAt: new Date().toISOString() };
      await this.table.updateEntity(jobEntity(next, String(cur.entity.owner ?? '')), 'Replace', { etag: cur.entity.etag });
      return next;
    });
  }

  async listByState(states: JobState[], limit = 100): Promise<Job[]> {
    if (states.length === 0) return [];
    const filter = `kind eq 'job' and (${states.map((s) => odata`state eq ${s}`).join(' or ')})`;
    return (await query(this.table, filter)).map((e) => readDoc<Job>(e)).sort(byCreated).slice(0, limit);
  }

  /** Never `all` with several instances: only a lease that ran out says its instance is gone. */
  async interruptAbandoned(opts: { now: Date; all?: boolean }): Promise<Job[]> {
    const cutoff = opts.now.toISOString();
    const out: Job[] = [];
    for (const candidate of await this.listByState(['running'], 1000)) {
      const next = await compareAndSet(async () => {
        const cur = await this.read(candidate.id);
        if (!cur || cur.job.state !== 'running') return null;
        if (!opts.all && (cur.job.leaseUntil ?? '') >= cutoff) return null;
        const steps = cur.job.steps.map((s) => (s.state === 'running' ? { ...s, state: 'failed' as const } : s));
        const job: Job = { ...cur.job, state: 'interrupted', steps, updatedAt: new Date().toISOString() };
        await this.table.updateEntity(jobEntity(job, String(cur.entity.owner ?? '')), 'Replace', { etag: cur.entity.etag });
        return job;
      });
      if (next) out.push(next);
    }
    return out;
  }
}

export class AzureApprovalRepo implements ApprovalRepo {
  private readonly refs: Refs;

  constructor(private readonly table: TableClient, private readonly jobs: AzureJobRepo) {
    this.refs = new Refs(table);
  }

  private async read(id: string): Promise<{ approval: Approval; entity: Entity; partition: string } | null> {
    const partition = await this.refs.find('approval', id);
    if (!partition) return null;
    const entity = await getOrNull(this.table, partition, approvalRow(id));
    return entity ? { approval: readDoc<Approval>(entity), entity, partition } : null;
  }

  async create(a: Approval): Promise<void> {
    await this.refs.write('approval', a.id, a.vmId);
    await this.table.createEntity(approvalEntity(a));
  }

  async get(id: string): Promise<Approval | null> {
    return (await this.read(id))?.approval ?? null;
  }

  decide(id: string, decision: Pick<Approval, 'state' | 'decidedBy' | 'decidedAt' | 'reason'>, job?: Job): Promise<{ approval: Approval; job?: Job } | null> {
    return compareAndSet(async () => {
      const cur = await this.read(id);
      if (!cur || cur.approval.state !== 'pending') return null;
      const next: Approval = { ...cur.approval, ...decision, jobId: job?.id ?? cur.approval.jobId };
      const actions: TransactionAction[] = [['update', approvalEntity(next), 'Replace', { etag: cur.entity.etag }]];
      if (job) {
        if (vmPartition(job.vmId) !== cur.partition) throw new Error(`job ${job.id} is not for the approval's VM`);
        actions.push(await this.jobs.createAction(job));
      }
      await this.table.submitTransaction(actions);
      return { approval: next, job };
    });
  }

  addCard(id: string, card: Approval['cards'][number]): Promise<void> {
    return compareAndSet(async () => {
      const cur = await this.read(id);
      if (!cur) return;
      const next: Approval = { ...cur.approval, cards: [...cur.approval.cards, card] };
      await this.table.updateEntity(approvalEntity(next), 'Replace', { etag: cur.entity.etag });
    });
  }

  vote(id: string, vote: ApprovalVote, below: number): Promise<Approval | null> {
    return compareAndSet(async () => {
      const cur = await this.read(id);
      const next = cur ? withVote(cur.approval, vote, below) : null;
      if (!cur || !next) return null;
      await this.table.updateEntity(approvalEntity(next), 'Replace', { etag: cur.entity.etag });
      return next;
    });
  }

  removeCards(id: string, drop: (card: Approval['cards'][number]) => boolean): Promise<number> {
    return compareAndSet(async () => {
      const cur = await this.read(id);
      if (!cur) return 0;
      const kept = cur.approval.cards.filter((c) => !drop(c));
      if (kept.length === cur.approval.cards.length) return 0;
      await this.table.updateEntity(approvalEntity({ ...cur.approval, cards: kept }), 'Replace', { etag: cur.entity.etag });
      return cur.approval.cards.length - kept.length;
    });
  }

  async listPending(limit = 50, order: 'oldest' | 'newest' = 'oldest'): Promise<Approval[]> {
    const all = (await query(this.table, "kind eq 'approval' and state eq 'pending'")).map((e) => readDoc<Approval>(e)).sort(byCreated);
    return (order === 'newest' ? all.reverse() : all).slice(0, limit);
  }

  async listByIncident(incidentId: string): Promise<Approval[]> {
    return (await query(this.table, odata`kind eq 'approval' and incidentId eq ${incidentId}`)).map((e) => readDoc<Approval>(e)).sort(byCreated);
  }
}
