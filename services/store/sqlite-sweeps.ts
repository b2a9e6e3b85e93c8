import type Database from 'better-sqlite3';
import type { SweepDigest, SweepVmResult } from '../sweeps/types';
import { mayAdvance, slotFree, type RunCommandSlot, type SlotPhase, type SweepRepo } from './sweeps';

type Db = Database.Database;

/** Sweeps, their per-VM results and the per-VM Run Command slots (docs/sweeps.md). */
export class SqliteSweepRepo implements SweepRepo {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly writeStmt;
  private readonly listStmt;
  private readonly putTx;
  private readonly pageStmt;
  private readonly claimTx;
  private readonly releaseStmt;
  private readonly slotStmt;
  private readonly advanceTx;

  constructor(db: Db) {
    db.exec(`CREATE TABLE IF NOT EXISTS sweeps (
      id TEXT PRIMARY KEY,
      started_at TEXT NOT NULL,
      doc TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sweeps_started ON sweeps(started_at);
    CREATE TABLE IF NOT EXISTS sweep_results (
      sweep_id TEXT NOT NULL,
      vm_key TEXT NOT NULL,
      doc TEXT NOT NULL,
      PRIMARY KEY (sweep_id, vm_key)
    );
    CREATE TABLE IF NOT EXISTS sweep_vm_slots (
      vm_key TEXT PRIMARY KEY,
      sweep_id TEXT NOT NULL,
      at TEXT NOT NULL,
      released INTEGER NOT NULL
    );`);
    // sweep-resume: the slot's phase, resume token and holder (additive columns; old rows have NULL: read as 'sending')
    const cols = new Set(db.prepare<[], { name: string }>('PRAGMA table_info(sweep_vm_slots)').all().map((c) => c.name));
    for (const c of ['phase', 'token', 'holder']) if (!cols.has(c)) db.exec(`ALTER TABLE sweep_vm_slots ADD COLUMN ${c} TEXT`);
    this.insertStmt = db.prepare<[string, string, string]>('INSERT INTO sweeps (id, started_at, doc) VALUES (?, ?, ?)');
    this.getStmt = db.prepare<[string], { doc: string }>('SELECT doc FROM sweeps WHERE id = ?');
    this.writeStmt = db.prepare<[string, string]>('UPDATE sweeps SET doc = ? WHERE id = ?');
    this.listStmt = db.prepare<[number], { doc: string }>('SELECT doc FROM sweeps ORDER BY started_at DESC, id DESC LIMIT ?');
    const put = db.prepare<[string, string, string]>(
      'INSERT INTO sweep_results (sweep_id, vm_key, doc) VALUES (?, ?, ?) ON CONFLICT(sweep_id, vm_key) DO UPDATE SET doc = excluded.doc',
    );
    this.putTx = db.transaction((sweepId: string, results: SweepVmResult[]) => {
      for (const r of results) put.run(sweepId, r.vmId.toLowerCase(), JSON.stringify(r));
    });
    this.pageStmt = db.prepare<[string, string, number], { vm_key: string; doc: string }>(
      'SELECT vm_key, doc FROM sweep_results WHERE sweep_id = ? AND vm_key > ? ORDER BY vm_key LIMIT ?',
    );
    type SlotRow = { sweep_id: string; at: string; released: number; phase: string | null; token: string | null; holder: string | null };
    const slotStmt = db.prepare<[string], SlotRow>('SELECT sweep_id, at, released, phase, token, holder FROM sweep_vm_slots WHERE vm_key = ?');
    const slotOf = (row: SlotRow | undefined): RunCommandSlot | null =>
      row
        ? {
            sweepId: row.sweep_id,
            at: row.at,
            released: row.released === 1,
            ...(row.phase ? { phase: row.phase as SlotPhase } : {}),
            ...(row.token ? { token: row.token } : {}),
            ...(row.holder ? { holder: row.holder } : {}),
          }
        : null;
    this.slotStmt = (vmKey: string) => slotOf(slotStmt.get(vmKey));
    const takeStmt = db.prepare<[string, string, string, string | null]>(
      "INSERT INTO sweep_vm_slots (vm_key, sweep_id, at, released, phase, token, holder) VALUES (?, ?, ?, 0, 'claimed', NULL, ?) ON CONFLICT(vm_key) DO UPDATE SET sweep_id = excluded.sweep_id, at = excluded.at, released = 0, phase = 'claimed', token = NULL, holder = excluded.holder",
    );
    // read and write in one immediate transaction: two processes on one file cannot both take the slot
    this.claimTx = db.transaction((vmKey: string, sweepId: string, now: Date, windowMs: number, holder: string | null): boolean => {
      if (!slotFree(slotOf(slotStmt.get(vmKey)), now, windowMs)) return false;
      takeStmt.run(vmKey, sweepId, now.toISOString(), holder);
      return true;
    });
    const advanceStmt = db.prepare<[string, string | null, string, string]>('UPDATE sweep_vm_slots SET phase = ?, token = ?, holder = ? WHERE vm_key = ?');
    this.advanceTx = db.transaction((vmKey: string, sweepId: string, holder: string, phase: SlotPhase, token: string | null, next: string): boolean => {
      if (!mayAdvance(slotOf(slotStmt.get(vmKey)), sweepId, holder)) return false;
      advanceStmt.run(phase, token, next, vmKey);
      return true;
    });
    this.releaseStmt = db.prepare<[string, string]>('UPDATE sweep_vm_slots SET released = 1 WHERE vm_key = ? AND sweep_id = ?');
  }

  async create(digest: SweepDigest): Promise<void> {
    this.insertStmt.run(digest.id, digest.startedAt, JSON.stringify(digest));
  }

  async get(id: string): Promise<SweepDigest | null> {
    const row = this.getStmt.get(id);
    return row ? (JSON.parse(row.doc) as SweepDigest) : null;
  }

  async update(digest: SweepDigest): Promise<void> {
    this.writeStmt.run(JSON.stringify(digest), digest.id);
  }

  async list(limit: number): Promise<SweepDigest[]> {
    return this.listStmt.all(Math.max(1, Math.min(limit, 1000))).map((r) => JSON.parse(r.doc) as SweepDigest);
  }

  async putResults(sweepId: string, results: SweepVmResult[]): Promise<void> {
    if (results.length > 0) this.putTx(sweepId, results);
  }

  async results(sweepId: string, limit: number, after?: string): Promise<{ results: SweepVmResult[]; next?: string }> {
    const rows = this.pageStmt.all(sweepId, after ?? '', Math.max(1, limit));
    const next = rows.length === limit ? rows[rows.length - 1].vm_key : undefined;
    return { results: rows.map((r) => JSON.parse(r.doc) as SweepVmResult), next };
  }

  async claimRunCommand(vmId: string, sweepId: string, now: Date, windowMs: number, holder?: string): Promise<boolean> {
    return this.claimTx.immediate(vmId.toLowerCase(), sweepId, now, windowMs, holder ?? null);
  }

  async runCommandSlot(vmId: string): Promise<RunCommandSlot | null> {
    return this.slotStmt(vmId.toLowerCase());
  }

  async advanceRunCommand(vmId: string, sweepId: string, holder: string, next: { phase: SlotPhase; token?: string; holder?: string }): Promise<boolean> {
    return this.advanceTx.immediate(vmId.toLowerCase(), sweepId, holder, next.phase, next.token ?? null, next.holder ?? holder);
  }

  async releaseRunCommand(vmId: string, sweepId: string): Promise<void> {
    this.releaseStmt.run(vmId.toLowerCase(), sweepId);
  }
}
