import type Database from 'better-sqlite3';
import type { AuditEntry, Incident, IncidentState } from '../incidents/model';
import { OPEN_STATES } from '../incidents/model';
import type { AuditLog, IncidentRepo } from './store';

type Db = Database.Database;

interface IncidentRow {
  doc: string;
}

/** Incidents as JSON documents with their searchable columns beside them. */
export class SqliteIncidentRepo implements IncidentRepo {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly writeStmt;
  private readonly transitionTx;

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
    CREATE INDEX IF NOT EXISTS incidents_vm ON incidents(vm_id, created_at);`);
    this.insertStmt = db.prepare<[string, string, string | null, string, string, string, string]>(
      'INSERT INTO incidents (id, state, vm_id, requester_id, created_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.getStmt = db.prepare<[string], IncidentRow>('SELECT doc FROM incidents WHERE id = ?');
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
    this.insertStmt.run(i.id, i.state, i.vmId ?? null, i.requester.id, i.createdAt, i.updatedAt, JSON.stringify(i));
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
    return this.db
      .prepare<unknown[], IncidentRow>(`SELECT doc FROM incidents WHERE state IN (${marks}) ORDER BY created_at DESC LIMIT ?`)
      .all(...OPEN_STATES, limit)
      .map((r) => JSON.parse(r.doc) as Incident);
  }

  async listByVm(vmId: string, limit = 50): Promise<Incident[]> {
    return this.db
      .prepare<[string, number], IncidentRow>('SELECT doc FROM incidents WHERE lower(vm_id) = lower(?) ORDER BY created_at DESC LIMIT ?')
      .all(vmId, limit)
      .map((r) => JSON.parse(r.doc) as Incident);
  }
}

/** Append-only: the table has no UPDATE or DELETE path in the code, and a trigger refuses both. */
export class SqliteAuditLog implements AuditLog {
  private readonly insertStmt;

  constructor(private readonly db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS audit_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      at TEXT NOT NULL,
      actor TEXT NOT NULL,
      action TEXT NOT NULL,
      incident_id TEXT,
      vm_id TEXT,
      details TEXT
    );
    CREATE INDEX IF NOT EXISTS audit_vm ON audit_log(vm_id, seq);
    CREATE INDEX IF NOT EXISTS audit_incident ON audit_log(incident_id, seq);
    CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;`);
    this.insertStmt = db.prepare<[string, string, string, string | null, string | null, string | null]>(
      'INSERT INTO audit_log (at, actor, action, incident_id, vm_id, details) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  async append(e: AuditEntry): Promise<void> {
    this.insertStmt.run(e.at, e.actor, e.action, e.incidentId ?? null, e.vmId ?? null, e.details ? JSON.stringify(e.details) : null);
  }

  async list(filter: { vmId?: string; incidentId?: string; limit?: number }): Promise<AuditEntry[]> {
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
    const sql = `SELECT at, actor, action, incident_id, vm_id, details FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ASC LIMIT ?`;
    args.push(filter.limit ?? 200);
    type Row = { at: string; actor: string; action: string; incident_id: string | null; vm_id: string | null; details: string | null };
    return this.db
      .prepare<unknown[], Row>(sql)
      .all(...args)
      .map((r) => ({
        at: r.at,
        actor: r.actor,
        action: r.action,
        incidentId: r.incident_id ?? undefined,
        vmId: r.vm_id ?? undefined,
        details: r.details ? (JSON.parse(r.details) as Record<string, unknown>) : undefined,
      }));
  }
}
