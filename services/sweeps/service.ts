import { randomUUID } from 'node:crypto';
import type { AzureGateway, EffectiveNsg, RunCommandPolling, RunCommandPollReport, RunScriptOptions, RunScriptResult, SweepGateway, SweepScopeFilter, VmDetails, VmSummary } from '../azure/gateway';
import { inScope, type AzureScope } from '../azure/scope';
import { DomainError, isDomainError } from '../errors';
import { recordAudit, SYSTEM_ACTOR } from '../incidents/audit';
import { diagnoseVm } from '../incidents/diagnosis';
import type { Logger } from '../log';
import type { Finding } from '../runbook/findings';
import type { AppStore } from '../store/store';
import { Budget, type BucketSpec, type Sleep } from './budget';
import { fold, resultOf } from './digest';
import { deepEligible, detailsOf, fastFindings, NetworkView } from './evaluate';
import type { SweepMeter } from './meter';
import { RunCommandPace, type PaceOptions } from './pace';
import { SlotTakenOver, type SlotRun, type SpreadHook } from './spread';
import type { SweepDigest, SweepObserver, SweepRequest, Sweeps, SweepVmResult } from './types';

/**
 * The sweep service (issue #16, docs/sweeps.md): `createSweeps(deps)` implements `Sweeps`.
 * A fast sweep reads the fleet in bulk (Resource Graph pages of NSGs, NICs and VMs, and each
 * subscription's status pages) and evaluates every VM with the diagnosis's own code; a deep sweep
 * then runs the read-only diagnosis (diagnoseVm) on the running VMs with a ready agent, at most
 * `concurrency` at once and at most once per VM per `runCommandWindowMs` (a slot in the store,
 * shared by every instance). Results are stored as they arrive; the digest keeps counts and the
 * worst VMs only.
 */

/** Azure's documented limits (docs/sweeps.md "Budget") and the share of them a sweep may spend. */
export const AZURE_LIMITS = {
  /** ARM token bucket per subscription (and principal): reads */
  armReads: { ratePerSecond: 25, burst: 250 },
  /** ARM token bucket per subscription: writes (a Run Command is a POST) */
  armWrites: { ratePerSecond: 10, burst: 200 },
  /** Resource Graph: 15 queries per 5 s window per user */
  graph: { ratePerSecond: 3, burst: 15 },
} as const;

export function budgetShare(percent: number): { reads: BucketSpec; writes: BucketSpec; graph: BucketSpec } {
  const share = (b: BucketSpec): BucketSpec => ({ ratePerSecond: (b.ratePerSecond * percent) / 100, burst: Math.max(1, Math.floor((b.burst * percent) / 100)) });
  return { reads: share(AZURE_LIMITS.armReads), writes: share(AZURE_LIMITS.armWrites), graph: share(AZURE_LIMITS.graph) };
}

export interface SweepsDeps {
  store: Pick<AppStore, 'sweeps' | 'audit'>;
  gateway: AzureGateway & SweepGateway;
  logger: Logger;
  /** the configured scope: the subscriptions (demo mode: the fleet's) and, when set, the only resource groups */
  scope: AzureScope;
  /** who may start a sweep (approvers); 'schedule' always may */
  isApprover(userId: string): boolean;
  observer?: SweepObserver;
  /** SWEEP_CONCURRENCY: deep-sweep diagnoses at once (default 10) */
  concurrency?: number;
  /** SWEEP_ARM_BUDGET_PERCENT: the share of Azure's limits a sweep may spend (default 50) */
  budgetPercent?: number;
  /** overrides of the buckets (tests) */
  budget?: Partial<ReturnType<typeof budgetShare>>;
  /** one Run Command per VM per window (default 24 h) */
  runCommandWindowMs?: number;
  /** rounds in which busy VMs (409) are tried again at the end of the sweep (default 2), and the pause before each (default 60 s) */
  busyRetries?: number;
  busyRetryDelayMs?: number;
  /**
   * ARM reads one Run Command costs besides its POST: the status polls and the result (default 2:
   * the poll that finds it finished and the result, with the polls paced; 3 with `runCommandPace: false`).
   * Taken from the subscription's read bucket before the Run Command, so the polls stay in budget;
   * with the polls paced, what the gateway reports it really read is settled with the bucket after.
   */
  readsPerRunCommand?: number;
  /** the observer hears progress at most this often (default 5 s) */
  progressIntervalMs?: number;
  /** how many worst VMs the digest keeps (default 50) */
  worstLimit?: number;
  /** Run Command bound per VM (default the gateway's) */
  runCommandTimeoutInMs?: number;
  now?: () => Date;
  sleep?: Sleep;
  /** sweep-pace: told where a deep sweep's time goes (budget waits, Run Command time and reads, pool occupancy); the bench passes one */
  meter?: SweepMeter;
  /**
   * sweep-pace: when a Run Command's status is first polled, learned from the ones before (pace.ts);
   * `false`: the gateway's fixed interval (the behaviour before; the bench's comparison)
   */
  runCommandPace?: PaceOptions | false;
  /** STORAGE=azure: a deep sweep's eligible VMs go to every instance's sweep worker (sweep-spread, services/sweeps/spread.ts) */
  spread?: SpreadHook;
}

export interface SweepService extends Sweeps {
  /** the digest card's presenter (bound after construction) */
  setObserver(observer: SweepObserver): void;
  /** The final digest of a sweep this process runs (the CLI and tests wait on it). */
  whenDone(sweepId: string): Promise<SweepDigest>;
  /** Running sweeps stop after the VMs in flight; resolves when they have (bounded by `timeoutInMs`). */
  stop(timeoutInMs?: number): Promise<void>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_GROUP = /^[-\w._()]{1,90}$/;
const DAY_MS = 24 * 3600_000;
/** results are written in batches of at most this many (a Table batch holds 100) */
const FLUSH_AT = 100;

function refuse(code: 'bad-input' | 'out-of-scope' | 'not-allowed', message: string, messageKey: string, params: Record<string, string> = {}): DomainError {
  return new DomainError(code, message, { params: { ...params, messageKey, detailKey: messageKey, what: params.what ?? '' } });
}

/** Checks and normalises the requested scope against the configured one. */
export function checkScope(filter: SweepScopeFilter | undefined, scope: AzureScope): SweepScopeFilter {
  const out: SweepScopeFilter = {};
  const subs = filter?.subscriptionIds ?? [];
  for (const s of subs) {
    if (typeof s !== 'string' || !GUID.test(s)) throw refuse('bad-input', `not a subscription id: ${JSON.stringify(String(s).slice(0, 60))}`, 'sweeps.error.badSubscription', { what: String(s).slice(0, 60) });
    if (!scope.subscriptions.some((x) => x.toLowerCase() === s.toLowerCase())) throw refuse('out-of-scope', `subscription ${s} is outside the configured scope`, 'sweeps.error.subscriptionOutOfScope', { what: s });
  }
  if (subs.length > 0) out.subscriptionIds = [...new Set(subs.map((s) => s.toLowerCase()))];
  const rg = filter?.resourceGroup;
  if (rg !== undefined) {
    if (typeof rg !== 'string' || !RESOURCE_GROUP.test(rg)) throw refuse('bad-input', `not a resource group name: ${JSON.stringify(String(rg).slice(0, 90))}`, 'sweeps.error.badResourceGroup', { what: String(rg).slice(0, 90) });
    if (scope.resourceGroups && scope.resourceGroups.length > 0 && !scope.resourceGroups.some((g) => g.toLowerCase() === rg.toLowerCase())) {
      throw refuse('out-of-scope', `resource group ${rg} is outside the configured scope`, 'sweeps.error.resourceGroupOutOfScope', { what: rg });
    }
    out.resourceGroup = rg;
  }
  return out;
}

type DeepOutcome = { result: SweepVmResult; runCommands: number } | { busy: true; runCommands: number };

export function createSweeps(deps: SweepsDeps): SweepService {
  const now = deps.now ?? (() => new Date());
  const sleep: Sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  const concurrency = Math.max(1, deps.concurrency ?? 10);
  const share = { ...budgetShare(deps.budgetPercent ?? 50), ...deps.budget };
  const budget = new Budget((key) => (key === 'graph' ? share.graph : key.startsWith('w:') ? share.writes : share.reads), () => now().getTime(), sleep);
  const windowMs = deps.runCommandWindowMs ?? DAY_MS;
  const busyRetries = deps.busyRetries ?? 2;
  const busyDelay = deps.busyRetryDelayMs ?? 60_000;
  // sweep-pace: Run Command polls spaced to the learned duration, their reads settled with the budget
  const pace = deps.runCommandPace === false ? null : new RunCommandPace(deps.runCommandPace);
  const readsPerRunCommand = deps.readsPerRunCommand ?? (pace ? 2 : 3);
  const progressEvery = deps.progressIntervalMs ?? 5000;
  const worstLimit = deps.worstLimit ?? 50;
  let observer = deps.observer;
  let stopping = false;
  const running = new Map<string, Promise<SweepDigest>>();
  // sweep-spread: this instance's worker checks VMs with the same deepCheck and budget
  deps.spread?.bind({ deepCheck, budget, concurrency, readsPerRunCommand, windowMs, worstLimit, busyRetries, busyRetryDelayMs: busyDelay, progressIntervalMs: progressEvery, observer: () => observer, now, sleep });

  async function start(request: SweepRequest): Promise<SweepDigest> {
    if (stopping) throw new DomainError('conflict', 'the bot is stopping', { params: { messageKey: 'sweeps.error.stopping' } });
    if (request.kind !== 'fast' && request.kind !== 'deep') throw refuse('bad-input', `unknown sweep kind ${JSON.stringify(request.kind)}`, 'sweeps.error.badKind', { what: String(request.kind) });
    if (request.startedBy !== 'schedule' && !deps.isApprover(request.startedBy)) throw refuse('not-allowed', 'sweeps are for approvers', 'sweeps.error.onlyApprovers');
    const scope = checkScope(request.scope, deps.scope);
    const digest: SweepDigest = {
      id: randomUUID(),
      kind: request.kind,
      state: 'running',
      scope,
      startedAt: now().toISOString(),
      startedBy: request.startedBy,
      total: 0,
      done: 0,
      counts: {},
      vms: [],
      armCalls: 0,
      runCommands: 0,
    };
    await deps.store.sweeps.create(digest);
    await recordAudit(deps.store, now(), { id: request.startedBy }, 'sweep.started', null, { sweepId: digest.id, kind: digest.kind, scope });
    const first = structuredClone(digest);
    running.set(
      digest.id,
      run(digest).finally(() => running.delete(digest.id)),
    );
    return first;
  }

  async function run(digest: SweepDigest): Promise<SweepDigest> {
    const started = now().getTime();
    let lastProgress = started;
    const spread = digest.kind === 'deep' ? deps.spread?.starter(digest) : undefined;
    let pending: SweepVmResult[] = [];
    let chain: Promise<void> = Promise.resolve();
    // every change of the digest and every write goes through one chain: no two at once
    const serial = (work: () => Promise<void>): Promise<void> => {
      const next = chain.then(work);
      chain = next.catch(() => undefined);
      return next;
    };
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      await deps.store.sweeps.putResults(digest.id, batch);
    };
    const progress = async (): Promise<void> => {
      const at = now().getTime();
      if (at - lastProgress < progressEvery) return;
      lastProgress = at;
      await flush();
      const elapsed = Math.max(1, at - started);
      if (digest.done > 0 && digest.total > digest.done) digest.eta = new Date(now().getTime() + ((digest.total - digest.done) * elapsed) / digest.done).toISOString();
      await deps.store.sweeps.update(digest);
      await observer?.progress(structuredClone(digest)).catch((e: unknown) => deps.logger.warn({ err: e, sweepId: digest.id }, 'sweep progress not shown'));
    };
    const record = (r: SweepVmResult, runCommands = 0): Promise<void> =>
      serial(async () => {
        fold(digest, r, worstLimit);
        digest.runCommands += runCommands;
        digest.armCalls += runCommands;
        pending.push(r);
        if (pending.length >= FLUSH_AT) await flush();
        await progress();
      });
    const graphRead = async <T>(call: () => Promise<T>): Promise<T> => {
      await budget.take('graph');
      digest.armCalls++;
      return call();
    };

    try {
      const subscriptions = digest.scope.subscriptionIds ?? [...deps.scope.subscriptions];
      const filter: SweepScopeFilter = { ...digest.scope, subscriptionIds: subscriptions };
      const network = new NetworkView();
      for (let token: string | undefined, first = true; first || token; first = false) {
        const page = await graphRead(() => deps.gateway.listNsgsPage(filter, token));
        for (const nsg of page.nsgs) network.addNsg(nsg);
        token = page.skipToken;
      }
      for (let token: string | undefined, first = true; first || token; first = false) {
        const page = await graphRead(() => deps.gateway.listNicsPage(filter, token));
        for (const nic of page.nics) network.addNic(nic);
        token = page.skipToken;
      }
      const status = new Map<string, { powerState: VmDetails['powerState']; agentStatus: VmDetails['agentStatus'] }>();
      for (const sub of subscriptions) {
        for (let link: string | undefined, first = true; first || link; first = false) {
          await budget.take(sub);
          digest.armCalls++;
          const page = await deps.gateway.listVmStatusPage(sub, link);
          for (const s of page.statuses) status.set(s.vmId.toLowerCase(), { powerState: s.powerState, agentStatus: s.agentStatus });
          link = page.nextLink;
        }
      }

      // sweep-pace: the meter sees the pool's occupancy while the streams still have VMs to dispatch
      let dispatching = digest.kind === 'deep' ? subscriptions.length : 0;
      const pool = new Pool(concurrency, deps.meter ? (active) => deps.meter?.occupancy(active, dispatching > 0, now().getTime()) : undefined);
      const take = async (bucket: string, n?: number): Promise<void> => {
        const t0 = now().getTime();
        await budget.take(bucket, n);
        deps.meter?.budgetWait(bucket, now().getTime() - t0);
      };
      const busy: Array<{ vm: VmDetails; fast: Finding[]; nsgs: EffectiveNsg[] | null }> = [];
      // A deep-sweep VM: its 24 h slot in the store, then its subscription's budget, and only then a
      // place in the pool: no place is held while a subscription's bucket refills, so the other
      // subscriptions' VMs (their own page streams, below) take the free places meanwhile.
      const deepOne = async (vm: VmDetails, fast: Finding[], nsgs: EffectiveNsg[] | null): Promise<void> => {
        if (!(await deps.store.sweeps.claimRunCommand(vm.id, digest.id, now(), windowMs))) return record(resultOf(vm, fast, 'checked-recently'));
        const rest = (): number => Math.max(budget.pausedFor(vm.subscriptionId), budget.pausedFor(`w:${vm.subscriptionId}`));
        const check = async (): Promise<void> => {
          const outcome = await deepCheck(digest.id, vm, fast, nsgs);
          if ('busy' in outcome) {
            busy.push({ vm, fast, nsgs });
            await serial(async () => {
              digest.runCommands += outcome.runCommands;
              digest.armCalls += outcome.runCommands;
            });
          } else await record(outcome.result, outcome.runCommands);
        };
        try {
          // a 429 of another VM may pause the subscription while this one waits for a place: then it
          // gives the place up and takes its tokens again after the pause (the pause spent them)
          for (let started = false; !started; ) {
            await take(`w:${vm.subscriptionId}`);
            await take(vm.subscriptionId, readsPerRunCommand);
            started = await pool.add(check, rest);
          }
        } catch (e) {
          // the sweep failed while this VM waited for a place: it never ran, its slot goes back
          await deps.store.sweeps.releaseRunCommand(vm.id, digest.id).catch(() => undefined);
          throw e;
        }
      };

      // One page stream per filter: a fast sweep reads the VM pages once for the whole scope; a deep
      // sweep reads each subscription's VMs as its own stream, side by side, so that one
      // subscription waiting on its budget does not hold back the others (the pages come ordered by id,
      // so grouped by subscription).
      let failed = false;
      const stream = async (f: SweepScopeFilter): Promise<void> => {
        try {
          for (let token: string | undefined, first = true; first || token; first = false) {
            if (stopping) throw new DomainError('interrupted', 'the bot stopped during the sweep');
            if (failed) return;
            const page = await graphRead(() => deps.gateway.listVmsPage(f, token));
            token = page.skipToken;
            const vms = page.vms.filter((v: VmSummary) => inScope(deps.scope, v.subscriptionId, v.resourceGroup) && (!digest.scope.resourceGroup || v.resourceGroup.toLowerCase() === digest.scope.resourceGroup.toLowerCase()));
            await serial(async () => {
              digest.total += vms.length;
            });
            for (const summary of vms) {
              if (failed) return;
              const vm = detailsOf(summary, status.get(summary.id.toLowerCase()), network);
              const nsgs = network.nsgsOf(vm.id);
              const fast = fastFindings(vm, nsgs, now());
              if (digest.kind === 'deep' && deepEligible(vm)) await (spread ? spread.add(vm, nsgs) : deepOne(vm, fast, nsgs));
              else await record(resultOf(vm, fast, digest.kind === 'deep' ? skipReason(fast) : undefined));
            }
          }
        } catch (e) {
          failed = true;
          throw e;
        } finally {
          if (dispatching > 0) dispatching--;
          deps.meter?.occupancy(pool.active, dispatching > 0, now().getTime());
        }
      };
      const streams = digest.kind === 'deep' ? subscriptions.map((sub) => stream({ ...filter, subscriptionIds: [sub] })) : [stream(filter)];
      const ended = await Promise.allSettled(streams);
      const broken = ended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (broken) {
        await pool.drain().catch(() => undefined);
        throw broken.reason;
      }
      await pool.drain();
      for (let round = 0; round < busyRetries && busy.length > 0 && !stopping; round++) {
        await sleep(busyDelay);
        const again = busy.splice(0, busy.length);
        for (const b of again) await deepOne(b.vm, b.fast, b.nsgs);
        await pool.drain();
      }
      for (const b of busy.splice(0, busy.length)) await record(resultOf(b.vm, b.fast, 'busy'));
      // sweep-spread: the eligible VMs are with the workers; whichever instance folds the last of them ends the sweep
      if (spread) {
        await serial(flush);
        const handed = await spread.handOff(structuredClone(digest));
        if (handed) return handed;
      }
      await serial(async () => {
        await flush();
        digest.state = stopping ? 'cancelled' : 'done';
      });
    } catch (e) {
      deps.logger.error({ err: e, sweepId: digest.id }, 'sweep failed');
      await serial(async () => {
        digest.state = isDomainError(e) && e.code === 'interrupted' ? 'cancelled' : 'failed';
        digest.error = isDomainError(e) ? e.code : 'internal';
      });
    }
    await serial(async () => {
      digest.endedAt = now().toISOString();
      delete digest.eta;
      await deps.store.sweeps.update(digest);
    }).catch((e: unknown) => deps.logger.error({ err: e, sweepId: digest.id }, 'sweep end not stored'));
    await recordAudit(deps.store, now(), SYSTEM_ACTOR, 'sweep.ended', null, {
      sweepId: digest.id,
      state: digest.state,
      total: digest.total,
      done: digest.done,
      runCommands: digest.runCommands,
      counts: digest.counts,
      ...(digest.error ? { error: digest.error } : {}),
    }).catch((e: unknown) => deps.logger.error({ err: e, sweepId: digest.id }, 'sweep end not audited'));
    await observer?.finished(structuredClone(digest)).catch((e: unknown) => deps.logger.warn({ err: e, sweepId: digest.id }, 'sweep end not shown'));
    return digest;
  }

  /** One VM of a deep sweep, its slot and budget already taken: the diagnosis over the bulk view (no ARM read of its own, one Run Command). */
  async function deepCheck(sweepId: string, vm: VmDetails, fast: Finding[], nsgs: EffectiveNsg[] | null, run?: SlotRun): Promise<DeepOutcome> {
    const view = viewGateway(deps.gateway, vm, nsgs, {
      polling: pace ? () => pace.polling((r) => budget.adjust(vm.subscriptionId, r.reads - readsPerRunCommand)) : undefined,
      ran: deps.meter ? (ms, r) => deps.meter?.runCommand({ subscriptionId: vm.subscriptionId, ms, reads: r?.reads, firstPollHit: r?.firstPollHit }) : undefined,
      run,
    });
    try {
      const report = await diagnoseVm(view, vm.id, { now, runCommandTimeoutInMs: deps.runCommandTimeoutInMs });
      return { result: resultOf(vm, report.findings), runCommands: view.runCommands() };
    } catch (e) {
      // sweep-resume: another check took the slot over before this one sent anything: its result is the VM's
      if (e instanceof SlotTakenOver) return { result: resultOf(vm, fast, 'error:interrupted'), runCommands: 0 };
      const code = isDomainError(e) ? e.code : 'internal';
      if (code === 'conflict') {
        // 409: another Run Command holds the VM and none of ours ran: the slot goes back, the VM is tried later
        await deps.store.sweeps.releaseRunCommand(vm.id, sweepId);
        return { busy: true, runCommands: view.runCommands() };
      }
      if (code === 'throttled') {
        // 429 past the SDK's own Retry-After retries: the subscription rests for Retry-After (every
        // VM of it waits). This VM is not tried again: the 429 may have hit a status poll of a Run
        // Command that did run, and a second one would break "once per VM per 24 h".
        const after = Number((e as DomainError).params.retryAfterSeconds);
        const ms = Math.min(300, Number.isFinite(after) && after > 0 ? after : 30) * 1000;
        budget.pause(vm.subscriptionId, ms);
        budget.pause(`w:${vm.subscriptionId}`, ms);
      }
      deps.logger.warn({ err: e, sweepId, vm: vm.name }, 'deep sweep: VM not diagnosed');
      return { result: resultOf(vm, fast, code === 'agent-not-ready' ? 'agent-not-ready' : `error:${code}`), runCommands: view.runCommands() };
    }
  }

  return {
    start,
    async get(id) {
      return deps.store.sweeps.get(id);
    },
    async list(limit) {
      return deps.store.sweeps.list(limit);
    },
    setObserver(o) {
      observer = o;
    },
    async whenDone(id) {
      const r = running.get(id);
      if (r) return r;
      const d = await deps.store.sweeps.get(id);
      if (!d) throw new DomainError('not-found', `no sweep ${id}`, { params: { what: id } });
      return d;
    },
    async stop(timeoutInMs = 15000) {
      stopping = true;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...running.values()]), new Promise((r) => (timer = setTimeout(r, timeoutInMs)))]);
      clearTimeout(timer);
    },
  };
}

function skipReason(fast: Finding[]): string {
  const ids = new Set(fast.map((f) => f.id));
  if (ids.has('vm-not-windows')) return 'not-windows';
  if (ids.has('vm-not-running')) return 'not-running';
  return 'agent-not-ready';
}

/** sweep-pace: what the deep path adds to the view's Run Command (its polling schedule; the meter's sample) */
interface RunCommandHooks {
  polling?: () => RunCommandPolling;
  /** a Run Command that ran: ms from the call to its end, and what its polls cost when the gateway said */
  ran?: (ms: number, report: RunCommandPollReport | undefined) => void;
  /** sweep-resume: the spread worker's slot phases (its `sending`/`sent` writes), or the token of a Run Command to resume */
  run?: SlotRun;
}

/**
 * The gateway a deep sweep's diagnosis sees: the VM, its NSGs and its public IP from the bulk
 * reads already made (no ARM read per VM), the Run Command through the real gateway.
 */
function viewGateway(gateway: AzureGateway, vm: VmDetails, nsgs: EffectiveNsg[] | null, hooks: RunCommandHooks = {}): AzureGateway & { runCommands(): number } {
  let runs = 0;
  const readOnly = (): never => {
    throw new DomainError('internal', 'a sweep changes nothing');
  };
  const view: AzureGateway & { runCommands(): number } = {
    findVms: (q) => gateway.findVms(q),
    startVm: readOnly,
    restartVm: readOnly,
    snapshotOsDisk: readOnly,
    upsertNsgRule: readOnly,
    deleteNsgRule: readOnly,
    getNsg: (id) => gateway.getNsg(id),
    getVm: async () => ({ ...vm }),
    getEffectiveNsgRules: async () => {
      if (!nsgs) throw new DomainError('not-found', 'no NIC in the bulk view');
      return nsgs;
    },
    hasPublicIp: async () => vm.publicIp as boolean,
    runScript: async (vmId: string, options: RunScriptOptions): Promise<RunScriptResult> => {
      const started = Date.now();
      let report: RunCommandPollReport | undefined;
      const polling = hooks.polling?.();
      const withPolling: RunScriptOptions = polling
        ? {
            ...options,
            polling: {
              ...polling,
              onPolled: (r) => {
                report = r;
                polling.onPolled?.(r);
              },
            },
          }
        : options;
      // sweep-resume: a Run Command that an instance which died had sent is polled to its end, not sent
      // again; else `sending` is written just before the POST and the token once Azure accepted it
      const run = hooks.run;
      const resume = run?.resumeFrom;
      if (resume && !gateway.resumeRunScript) throw new DomainError('internal', 'this gateway cannot resume a Run Command');
      if (!resume && run?.sending && !(await run.sending())) throw new SlotTakenOver();
      try {
        const out = resume
          ? await gateway.resumeRunScript!(vmId, resume, withPolling)
          : await gateway.runScript(vmId, run?.accepted ? { ...withPolling, onAccepted: run.accepted } : withPolling);
        runs++;
        hooks.ran?.(Date.now() - started, report);
        return out;
      } catch (e) {
        // refused before it ran (409 busy, 429): not a Run Command on the VM
        if (!isDomainError(e) || (e.code !== 'conflict' && e.code !== 'throttled')) {
          runs++;
          hooks.ran?.(Date.now() - started, report);
        }
        throw e;
      }
    },
    runCommands: () => runs,
  };
  return view;
}

/** At most `size` tasks at once; `add` waits for a free place (the paging waits with it). */
class Pool {
  private readonly tasks = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  /** `onChange`: told the number of tasks running after each start and end (sweep-pace's meter) */
  constructor(private readonly size: number, private readonly onChange?: (active: number) => void) {}

  get active(): number {
    return this.tasks.size;
  }

  /**
   * Starts `task` in the next free place and returns true; or, when `rest` (checked once a place is
   * free) says its subscription rests after a 429, starts nothing, holds no place and returns false.
   */
  async add(task: () => Promise<void>, rest?: () => number): Promise<boolean> {
    while (this.tasks.size >= this.size) await Promise.race(this.tasks);
    if (this.failure) throw this.failure.error;
    if (rest && rest() > 0) return false;
    const p: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.tasks.delete(p);
        this.onChange?.(this.tasks.size);
      });
    this.tasks.add(p);
    this.onChange?.(this.tasks.size);
    return true;
  }

  /** Waits for every task; a task's failure (the store, say) fails the sweep. */
  async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    if (this.failure) throw this.failure.error;
  }
}
