import type Database from 'better-sqlite3';
import type { Approval, ApprovalVote, AuditEntry, Incident, IncidentState, Job, JobState, KnownUser } from '../incidents/model';
import { OPEN_STATES } from '../incidents/model';
import { matchesFilter, withVote, type ApprovalRepo, type AuditLog, type IncidentFilter, type IncidentRepo, type JobRepo, type SettingsRepo, type UserRepo } from './store';
import { GENESIS_HASH, seal, verifyChain, type AuditPage, type AuditPageFilter, type AuditRecord, type AuditVerification } from './audit-chain';

type Db = Database.Database;

// Preparing a statement compiles its SQL each time (the bench profile showed it per turn): one per text and database.
const statements = new WeakMap<Db, Map<string, Database.Statement>>();
function prepared<P extends unknown[] = unknown[], R = unknown>(db: Db, sql: string): Database.Statement<P, R> {
  let byText = statements.get(db);
  if (!byText) statements.set(db, (byText = new Map()));
  let st = byText.get(sql);
  if (!st) byText.set(sql, (st = db.prepare(sql)));
  return st as unknown as Database.Statement<P, R>;
}

interface IncidentRow {
  doc: string;
}

/** What `listByVm`'s filter looks at, read from columns without the document. */
interface IncidentHead {
  id: string;
  state: IncidentState;
  requesterId: string;
  aad: string | null;
}

/** The requester's Entra object id as the `requester_aad` column keeps it (lower case; none when absent or empty). */
function requesterAad(i: Incident): string | null {
  return i.requester.aadObjectId ? i.requester.aadObjectId.toLowerCase() : null;
}

/** Incidents as JSON documents with their searchable columns beside them. */
export class SqliteIncidentRepo implements IncidentRepo {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly writeStmt;
  private readonly transitionTx;
  private readonly byVmStmt;
  private readonly byVmFilteredTx;

  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS incidents (
      id TEXT PRIMARY KEY,
      state TEXT NOT NULL,
      vm_id TEXT,
      requester_id TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS incidents_state ON incidents(state);
    CREATE INDEX IF NOT EXISTS incidents_vm ON incidents(vm_id, created_at);
    CREATE INDEX IF NOT EXISTS incidents_vm_lower ON incidents(lower(vm_id), created_at);`);
    // the requester's Entra id beside requester_id (a person is either: identity.ts), for listByVm's
    // filter; a database from before it gets the column filled from the documents, once
    db.transaction(() => {
      const columns = db.prepare<[], { name: string }>('PRAGMA table_info(incidents)').all().map((c) => c.name);
      if (columns.includes('requester_aad')) return;
      db.exec(`ALTER TABLE incidents ADD COLUMN requester_aad TEXT;
      UPDATE incidents SET requester_aad = lower(NULLIF(json_extract(doc, '$.requester.aadObjectId'), ''));`);
    }).immediate();
    this.insertStmt = db.prepare<[string, string, string | null, string, string | null, string, string, string]>(
      'INSERT INTO incidents (id, state, vm_id, requester_id, requester_aad, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.getStmt = db.prepare<[string], IncidentRow>('SELECT doc FROM incidents WHERE id = ?');
    // Azure resource ids compare case-insensitively: the expression index incidents_vm_lower serves this
    // query (every new incident of a VM runs it); without it each run scanned and sorted the whole table.
    this.byVmStmt = db.prepare<[string, number], IncidentRow>('SELECT doc FROM incidents WHERE lower(vm_id) = lower(?) ORDER BY created_at DESC LIMIT ?');
    // The filtered list parses only the documents that pass (the bench profile: parsing the 50
    // newest incidents of a VM on every new incident was the turn's largest cost; supersede keeps
    // one person's few). The filter reads the state and requester columns, not the documents
    // (json_extract on each cost half as much as parsing them); one read transaction, so the
    // heads and the documents agree.
    const headsStmt = db.prepare<[string, number], IncidentHead>(
      'SELECT id, state, requester_id AS requesterId, requester_aad AS aad FROM incidents WHERE lower(vm_id) = lower(?) ORDER BY created_at DESC LIMIT ?',
    );
    this.byVmFilteredTx = db.transaction((vmId: string, limit: number, only: IncidentFilter): Incident[] => {
      const out: Incident[] = [];
      for (const h of headsStmt.all(vmId, limit)) {
        if (!matchesFilter({ state: h.state, requester: { id: h.requesterId, aadObjectId: h.aad ?? undefined } }, only)) continue;
        const row = this.getStmt.get(h.id);
        if (row) out.push(JSON.parse(row.doc) as Incident);
      }
      return out;
    });
    this.writeStmt = db.prepare<[string, string | null, string, string, string]>(
      'UPDATE incidents SET state = ?, vm_id = ?, updated_at = ?, doc = ? WHERE id = ?',
    );
    this.transitionTx = db.transaction((id: string, from: IncidentState[] | null, patch: Partial<Incident>): Incident | null => {
      const row = this.getStmt.get(id);
      if (!row) return null;
      const current = JSON.parse(row.doc) as Incident;
      if (from && !from.includes(current.state)) return null;
      const next: Incident = { ...current, ...patch, id: current.id, updatedAt: new Date().toISOString() };
      this.writeStmt.run(next.state, next.vmId ?? null, next.updatedAt, JSON.stringify(next), id);
      return next;
    });
  }

  async create(i: Incident): Promise<void> {
    this.insertStmt.run(i.id, i.state, i.vmId ?? null, i.requester.id, requesterAad(i), i.createdAt, i.updatedAt, JSON.stringify(i));
  }

  async get(id: string): Promise<Incident | null> {
    const row = this.getStmt.get(id);
    return row ? (JSON.parse(row.doc) as Incident) : null;
  }

  async transition(id: string, from: IncidentState[], patch: Partial<Incident>): Promise<Incident | null> {
    return this.transitionTx(id, from, patch);
  }

  async patch(id: string, patch: Partial<Omit<Incident, 'state' | 'id'>>): Promise<Incident | null> {
    return this.transitionTx(id, null, patch);
  }

  async listOpen(limit = 50): Promise<Incident[]> {
    const marks = OPEN_STATES.map(() => '?').join(',');
    return prepared<unknown[], IncidentRow>(this.db, `SELECT doc FROM incidents WHERE state IN (${marks}) ORDER BY created_at DESC LIMIT ?`)
      .all(...OPEN_STATES, limit)
      .map((r) => JSON.parse(r.doc) as Incident);
  }

  async listByVm(vmId: string, limit = 50, only?: IncidentFilter): Promise<Incident[]> {
    if (only) return this.byVmFilteredTx(vmId, limit, only);
    return this.byVmStmt.all(vmId, limit).map((r) => JSON.parse(r.doc) as Incident);
  }
}

type AuditRow = { seq: number; at: string; actor: string; action: string; incident_id: string | null; vm_id: string | null; details: string | null; prev_hash: string | null; hash: string | null };

function auditRecord(r: AuditRow): AuditRecord {
  return {
    seq: r.seq,
    at: r.at,
    actor: r.actor,
    action: r.action,
    incidentId: r.incident_id ?? undefined,
    vmId: r.vm_id ?? undefined,
    details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : undefined,
    prevHash: r.prev_hash ?? '',
    hash: r.hash ?? '',
  };
}

/**
 * Append-only and hash-chained. Triggers refuse UPDATE, DELETE and an INSERT that names an
 * existing seq (INSERT OR REPLACE deletes the old row without firing delete triggers); whoever
 * edits the file around them breaks the chain, which `verify` finds.
 */
export class SqliteAuditLog implements AuditLog {
  private readonly appendTx;

  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS audit_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      incident_id TEXT,
      vm_id TEXT,
      details TEXT
    );`);
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(audit_log)').all().map((c) => c.name);
    // a database from before the chain: its rows stay as they are (legacy), the chain starts after them
    if (!columns.includes('hash')) db.exec('ALTER TABLE audit_log ADD COLUMN prev_hash TEXT; ALTER TABLE audit_log ADD COLUMN hash TEXT;');
    db.exec(`CREATE INDEX IF NOT EXISTS audit_vm ON audit_log(vm_id, seq);
    CREATE INDEX IF NOT EXISTS audit_incident ON audit_log(incident_id, seq);
    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_replace BEFORE INSERT ON audit_log WHEN NEW.seq IS NOT NULL AND EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq)
      BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;`);
    // where the chain starts: 1 for a new log, after the legacy rows of an older one (fixed once)
    db.exec(`CREATE TABLE IF NOT EXISTS audit_chain (id INTEGER PRIMARY KEY CHECK (id = 1), start_seq INTEGER NOT NULL);
    INSERT OR IGNORE INTO audit_chain (id, start_seq) SELECT 1, COALESCE(MAX(seq), 0) + 1 FROM audit_log;`);
    // the anchor of the chain's end: the newest entry's seq and hash, moved in the same transaction
    // as each append, so deleting the newest rows (which leaves an intact but shorter chain) shows.
    // A log chained before the anchor existed is anchored at its newest row when first opened.
    const chainColumns = db.prepare<[], { name: string }>('PRAGMA table_info(audit_chain)').all().map((c) => c.name);
    if (!chainColumns.includes('head_seq')) {
      db.exec(`ALTER TABLE audit_chain ADD COLUMN head_seq INTEGER NOT NULL DEFAULT 0; ALTER TABLE audit_chain ADD COLUMN head_hash TEXT;
      UPDATE audit_chain SET head_seq = COALESCE((SELECT MAX(seq) FROM audit_log WHERE seq >= start_seq), start_seq - 1),
        head_hash = (SELECT hash FROM audit_log WHERE seq >= start_seq ORDER BY seq DESC LIMIT 1) WHERE id = 1;`);
    }
    // the anchor only moves forward, one entry at a time, and never goes away (an honest SQL client cannot
    // move it back; someone who edits the file can drop these triggers too: docs/audit.md)
    db.exec(`CREATE TRIGGER IF NOT EXISTS audit_chain_forward BEFORE UPDATE ON audit_chain
      WHEN NEW.start_seq <> OLD.start_seq OR NEW.head_seq <> OLD.head_seq + 1 OR NEW.head_hash IS NULL
      BEGIN SELECT RAISE(ABORT, 'audit chain anchor only moves forward'); END;
    CREATE TRIGGER IF NOT EXISTS audit_chain_no_delete BEFORE DELETE ON audit_chain BEGIN SELECT RAISE(ABORT, 'audit chain anchor stays'); END;`);
    const headStmt = db.prepare<[number, string]>('UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1');
    const lastStmt = db.prepare<[], { seq: number; hash: string | null }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    const insertStmt = db.prepare<[number, string, string, string, string | null, string | null, string | null, string, string]>(
      'INSERT INTO audit_log (seq, at, actor, action, incident_id, vm_id, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.appendTx = db.transaction((e: AuditEntry) => {
      const last = lastStmt.get();
      const r = seal(last ? { seq: last.seq, hash: last.hash ?? GENESIS_HASH } : null, e);
      insertStmt.run(r.seq, r.at, r.actor, r.action, r.incidentId ?? null, r.vmId ?? null, r.details ? JSON.stringify(r.details) : null, r.prevHash, r.hash);
      headStmt.run(r.seq, r.hash);
    });
  }

  async append(e: AuditEntry): Promise<void> {
    // immediate: the write lock is taken before the last hash is read, so two processes cannot fork the chain
    this.appendTx.immediate(e);
  }

  async page(filter: AuditPageFilter): Promise<AuditPage> {
    const limit = Math.max(1, Math.min(filter.limit ?? 200, 1000));
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.vmId) {
      where.push('lower(vm_id) = lower(?)');
      args.push(filter.vmId);
    }
    if (filter.incidentId) {
      where.push('incident_id = ?');
      args.push(filter.incidentId);
    }
    if (filter.beforeSeq !== undefined) {
      where.push('seq < ?');
      args.push(filter.beforeSeq);
    }
    const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = prepared<unknown[], AuditRow>(this.db, sql).all(...args, limit + 1);
    const entries = rows.slice(0, limit).map(auditRecord);
    return { entries, olderThan: rows.length > limit ? entries[entries.length - 1].seq : undefined };
  }

  async list(filter: { vmId?: string; incidentId?: string; limit?: number }): Promise<AuditRecord[]> {
    return (await this.page(filter)).entries.reverse();
  }

  async verify(): Promise<AuditVerification & { legacy: number }> {
    const start = this.db.prepare<[], { start_seq: number }>('SELECT start_seq FROM audit_chain WHERE id = 1').get()?.start_seq ?? 1;
    const legacy = this.db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM audit_log WHERE seq < ?').get(start)?.n ?? 0;
    const rows = this.db.prepare<[number], AuditRow>('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq ASC').iterate(start);
    const records = function* (): Generator<AuditRecord> {
      for (const r of rows) yield auditRecord(r);
    };
    const result = verifyChain(records());
    if (!result.ok) return { ...result, legacy };
    // the chain is intact as far as it goes: its end must be where the anchor says
    const anchor = this.db.prepare<[], { head_seq: number; head_hash: string | null }>('SELECT head_seq, head_hash FROM audit_chain WHERE id = 1').get();
    const last = this.db.prepare<[number], { seq: number; hash: string | null }>('SELECT seq, hash FROM audit_log WHERE seq >= ? ORDER BY seq DESC LIMIT 1').get(start);
    const lastSeq = last?.seq ?? start - 1;
    const headSeq = anchor ? anchor.head_seq : start - 1;
    if (!anchor || headSeq !== lastSeq || (last && anchor.head_hash !== last.hash)) {
      return { ok: false, count: result.count, firstBadSeq: headSeq === lastSeq ? lastSeq : Math.min(headSeq, lastSeq) + 1, reason: 'head-mismatch', legacy, head: last ? { seq: last.seq, hash: last.hash ?? '' } : undefined };
    }
    return { ...result, legacy, head: last ? { seq: last.seq, hash: last.hash ?? '' } : undefined };
  }
}

interface DocRow {
  doc: string;
}

/** Approvals; the decision and the job it creates are one transaction. */
export class SqliteApprovalRepo implements ApprovalRepo {
  private readonly getStmt;
  private readonly writeStmt;
  private readonly decideTx;
  private readonly addCardTx;
  private readonly voteTx;
  private readonly removeCardsTx;

  constructor(private readonly db: Db, private readonly jobs: SqliteJobRepo) {
    db.exec(`CREATE TABLE IF NOT EXISTS approvals (
      id TEXT PRIMARY KEY,
      incident_id TEXT NOT NULL,
      vm_id TEXT NOT NULL,
      state TEXT NOT NULL,
      created_at TEXT NOT NULL,
      doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS approvals_state ON approvals(state, created_at);
    CREATE INDEX IF NOT EXISTS approvals_incident ON approvals(incident_id);`);
    this.getStmt = db.prepare<[string], DocRow>('SELECT doc FROM approvals WHERE id = ?');
    this.writeStmt = db.prepare<[string, string, string]>('UPDATE approvals SET state = ?, doc = ? WHERE id = ?');
    this.decideTx = db.transaction(
      (id: string, decision: Pick<Approval, 'state' | 'decidedBy' | 'decidedAt' | 'reason'>, job?: Job): { approval: Approval; job?: Job } | null => {
        const row = this.getStmt.get(id);
        if (!row) return null;
        const current = JSON.parse(row.doc) as Approval;
        if (current.state !== 'pending') return null;
        const next: Approval = { ...current, ...decision, jobId: job?.id ?? current.jobId };
        this.writeStmt.run(next.state, JSON.stringify(next), id);
        if (job) this.jobs.insert(job);
        return { approval: next, job };
      },
    );
    this.voteTx = db.transaction((id: string, vote: ApprovalVote, below: number): Approval | null => {
      const row = this.getStmt.get(id);
      if (!row) return null;
      const current = JSON.parse(row.doc) as Approval;
      const next = withVote(current, vote, below);
      if (!next) return null;
      this.writeStmt.run(next.state, JSON.stringify(next), id);
      return next;
    });
    this.addCardTx = db.transaction((id: string, card: Approval['cards'][number]) => {
      const row = this.getStmt.get(id);
      if (!row) return;
      const current = JSON.parse(row.doc) as Approval;
      current.cards = [...current.cards, card];
      this.writeStmt.run(current.state, JSON.stringify(current), id);
    });
    this.removeCardsTx = db.transaction((id: string, drop: (card: Approval['cards'][number]) => boolean): number => {
      const row = this.getStmt.get(id);
      if (!row) return 0;
      const current = JSON.parse(row.doc) as Approval;
      const kept = current.cards.filter((c) => !drop(c));
      if (kept.length === current.cards.length) return 0;
      this.writeStmt.run(current.state, JSON.stringify({ ...current, cards: kept }), id);
      return current.cards.length - kept.length;
    });
  }

  async create(a: Approval): Promise<void> {
    prepared(this.db, 'INSERT INTO approvals (id, incident_id, vm_id, state, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)')
      .run(a.id, a.incidentId, a.vmId, a.state, a.createdAt, JSON.stringify(a));
  }

  async get(id: string): Promise<Approval | null> {
    const row = this.getStmt.get(id);
    return row ? (JSON.parse(row.doc) as Approval) : null;
  }

  async decide(id: string, decision: Pick<Approval, 'state' | 'decidedBy' | 'decidedAt' | 'reason'>, job?: Job) {
    return this.decideTx(id, decision, job);
  }

  async addCard(id: string, card: Approval['cards'][number]): Promise<void> {
    this.addCardTx(id, card);
  }

  async vote(id: string, vote: ApprovalVote, below: number): Promise<Approval | null> {
    return this.voteTx(id, vote, below);
  }

  async removeCards(id: string, drop: (card: Approval['cards'][number]) => boolean): Promise<number> {
    return this.removeCardsTx(id, drop);
  }

  async listPending(limit = 50, order: 'oldest' | 'newest' = 'oldest'): Promise<Approval[]> {
    return prepared<[number], DocRow>(this.db, `SELECT doc FROM approvals WHERE state = 'pending' ORDER BY created_at ${order === 'newest' ? 'DESC' : 'ASC'}, rowid ${order === 'newest' ? 'DESC' : 'ASC'} LIMIT ?`)
      .all(limit)
      .map((r) => JSON.parse(r.doc) as Approval);
  }

  async listByIncident(incidentId: string): Promise<Approval[]> {
    return prepared<[string], DocRow>(this.db, 'SELECT doc FROM approvals WHERE incident_id = ? ORDER BY created_at ASC')
      .all(incidentId)
      .map((r) => JSON.parse(r.doc) as Approval);
  }
}

/** Fix jobs; at most one runs per VM (a partial unique index makes a second claim fail). */
export class SqliteJobRepo implements JobRepo {
  private readonly getStmt;
  private readonly insertStmt;
  private readonly writeStmt;
  private readonly claimTx;
  private readonly interruptTx;

  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS jobs (
      id TEXT PRIMARY KEY,
      vm_key TEXT NOT NULL,
      state TEXT NOT NULL,
      created_at TEXT NOT NULL,
      doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, created_at);
    CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_running_per_vm ON jobs(vm_key) WHERE state = 'running';`);
    this.getStmt = db.prepare<[string], DocRow>('SELECT doc FROM jobs WHERE id = ?');
    this.insertStmt = db.prepare<[string, string, string, string, string]>('INSERT INTO jobs (id, vm_key, state, created_at, doc) VALUES (?, ?, ?, ?, ?)');
    this.writeStmt = db.prepare<[string, string, string]>('UPDATE jobs SET state = ?, doc = ? WHERE id = ?');
    this.claimTx = db.transaction((id: string, leaseUntil: string): Job | null => {
      const row = this.getStmt.get(id);
      if (!row) return null;
      const job = JSON.parse(row.doc) as Job;
      if (job.state !== 'queued') return null;
      const busy = prepared<[string, string], { n: number }>(db, "SELECT COUNT(*) AS n FROM jobs WHERE vm_key = ? AND state = 'running' AND id <> ?").get(job.vmId.toLowerCase(), id);
      if (busy && busy.n > 0) return null;
      const next: Job = { ...job, state: 'running', leaseUntil, updatedAt: new Date().toISOString() };
      this.writeStmt.run('running', JSON.stringify(next), id);
      return next;
    });
    this.interruptTx = db.transaction((id: string, cutoff: string | null): Job | null => {
      const row = this.getStmt.get(id);
      if (!row) return null;
      const job = JSON.parse(row.doc) as Job;
      if (job.state !== 'running') return null;
      if (cutoff !== null && (job.leaseUntil ?? '') >= cutoff) return null;
      const steps = job.steps.map((s) => (s.state === 'running' ? { ...s, state: 'failed' as const } : s));
      const next: Job = { ...job, state: 'interrupted', steps, updatedAt: new Date().toISOString() };
      this.writeStmt.run('interrupted', JSON.stringify(next), id);
      return next;
    });
  }

  insert(job: Job): void {
    this.insertStmt.run(job.id, job.vmId.toLowerCase(), job.state, job.createdAt, JSON.stringify(job));
  }

  async get(id: string): Promise<Job | null> {
    const row = this.getStmt.get(id);
    return row ? (JSON.parse(row.doc) as Job) : null;
  }

  async claim(id: string, leaseUntil: string): Promise<Job | null> {
    return this.claimTx(id, leaseUntil);
  }

  async renew(id: string, leaseUntil: string): Promise<boolean> {
    const job = await this.get(id);
    if (!job || job.state !== 'running') return false;
    await this.update(id, { leaseUntil });
    return true;
  }

  async update(id: string, patch: Partial<Omit<Job, 'id'>>): Promise<Job | null> {
    const row = this.getStmt.get(id);
    if (!row) return null;
    const next: Job = { ...(JSON.parse(row.doc) as Job), ...patch, id, updatedAt: new Date().toISOString() };
    this.writeStmt.run(next.state, JSON.stringify(next), id);
    return next;
  }

  async listByState(states: JobState[], limit = 100): Promise<Job[]> {
    const marks = states.map(() => '?').join(',');
    return prepared<unknown[], DocRow>(this.db, `SELECT doc FROM jobs WHERE state IN (${marks}) ORDER BY created_at ASC LIMIT ?`)
      .all(...states, limit)
      .map((r) => JSON.parse(r.doc) as Job);
  }

  async interruptAbandoned(opts: { now: Date; all?: boolean }): Promise<Job[]> {
    const out: Job[] = [];
    for (const j of await this.listByState(['running'], 1000)) {
      const next = this.interruptTx(j.id, opts.all ? null : opts.now.toISOString());
      if (next) out.push(next);
    }
    return out;
  }

}

export class SqliteUserRepo implements UserRepo {
  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY,
      aad_object_id TEXT,
      doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS users_aad ON users(aad_object_id);`);
  }

  async upsert(u: KnownUser): Promise<void> {
    prepared(this.db, 'INSERT INTO users (id, aad_object_id, doc) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET aad_object_id = excluded.aad_object_id, doc = excluded.doc')
      .run(u.id, u.aadObjectId?.toLowerCase() ?? null, JSON.stringify(u));
  }

  async get(id: string): Promise<KnownUser | null> {
    const row = prepared<[string], DocRow>(this.db, 'SELECT doc FROM users WHERE id = ?').get(id);
    return row ? (JSON.parse(row.doc) as KnownUser) : null;
  }

  async findByAadObjectId(aad: string): Promise<KnownUser | null> {
    const row = prepared<[string], DocRow>(this.db, 'SELECT doc FROM users WHERE aad_object_id = ? LIMIT 1').get(aad.toLowerCase());
    return row ? (JSON.parse(row.doc) as KnownUser) : null;
  }
}

export class SqliteSettingsRepo implements SettingsRepo {
  constructor(private readonly db: Db) {
    db.exec('CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  }

  async get<T>(key: string): Promise<T | null> {
    const row = prepared<[string], { value: string }>(this.db, 'SELECT value FROM settings WHERE key = ?').get(key);
    return row ? (JSON.parse(row.value) as T) : null;
  }

  async set<T>(key: string, value: T): Promise<void> {
    prepared(this.db, 'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }

  async claim(key: string): Promise<boolean> {
    // one statement: the row is written when absent or released (false), never over a true one
    const r = prepared(this.db, "INSERT INTO settings (key, value) VALUES (?, 'true') ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE settings.value <> 'true'").run(key);
    return r.changes === 1;
  }
}
