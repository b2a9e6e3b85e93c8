import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Storage, StoreItems } from 'botbuilder';
import { SqliteApprovalRepo, SqliteAuditLog, SqliteIncidentRepo, SqliteJobRepo, SqliteSettingsRepo, SqliteUserRepo } from './sqlite-records';
import { SqliteSweepRepo } from './sqlite-sweeps';
import { InProcessJobQueue } from '../incidents/job-queue';
import { StaleETagError, type AppStore } from './store';

type Db = Database.Database;

/** botbuilder `Storage` on one SQLite table; every write of a key bumps its ETag. */
export class SqliteBotStorage implements Storage {
  private readonly readStmt;
  private readonly writeTx;
  private readonly deleteStmt;

  constructor(db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS bot_state (
      key TEXT PRIMARY KEY,
      etag INTEGER NOT NULL,
      data TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`);
    this.readStmt = db.prepare<[string], { etag: number; data: string }>('SELECT etag, data FROM bot_state WHERE key = ?');
    const upsert = db.prepare<[string, number, string, string]>(
      `INSERT INTO bot_state (key, etag, data, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET etag = excluded.etag, data = excluded.data, updated_at = excluded.updated_at`,
    );
    // All changes of one write() succeed or fail together, so a refused stale item leaves nothing half-written.
    this.writeTx = db.transaction((changes: StoreItems) => {
      const now = new Date().toISOString();
      for (const [key, item] of Object.entries(changes)) {
        const current = this.readStmt.get(key);
        const { eTag, ...rest } = (item ?? {}) as { eTag?: string } & Record<string, unknown>;
        if (current && eTag !== undefined && eTag !== '*' && eTag !== String(current.etag)) throw new StaleETagError(key);
        upsert.run(key, (current?.etag ?? 0) + 1, JSON.stringify(rest), now);
      }
    });
    this.deleteStmt = db.prepare<[string]>('DELETE FROM bot_state WHERE key = ?');
  }

  async read(keys: string[]): Promise<StoreItems> {
    const out: StoreItems = {};
    for (const key of keys) {
      const row = this.readStmt.get(key);
      if (row) out[key] = { ...(JSON.parse(row.data) as object), eTag: String(row.etag) };
    }
    return out;
  }

  async write(changes: StoreItems): Promise<void> {
    this.writeTx(changes);
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.deleteStmt.run(key);
  }
}

export function openSqliteDatabase(dataDir: string, fileName = 'rdp-doctor.sqlite'): Db {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, fileName));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return db;
}

export class SqliteStore implements AppStore {
  readonly kind = 'sqlite' as const;
  readonly botStorage: SqliteBotStorage;
  readonly incidents: SqliteIncidentRepo;
  readonly audit: SqliteAuditLog;
  readonly approvals: SqliteApprovalRepo;
  readonly jobs: SqliteJobRepo;
  readonly users: SqliteUserRepo;
  readonly settings: SqliteSettingsRepo;
  readonly sweeps: SqliteSweepRepo;
  /** one process: jobs go straight to this process's runner */
  readonly jobQueue = new InProcessJobQueue();
  private closed = false;

  constructor(readonly db: Db) {
    this.botStorage = new SqliteBotStorage(db);
    this.incidents = new SqliteIncidentRepo(db);
    this.audit = new SqliteAuditLog(db);
    this.jobs = new SqliteJobRepo(db);
    this.approvals = new SqliteApprovalRepo(db, this.jobs);
    this.users = new SqliteUserRepo(db);
    this.settings = new SqliteSettingsRepo(db);
    this.sweeps = new SqliteSweepRepo(db);
  }

  static open(dataDir: string): SqliteStore {
    return new SqliteStore(openSqliteDatabase(dataDir));
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('store is closed');
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
