import type { AuditLog } from '../../services/store/store';
import type { SpreadChunk, SpreadMessage, SpreadRow, SpreadState, StoredResult, SweepSpreadStore, SweepWorkQueue } from '../../services/store/sweep-spread';
import { mayAdvance, slotFree, type RunCommandSlot, type SweepRepo } from '../../services/store/sweeps';
import type { AuditEntry } from '../../services/incidents/model';
import type { SweepDigest, SweepVmResult } from '../../services/sweeps/types';

/**
 * What several instances share for a spread sweep (services/store/sweep-spread.ts), in memory, for
 * unit tests of the exactly-once rules: the sweep rows (digest + spread state, changed one at a
 * time as an ETag-conditional write would), results, Run Command slots, the chunks, and a queue
 * with visibility: a received message stays hidden until deleted or until `expireLeases()`
 * (the visibility timeout ran out), and counts its deliveries. `failNextDelete()` makes the next
 * delete fail (an instance that died after its work, before deleting the message).
 */
export class MemoryQueue implements SweepWorkQueue {
  private next = 0;
  readonly messages = new Map<string, { text: string; deliveries: number; hidden: boolean; receipt: string }>();
  private deleteFailures = 0;

  async send(text: string): Promise<void> {
    this.messages.set(String(this.next++), { text, deliveries: 0, hidden: false, receipt: '' });
  }

  async receive(max: number): Promise<SpreadMessage[]> {
    const out: SpreadMessage[] = [];
    for (const [id, m] of this.messages) {
      if (out.length >= max) break;
      if (m.hidden) continue;
      m.hidden = true;
      m.deliveries++;
      m.receipt = `${id}/${m.deliveries}`;
      out.push({ id, receipt: m.receipt, text: m.text, deliveries: m.deliveries });
    }
    return out;
  }

  async extend(message: SpreadMessage): Promise<void> {
    const m = this.messages.get(message.id);
    if (!m || m.receipt !== message.receipt) throw Object.assign(new Error('the message is not held with this receipt'), { statusCode: 404 });
  }

  async delete(message: SpreadMessage): Promise<void> {
    if (this.deleteFailures > 0) {
      this.deleteFailures--;
      throw new Error('the instance died before deleting the message');
    }
    const m = this.messages.get(message.id);
    if (!m || m.receipt !== message.receipt) throw Object.assign(new Error('the message is not held with this receipt'), { statusCode: 404 });
    this.messages.delete(message.id);
  }

  failNextDelete(): void {
    this.deleteFailures++;
  }

  /** the visibility timeout of every taken message ran out: they are delivered again */
  expireLeases(): void {
    for (const m of this.messages.values()) m.hidden = false;
  }
}

export class MemorySpreadStore implements SweepSpreadStore {
  readonly queue = new MemoryQueue();
  readonly rows = new Map<string, { digest: SweepDigest; spread: SpreadState | null }>();
  readonly results = new Map<string, Map<string, SweepVmResult>>();
  readonly slots = new Map<string, RunCommandSlot>();
  readonly chunks = new Map<string, SpreadChunk>();
  readonly runCommands = new Map<string, number>();
  readonly audit: AuditEntry[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  /** the SweepRepo side (store.sweeps) over the same rows, results and slots */
  readonly sweeps: SweepRepo = {
    create: async (d) => {
      this.rows.set(d.id, { digest: structuredClone(d), spread: null });
    },
    get: async (id) => structuredClone(this.rows.get(id)?.digest ?? null),
    update: async (d) => {
      this.rows.set(d.id, { digest: structuredClone(d), spread: null });
    },
    list: async () => [...this.rows.values()].map((r) => structuredClone(r.digest)),
    putResults: async (id, rs) => {
      for (const r of rs) this.resultsOf(id).set(r.vmId.toLowerCase(), structuredClone(r));
    },
    results: async (id) => ({ results: [...this.resultsOf(id).values()] }),
    claimRunCommand: async (vmId, sweepId, now, windowMs, holder) => {
      if (!slotFree(this.slots.get(vmId.toLowerCase()) ?? null, now, windowMs)) return false;
      this.slots.set(vmId.toLowerCase(), { sweepId, at: now.toISOString(), released: false, phase: 'claimed', ...(holder ? { holder } : {}) });
      return true;
    },
    // sweep-resume: the slot's phase, advanced as the backends do (conditional on sweep and holder)
    runCommandSlot: async (vmId) => {
      const s = this.slots.get(vmId.toLowerCase());
      return s ? { ...s } : null;
    },
    advanceRunCommand: async (vmId, sweepId, holder, next) => {
      const s = this.slots.get(vmId.toLowerCase()) ?? null;
      if (!mayAdvance(s, sweepId, holder)) return false;
      this.slots.set(vmId.toLowerCase(), { ...s!, phase: next.phase, holder: next.holder ?? holder, ...(next.token ? { token: next.token } : {}) });
      return true;
    },
    releaseRunCommand: async (vmId, sweepId) => {
      const s = this.slots.get(vmId.toLowerCase());
      if (s?.sweepId === sweepId) s.released = true;
    },
  };

  /** the AuditLog side (store.audit): appends only */
  readonly auditLog = { append: async (e: AuditEntry) => void this.audit.push(e) } as unknown as AuditLog;

  private resultsOf(sweepId: string): Map<string, SweepVmResult> {
    let m = this.results.get(sweepId);
    if (!m) this.results.set(sweepId, (m = new Map()));
    return m;
  }

  async putChunk(sweepId: string, n: number, chunk: SpreadChunk): Promise<void> {
    this.chunks.set(`${sweepId}/${n}`, structuredClone(chunk));
  }

  async getChunk(sweepId: string, n: number): Promise<SpreadChunk | null> {
    return structuredClone(this.chunks.get(`${sweepId}/${n}`) ?? null);
  }

  async storedResults(sweepId: string, vmIds: string[]): Promise<Map<string, StoredResult>> {
    const out = new Map<string, StoredResult>();
    for (const id of vmIds) {
      const r = this.resultsOf(sweepId).get(id.toLowerCase());
      if (r) out.set(id, { result: structuredClone(r), runCommands: this.runCommands.get(`${sweepId}/${id.toLowerCase()}`) ?? 0 });
    }
    return out;
  }

  async putResultOnce(sweepId: string, stored: StoredResult): Promise<StoredResult> {
    const m = this.resultsOf(sweepId);
    const key = stored.result.vmId.toLowerCase();
    if (!m.has(key)) {
      m.set(key, structuredClone(stored.result));
      this.runCommands.set(`${sweepId}/${key}`, stored.runCommands);
    }
    return { result: structuredClone(m.get(key)!), runCommands: this.runCommands.get(`${sweepId}/${key}`) ?? 0 };
  }

  async slotHolder(vmId: string): Promise<string | null> {
    const s = this.slots.get(vmId.toLowerCase());
    return s && !s.released ? s.sweepId : null;
  }

  async abandoned(now: Date): Promise<string[]> {
    return [...this.rows.values()]
      .filter((r) => r.digest.state === 'running' && r.spread && !r.spread.starterFinal && r.spread.starterLeaseUntil && Date.parse(r.spread.starterLeaseUntil) < now.getTime())
      .map((r) => r.digest.id);
  }

  async get(sweepId: string): Promise<SpreadRow | null> {
    return structuredClone(this.rows.get(sweepId) ?? null);
  }

  change(sweepId: string, change: (row: SpreadRow) => SpreadRow | null): Promise<SpreadRow | null> {
    // one change at a time: what an ETag-conditional write with re-reads gives
    const turn = this.chain.then(async () => {
      const row = this.rows.get(sweepId);
      if (!row) return null;
      const next = change(structuredClone(row));
      if (!next) return null;
      this.rows.set(sweepId, structuredClone(next));
      return next;
    });
    this.chain = turn.catch(() => undefined);
    return turn;
  }
}
