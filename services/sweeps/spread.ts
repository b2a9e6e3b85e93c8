import { randomUUID } from 'node:crypto';
import type { EffectiveNsg, VmDetails } from '../azure/gateway';
import { wakeableSleep } from '../azure/timing';
import { recordAudit, SYSTEM_ACTOR } from '../incidents/audit';
import type { Logger } from '../log';
import type { Finding } from '../runbook/findings';
import type { AppStore } from '../store/store';
import { slotPhase, type SweepRepo } from '../store/sweeps';
import type { SpreadChunk, SpreadMessage, SpreadRow, SpreadState, SpreadTicket, StoredResult, SweepSpreadStore } from '../store/sweep-spread';
import type { Budget, Sleep } from './budget';
import { fold, resultOf, worseFirst } from './digest';
import { fastFindings } from './evaluate';
import type { SweepDigest, SweepObserver, SweepVmResult } from './types';

/**
 * A deep sweep spread over the instances (issue #16 item 3, docs/sweeps.md "Across instances"),
 * with STORAGE=azure. The starter (the instance whose service runs the sweep) still does the
 * bulk reads and evaluates every VM that is not deep-eligible itself; each deep-eligible VM goes
 * into a chunk (stored), one queue message per chunk. Every instance runs a worker that takes
 * messages with a visibility timeout (the lease, renewed while it works), checks the chunk's VMs
 * with the service's own per-VM check (`deepCheck`), stores each VM's result once, folds the
 * chunk into the sweep's row (ETag-conditional) and deletes the message. Whichever write folds
 * the last chunk after the starter has enqueued them all ends the sweep: one `sweep.ended`, one
 * `finished` for the digest card.
 *
 * Exactly once: a VM whose result for the sweep is stored is not checked again (a message
 * delivered twice, or again after its instance died); the VM's Run Command slot stays the guard
 * against two instances running it at once, and a VM whose slot this very sweep holds with no
 * result stored was being checked by an instance that died: what happens to it depends on the
 * slot's phase (sweep-resume, below). A message delivered more than `maxDeliveries` times is poison:
 * its VMs without a result end `skipped: 'error:poison'`, with no Run Command.
 *
 * sweep-resume: the slot records its phase, so that a VM whose slot this sweep holds with no
 * result is taken over by what its phase says (`takeOver`): `claimed` (no Run Command sent) is
 * checked normally, the slot taken over with an ETag-conditional write; `sent` (Azure accepted
 * it) is polled to its end with the stored resume token, no second POST; `sending` (written just
 * before the POST, which may or may not have reached Azure) stays `error:interrupted`.
 */

/** sweep-resume: what a deep check does with its slot around the Run Command (service.ts viewGateway). */
export interface SlotRun {
  /** the token of a Run Command an instance that died had sent: polled to its end, nothing sent */
  resumeFrom?: string;
  /** writes `sending` just before the POST; false: another check took the slot over, send nothing */
  sending?(): Promise<boolean>;
  /** writes `sent` with the resume token once Azure accepted the Run Command */
  accepted?(token: string): Promise<void>;
}

/** sweep-resume: the slot was taken over by another check before this one sent anything (its result is the VM's). */
export class SlotTakenOver extends Error {
  constructor() {
    super('the Run Command slot was taken over by another check');
    this.name = 'SlotTakenOver';
  }
}

/** What one VM's deep check returns (service.ts `deepCheck`). */
export type DeepCheckOutcome = { result: SweepVmResult; runCommands: number } | { busy: true; runCommands: number };

/** The sweep service's per-VM machinery, bound by `createSweeps` (service.ts): the worker checks VMs exactly as the in-process path does. */
export interface DeepEngine {
  deepCheck(sweepId: string, vm: VmDetails, fast: Finding[], nsgs: EffectiveNsg[] | null, run?: SlotRun): Promise<DeepCheckOutcome>;
  /** this instance's budget buckets ('w:<sub>' writes, '<sub>' reads) */
  budget: Budget;
  concurrency: number;
  readsPerRunCommand: number;
  windowMs: number;
  worstLimit: number;
  busyRetries: number;
  busyRetryDelayMs: number;
  progressIntervalMs: number;
  observer(): SweepObserver | undefined;
  now(): Date;
  sleep: Sleep;
}

/** The starter's side of one deep sweep (service.ts `run`). */
export interface SpreadStarter {
  /** hands one deep-eligible VM to the workers (buffered into chunks) */
  add(vm: VmDetails, nsgs: EffectiveNsg[] | null): Promise<void>;
  /**
   * Every VM is paged and its results flushed: the last chunk goes out and the starter's part is
   * final. Returns the sweep's digest as stored, or null when no VM was handed off (the
   * in-process end then applies).
   */
  handOff(digest: SweepDigest): Promise<SweepDigest | null>;
}

/** What service.ts sees (SweepsDeps.spread). */
export interface SpreadHook {
  bind(engine: DeepEngine): void;
  starter(digest: SweepDigest): SpreadStarter;
}

export interface SpreadDeps {
  spread: SweepSpreadStore;
  /** store.sweeps (the Run Command slots) and store.audit */
  store: Pick<AppStore, 'sweeps' | 'audit'>;
  logger: Logger;
  /** VMs per chunk (default 10) */
  chunkSize?: number;
  /** the lease: a taken message stays hidden this long, renewed every third of it (default 60 s) */
  leaseSeconds?: number;
  /** deliveries after which a message is poison (default 5) */
  maxDeliveries?: number;
  /** how often an idle worker looks again (default 1 s) */
  idlePollInMs?: number;
}

export interface Spread {
  hook: SpreadHook;
  /** the SweepRepo the starter's service writes through: its updates of a spread sweep change only its own part of the row */
  repo(inner: SweepRepo): SweepRepo;
  /** starts this instance's worker (after `createSweeps` bound the engine) */
  startWorker(): void;
  /** stops taking messages; waits (bounded) for the chunks in hand; what is left comes back to another instance */
  stop(timeoutInMs?: number): Promise<void>;
}

const MAX_CHUNK_CHARS = 300_000;

function blankPart(d: SweepDigest): SweepDigest {
  return { ...d, state: 'running', total: 0, done: 0, counts: {}, vms: [], armCalls: 0, runCommands: 0, skipped: undefined, affected: undefined, eta: undefined, error: undefined, endedAt: undefined };
}

function starterPart(d: SweepDigest): SweepDigest {
  const part = structuredClone(d);
  delete part.eta;
  return part;
}

const add = (a: Record<string, number> | undefined, b: Record<string, number> | undefined): Record<string, number> => {
  const out = { ...(a ?? {}) };
  for (const [k, n] of Object.entries(b ?? {})) out[k] = (out[k] ?? 0) + n;
  return out;
};

/** The sweep's digest from its two parts: the starter's VMs and the workers' folded chunks. */
export function combine(row: SpreadRow, spread: SpreadState, worstLimit: number, now: Date): SweepDigest {
  const s = spread.starter;
  const w = spread.workers;
  const d: SweepDigest = {
    ...row.digest,
    total: s.total,
    done: s.done + w.done,
    counts: add(s.counts, w.counts),
    vms: [...s.vms, ...w.vms].sort(worseFirst).slice(0, worstLimit),
    armCalls: s.armCalls + w.armCalls,
    runCommands: s.runCommands + w.runCommands,
  };
  const skipped = add(s.skipped, w.skipped);
  if (Object.keys(skipped).length) d.skipped = skipped;
  const affected = (s.affected ?? 0) + (w.affected ?? 0);
  if (affected) d.affected = affected;
  delete d.eta;
  const elapsed = now.getTime() - Date.parse(d.startedAt);
  if (d.state === 'running' && d.done > 0 && d.total > d.done && elapsed > 0) d.eta = new Date(now.getTime() + ((d.total - d.done) * elapsed) / d.done).toISOString();
  return d;
}

function parseTicket(text: string): SpreadTicket | null {
  try {
    const t = JSON.parse(text) as Partial<SpreadTicket>;
    return typeof t.s === 'string' && Number.isInteger(t.c) && Number.isInteger(t.k) ? (t as SpreadTicket) : null;
  } catch {
    return null;
  }
}

/** At most `size` holders at once. */
class Places {
  private used = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly size: number) {}
  async take(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }
  give(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.used--;
  }
}

export function createSpread(deps: SpreadDeps): Spread {
  const chunkSize = Math.max(1, deps.chunkSize ?? 10);
  const lease = Math.max(1, deps.leaseSeconds ?? 60);
  const maxDeliveries = deps.maxDeliveries ?? 5;
  const idle = deps.idlePollInMs ?? 1000;
  const { spread: shared, logger } = deps;
  let engine: DeepEngine | undefined;
  const need = (): DeepEngine => {
    if (!engine) throw new Error('sweep spread: no engine bound (createSweeps binds it)');
    return engine;
  };
  /** sweeps this instance started and still hands off: their starter updates go to the starter's part */
  const starting = new Set<string>();
  /** the last progress shown per sweep by this instance */
  const lastProgress = new Map<string, number>();
  /** the starter's lease renewals, per sweep it pages */
  const renewals = new Map<string, NodeJS.Timeout>();
  const ended = (sweepId: string): void => {
    starting.delete(sweepId);
    clearInterval(renewals.get(sweepId));
    renewals.delete(sweepId);
  };

  /** Sweeps whose starter died while paging (its lease ran out before its part was final): ended as failed, by one instance. */
  async function reapAbandoned(): Promise<void> {
    const e = need();
    for (const id of await shared.abandoned(e.now())) {
      let endedHere = false;
      const row = await shared.change(id, (r) => {
        endedHere = false;
        const s = r.spread;
        if (!s || s.starterFinal || r.digest.state !== 'running' || Date.parse(s.starterLeaseUntil ?? '') >= e.now().getTime()) return null;
        const digest = combine(r, s, e.worstLimit, e.now());
        Object.assign(digest, { state: 'failed', error: 'interrupted', endedAt: e.now().toISOString() });
        delete digest.eta;
        endedHere = true;
        return { digest, spread: s };
      });
      if (row && endedHere) {
        logger.warn({ sweepId: id }, 'sweep ended: the instance that started it stopped while paging the fleet');
        await finish(row.digest);
      }
    }
  }

  /** The end of a spread sweep, on the one instance whose write ended it. */
  async function finish(d: SweepDigest): Promise<void> {
    const e = need();
    lastProgress.delete(d.id);
    await recordAudit(deps.store, e.now(), SYSTEM_ACTOR, 'sweep.ended', null, {
      sweepId: d.id,
      state: d.state,
      total: d.total,
      done: d.done,
      runCommands: d.runCommands,
      counts: d.counts,
      ...(d.error ? { error: d.error } : {}),
    }).catch((err: unknown) => logger.error({ err, sweepId: d.id }, 'sweep end not audited'));
    await e.observer()?.finished(structuredClone(d)).catch((err: unknown) => logger.warn({ err, sweepId: d.id }, 'sweep end not shown'));
  }

  async function progress(d: SweepDigest): Promise<void> {
    const e = need();
    const at = e.now().getTime();
    if (at - (lastProgress.get(d.id) ?? 0) < e.progressIntervalMs) return;
    lastProgress.set(d.id, at);
    await e.observer()?.progress(structuredClone(d)).catch((err: unknown) => logger.warn({ err, sweepId: d.id }, 'sweep progress not shown'));
  }

  /** Writes `mutate`'s change of the spread state, recombines the digest, and ends the sweep when this write completed it. */
  async function changeSpread(sweepId: string, mutate: (s: SpreadState, row: SpreadRow) => boolean): Promise<{ row: SpreadRow | null; ended: boolean }> {
    const e = need();
    let ended = false;
    const row = await shared.change(sweepId, (r) => {
      ended = false;
      if (!r.spread || r.digest.state !== 'running') return null;
      if (!mutate(r.spread, r)) return null;
      const digest = combine(r, r.spread, e.worstLimit, e.now());
      if (r.spread.starterFinal && r.spread.folded.length >= r.spread.chunks) {
        digest.state = 'done';
        digest.endedAt = e.now().toISOString();
        delete digest.eta;
        ended = true;
      }
      return { digest, spread: r.spread };
    });
    return { row, ended };
  }

  const hook: SpreadHook = {
    bind(e) {
      engine = e;
    },
    starter(first) {
      const id = first.id;
      starting.add(id);
      let begun = false;
      let chunks = 0;
      let buffer: Array<{ vm: VmDetails; nsgs: EffectiveNsg[] | null }> = [];
      let chars = 0;
      const begin = async (): Promise<void> => {
        if (begun) return;
        begun = true;
        const until = () => new Date(need().now().getTime() + lease * 1000).toISOString();
        await shared.change(id, (r) => (r.spread ? null : { digest: r.digest, spread: { starter: starterPart(r.digest), starterFinal: false, chunks: 0, workers: blankPart(r.digest), folded: [], starterLeaseUntil: until() } }));
        // while it pages the fleet the starter renews its lease: past it, another instance ends the sweep
        const renew = setInterval(() => {
          void shared
            .change(id, (r) => {
              if (!r.spread || r.spread.starterFinal || r.digest.state !== 'running') return null;
              r.spread.starterLeaseUntil = until();
              return r;
            })
            .catch((err: unknown) => logger.warn({ err, sweepId: id }, 'sweep starter lease not renewed'));
        }, (lease * 1000) / 3);
        renew.unref?.();
        renewals.set(id, renew);
      };
      const send = async (): Promise<void> => {
        if (buffer.length === 0) return;
        const batch = buffer;
        buffer = [];
        chars = 0;
        const nsgs: EffectiveNsg[] = [];
        const index = new Map<string, number>();
        const chunk: SpreadChunk = {
          nsgs,
          vms: batch.map(({ vm, nsgs: list }) => ({
            vm,
            nsgs: list
              ? list.map((n) => {
                  const key = JSON.stringify(n);
                  let i = index.get(key);
                  if (i === undefined) index.set(key, (i = nsgs.push(n) - 1));
                  return i;
                })
              : null,
          })),
        };
        const n = chunks++;
        // the chunk first, then its message: a worker never gets a message whose chunk is missing
        await shared.putChunk(id, n, chunk);
        await shared.queue.send(JSON.stringify({ s: id, c: n, k: batch.length } satisfies SpreadTicket));
      };
      return {
        async add(vm, nsgs) {
          await begin();
          buffer.push({ vm, nsgs });
          chars += JSON.stringify(vm).length + JSON.stringify(nsgs ?? []).length;
          if (buffer.length >= chunkSize || chars >= MAX_CHUNK_CHARS) await send();
        },
        async handOff(digest) {
          try {
            if (!begun) return null;
            await send();
            const { row, ended } = await changeSpread(id, (s) => {
              s.starter = starterPart(digest);
              s.starterFinal = true;
              s.chunks = chunks;
              return true;
            });
            if (!row) return (await shared.get(id))?.digest ?? digest;
            if (ended) await finish(row.digest);
            else await progress(row.digest);
            return row.digest;
          } finally {
            ended(id);
          }
        },
      };
    },
  };

  function repo(inner: SweepRepo): SweepRepo {
    return {
      create: (d) => inner.create(d),
      get: (id) => inner.get(id),
      list: (limit) => inner.list(limit),
      putResults: (id, results) => inner.putResults(id, results),
      results: (id, limit, after) => inner.results(id, limit, after),
      claimRunCommand: (vmId, sweepId, now, windowMs, holder) => inner.claimRunCommand(vmId, sweepId, now, windowMs, holder),
      releaseRunCommand: (vmId, sweepId) => inner.releaseRunCommand(vmId, sweepId),
      ...(inner.runCommandSlot ? { runCommandSlot: (vmId: string) => inner.runCommandSlot!(vmId) } : {}),
      ...(inner.advanceRunCommand ? { advanceRunCommand: (...a: Parameters<NonNullable<SweepRepo['advanceRunCommand']>>) => inner.advanceRunCommand!(...a) } : {}),
      async update(d) {
        if (!starting.has(d.id)) return inner.update(d);
        // the starter's progress, or its end when it failed or stopped: its own part only, under the
        // row's ETag, so that the workers' folds in between are kept
        await shared.change(d.id, (r) => {
          if (!r.spread) return { digest: d, spread: null };
          if (r.digest.state !== 'running') return null;
          r.spread.starter = starterPart(d);
          const digest = combine(r, r.spread, need().worstLimit, need().now());
          if (d.state !== 'running') Object.assign(digest, { state: d.state, endedAt: d.endedAt, ...(d.error ? { error: d.error } : {}) });
          return { digest, spread: r.spread };
        });
        if (d.state !== 'running') ended(d.id);
      },
    };
  }

  // ---- the worker ----
  let stopped = true;
  let loop: Promise<void> | undefined;
  // the idle wait between empty receives; stop() cuts it short
  const idler = wakeableSleep();
  const inHand = new Set<Promise<void>>();
  /** the VMs this instance is checking (sweep id/VM id): a message of its own delivered again waits for them */
  const checking = new Map<string, Promise<StoredResult>>();
  let places: Places | undefined;

  /** One VM of a chunk: its budget, a place, its slot, the check; busy VMs (409) again after a pause, as the in-process path does. */
  async function checkOne(sweepId: string, vm: VmDetails, nsgs: EffectiveNsg[] | null): Promise<{ result: SweepVmResult; runCommands: number }> {
    const e = need();
    const fast = fastFindings(vm, nsgs, e.now());
    let runCommands = 0;
    for (let round = 0; round <= e.busyRetries; round++) {
      if (round > 0) await e.sleep(e.busyRetryDelayMs);
      await e.budget.take(`w:${vm.subscriptionId}`);
      await e.budget.take(vm.subscriptionId, e.readsPerRunCommand);
      await places!.take();
      try {
        // the slot is taken last, just before the Run Command: the smaller the time between the
        // two, the fewer VMs an instance dying mid-sweep leaves unchecked
        const slot = await takeSlot(sweepId, vm.id);
        if ('skipped' in slot) return { result: resultOf(vm, fast, slot.skipped), runCommands };
        const out = await e.deepCheck(sweepId, vm, fast, nsgs, slot.run);
        runCommands += out.runCommands;
        if (!('busy' in out)) return { result: out.result, runCommands };
      } finally {
        places!.give();
      }
    }
    return { result: resultOf(vm, fast, 'busy'), runCommands };
  }

  /**
   * sweep-resume: the VM's slot for this check. Free: claimed (phase `claimed`, a fresh holder).
   * Held by another sweep: `checked-recently`. Held by this sweep with no result stored (an
   * instance that died was checking it), by its phase: `claimed` -> taken over (conditional on the
   * holder read: of two takeovers, or a takeover and a live check, one wins) and checked;
   * `sent` -> its Run Command resumed from the token; `sending` (or a row from before phases)
   * -> `error:interrupted`, never a second Run Command.
   */
  async function takeSlot(sweepId: string, vmId: string): Promise<{ run?: SlotRun } | { skipped: string }> {
    const e = need();
    const repo = deps.store.sweeps;
    const holder = randomUUID();
    const phased = !!(repo.runCommandSlot && repo.advanceRunCommand);
    const run: SlotRun | undefined = phased
      ? {
          sending: () => repo.advanceRunCommand!(vmId, sweepId, holder, { phase: 'sending' }),
          accepted: async (token) => {
            // refused only when the slot is no longer this check's (it cannot be, past `sending`): logged, the Run Command goes on
            if (!(await repo.advanceRunCommand!(vmId, sweepId, holder, { phase: 'sent', token }))) logger.warn({ sweepId, vmId }, 'run command accepted; the slot was not this check\'s any more');
          },
        }
      : undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await repo.claimRunCommand(vmId, sweepId, e.now(), e.windowMs, holder)) return { run };
      if (!phased) {
        // a store without phases: at most once, as before sweep-resume
        return { skipped: (await shared.slotHolder(vmId)) === sweepId ? 'error:interrupted' : 'checked-recently' };
      }
      const slot = await repo.runCommandSlot!(vmId);
      if (!slot || slot.released) continue; // given back in between: claim it again
      if (slot.sweepId !== sweepId) return { skipped: 'checked-recently' };
      const phase = slotPhase(slot);
      const took = (what: string) => logger.info({ sweepId, vmId, phase: slot.phase ?? null, took: what }, 'sweep takeover: a VM whose check was interrupted');
      if (phase === 'sent' && slot.token) {
        took('resumed');
        return { run: { resumeFrom: slot.token } };
      }
      if (phase !== 'claimed') {
        took('interrupted');
        return { skipped: 'error:interrupted' };
      }
      if (await repo.advanceRunCommand!(vmId, sweepId, slot.holder ?? '', { phase: 'claimed', holder })) {
        took('checked');
        return { run };
      }
      // another check advanced it in between: read it again
    }
    return { skipped: 'error:interrupted' };
  }

  /** One message: its chunk's VMs checked (those without a stored result), each result stored once, the chunk folded once, the message deleted. */
  async function handle(m: SpreadMessage): Promise<void> {
    const e = need();
    const ticket = parseTicket(m.text);
    if (!ticket) {
      logger.error({ message: m.text.slice(0, 200) }, 'sweep queue: not a chunk message; deleted');
      await shared.queue.delete(m);
      return;
    }
    const row = await shared.get(ticket.s);
    if (!row?.spread || row.digest.state !== 'running' || row.spread.folded.includes(ticket.c)) {
      // the sweep ended (done, failed, cancelled) or this chunk is folded already: nothing left to do
      await shared.queue.delete(m);
      return;
    }
    // one renewal at a time: each gets a new receipt, which the next must use
    let renewing = false;
    const renew = setInterval(() => {
      if (renewing) return;
      renewing = true;
      shared.queue
        .extend(m, lease)
        .catch((err: unknown) => logger.warn({ err, sweepId: ticket.s, chunk: ticket.c }, 'sweep chunk lease not renewed'))
        .finally(() => (renewing = false));
    }, (lease * 1000) / 3);
    try {
      const chunk = await shared.getChunk(ticket.s, ticket.c);
      const results: SweepVmResult[] = [];
      let runCommands = 0;
      if (!chunk) {
        // the chunk is gone (it cannot be, short of someone deleting it): its VMs are counted, unchecked
        logger.error({ sweepId: ticket.s, chunk: ticket.c }, 'sweep chunk missing: its VMs are counted as not checked');
        for (let i = 0; i < ticket.k; i++) results.push({ vmId: '', vmName: '', resourceGroup: '', subscriptionId: '', findings: [], worst: null, skipped: 'error:lost' });
      } else {
        const vms = chunk.vms.map((x) => ({ vm: x.vm, nsgs: x.nsgs ? x.nsgs.map((i) => chunk.nsgs[i]) : null }));
        const stored = await shared.storedResults(ticket.s, vms.map((x) => x.vm.id));
        const poison = m.deliveries > maxDeliveries;
        if (poison) logger.error({ sweepId: ticket.s, chunk: ticket.c, deliveries: m.deliveries }, 'sweep chunk delivered too often: its VMs without a result end as not checked');
        const outcomes = await Promise.all(
          vms.map(async ({ vm, nsgs }) => {
            const known = stored.get(vm.id);
            if (known) return known;
            // this instance checks the VM already: its own message came back (a renewal missed under
            // load); the result of that check is this one's too, not an "interrupted"
            const key = `${ticket.s}/${vm.id.toLowerCase()}`;
            const mine = checking.get(key);
            if (mine) return mine;
            const work = (async () => {
              const out = poison ? { result: resultOf(vm, fastFindings(vm, nsgs, e.now()), 'error:poison'), runCommands: 0 } : await checkOne(ticket.s, vm, nsgs);
              // stored as soon as it is known, once: a result stored first (a second delivery's) wins
              return shared.putResultOnce(ticket.s, out);
            })();
            checking.set(key, work);
            try {
              return await work;
            } finally {
              checking.delete(key);
            }
          }),
        );
        for (const o of outcomes) {
          results.push(o.result);
          runCommands += o.runCommands;
        }
      }
      const { row: written, ended } = await changeSpread(ticket.s, (s) => {
        if (s.folded.includes(ticket.c)) return false;
        for (const r of results) fold(s.workers, r, e.worstLimit);
        s.workers.runCommands += runCommands;
        s.workers.armCalls += runCommands;
        s.folded.push(ticket.c);
        return true;
      });
      if (written && ended) await finish(written.digest);
      else if (written) await progress(written.digest);
      await shared.queue.delete(m);
    } finally {
      clearInterval(renew);
    }
  }

  function startWorker(): void {
    const e = need();
    if (!stopped) return;
    stopped = false;
    places = new Places(e.concurrency);
    // chunks in hand: enough to keep every place busy, and one more whose VMs wait on the budget
    const maxInHand = Math.ceil(e.concurrency / chunkSize) + 1;
    let reaped = 0;
    loop = (async () => {
      while (!stopped) {
        if (e.now().getTime() - reaped >= lease * 1000) {
          reaped = e.now().getTime();
          await reapAbandoned().catch((err: unknown) => logger.warn({ err }, 'abandoned sweep check failed'));
        }
        if (inHand.size >= maxInHand) {
          await Promise.race(inHand);
          continue;
        }
        let got: SpreadMessage[] = [];
        try {
          got = await shared.queue.receive(1, lease);
        } catch (err) {
          logger.warn({ err }, 'sweep queue receive failed');
        }
        for (const m of got) {
          const p: Promise<void> = handle(m)
            .catch((err: unknown) => logger.warn({ err, deliveries: m.deliveries }, 'sweep chunk not handled; it will be delivered again'))
            .finally(() => inHand.delete(p));
          inHand.add(p);
        }
        if (!stopped && got.length === 0) await idler.pause(idle);
      }
    })();
  }

  return {
    hook,
    repo,
    startWorker,
    async stop(timeoutInMs = 15000) {
      stopped = true;
      // a stopping instance renews no starter's lease: a sweep it still pages is ended by another
      for (const timer of renewals.values()) clearInterval(timer);
      renewals.clear();
      idler.wake();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([loop, ...inHand]), new Promise((r) => (timer = setTimeout(r, timeoutInMs)))]);
      clearTimeout(timer);
    },
  };
}
