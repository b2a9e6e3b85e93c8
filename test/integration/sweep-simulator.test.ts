import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAzureGateway } from '../../services/azure/factory';
import type { SdkAzureGateway } from '../../services/azure/sdk-gateway';
import { DomainError } from '../../services/errors';
import { diagnoseVm } from '../../services/incidents/diagnosis';
import { createLogger } from '../../services/log';
import { vmIdOf } from '../../services/simulator/arm-shapes';
import { loadFleetFile, type Fleet } from '../../services/simulator/fleet';
import { createInterior } from '../../services/simulator/pwsh-interior';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { SqliteStore } from '../../services/store/sqlite';
import { createSweeps, type SweepService } from '../../services/sweeps';
import type { SweepDigest, SweepVmResult } from '../../services/sweeps/types';
import { defaultFleetPath } from '../../services/wiring/azure';
import { t } from '../../services/i18n';

/**
 * Sweeps against the simulator with the demo fleet: what happened to the VMs is read from the
 * simulator's operation log, never from the digest's words.
 */

const APPROVER = '00000000-0000-4000-8000-0000000000a0';
/** the findings the ARM view alone can give (blockers, NSG, public IP) */
const ARM_VIEW = new Set(['vm-not-windows', 'vm-not-running', 'vm-agent-not-ready', 'rdp-exposed-to-internet', 'rdp-blocked-by-nsg', 'rdp-no-public-ip']);

let fleet: Fleet;
let sim: SimulatorHandle;
let gateway: SdkAzureGateway;
let store: SqliteStore;

beforeAll(async () => {
  fleet = loadFleetFile(defaultFleetPath());
  sim = await startSimulator({ fleet, port: 0, interior: createInterior('emulate', createVmInterior()).interior, runCommandLatencyMs: 0 });
  gateway = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [fleet.subscriptionId], timings: { conflictRetries: 0, pollIntervalInMs: 50 } });
  store = SqliteStore.open(mkdtempSync(join(tmpdir(), 'rdp-sweep-')));
});

afterAll(async () => {
  await store?.close();
  await sim?.close();
});

function service(overrides: Partial<Parameters<typeof createSweeps>[0]> = {}): SweepService {
  return createSweeps({
    store,
    gateway,
    logger: createLogger('silent'),
    scope: { subscriptions: [fleet.subscriptionId] },
    isApprover: (id) => id === APPROVER,
    concurrency: 4,
    busyRetries: 1,
    busyRetryDelayMs: 0,
    ...overrides,
  });
}

async function allResults(sweepId: string): Promise<SweepVmResult[]> {
  const out: SweepVmResult[] = [];
  let after: string | undefined;
  do {
    const p = await store.sweeps.results(sweepId, 7, after);
    out.push(...p.results);
    after = p.next;
  } while (after);
  return out;
}

const runCommands = () => sim.operations().filter((o) => o.kind === 'runCommand');

describe('fast sweep', () => {
  let digest: SweepDigest;
  let results: SweepVmResult[];
  let before: number;

  beforeAll(async () => {
    before = runCommands().length;
    const sweeps = service();
    const first = await sweeps.start({ kind: 'fast', scope: {}, startedBy: APPROVER });
    expect(first).toMatchObject({ state: 'running', done: 0 });
    digest = await sweeps.whenDone(first.id);
    results = await allResults(first.id);
  });

  it('checks every VM of the fleet with ARM reads only: no Run Command', () => {
    expect(digest.state).toBe('done');
    expect(digest.total).toBe(fleet.vms.length);
    expect(digest.done).toBe(fleet.vms.length);
    expect(results).toHaveLength(fleet.vms.length);
    expect(runCommands().length).toBe(before);
  });

  it('finds, per VM, what a diagnosis finds from the ARM view (the same evaluation)', async () => {
    // a busy VM cannot be diagnosed (409): nothing to compare with
    for (const vm of fleet.vms.filter((v) => v.faults.runCommand !== 'conflict')) {
      const id = vmIdOf(fleet, vm);
      const report = await diagnoseVm(gateway, id);
      // a diagnosis of a running VM reads the RDP port from the script; the fast sweep takes 3389
      const expected = report.findings.map((f) => f.id).filter((f) => ARM_VIEW.has(f) && (report.facts?.port ?? 3389) === 3389);
      const got = results.find((r) => r.vmId.toLowerCase() === id.toLowerCase());
      expect({ vm: vm.name, findings: got?.findings }).toEqual({ vm: vm.name, findings: expected });
    }
  });

  it('folds the counts and keeps the worst VMs first', () => {
    for (const [id, n] of Object.entries(digest.counts)) expect(results.filter((r) => r.findings.includes(id)).length).toBe(n);
    expect(digest.counts['rdp-exposed-to-internet']).toBeGreaterThan(0);
    expect(digest.counts['vm-not-running']).toBeGreaterThan(0);
    const ranks = digest.vms.map((v) => ['blocker', 'critical', 'warning', 'info'].indexOf(v.worst ?? ''));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(digest.vms.every((v) => v.worst !== null)).toBe(true);
  });

  it('is audited: started by the approver, ended with the counts', async () => {
    const entries = (await store.audit.list({ limit: 50 })).filter((e) => (e.details as { sweepId?: string } | undefined)?.sweepId === digest.id);
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['sweep.started', APPROVER],
      ['sweep.ended', 'rdp-doctor'],
    ]);
  });

  it('is listed, newest first, and read back from the store', async () => {
    const sweeps = service();
    expect((await sweeps.get(digest.id))?.done).toBe(fleet.vms.length);
    expect((await sweeps.list(5))[0].id).toBe(digest.id);
  });

  it('narrows to a resource group', async () => {
    const sweeps = service();
    const d = await sweeps.whenDone((await sweeps.start({ kind: 'fast', scope: { resourceGroup: 'rg-nothing-here' }, startedBy: APPROVER })).id);
    expect(d).toMatchObject({ state: 'done', total: 0, done: 0 });
  });
});

describe('refusals: nothing is stored or started', () => {
  it.each([
    [{ kind: 'fast', scope: { subscriptionIds: ['11111111-1111-1111-1111-111111111111'] }, startedBy: APPROVER }, 'out-of-scope', 'sweeps.error.subscriptionOutOfScope'],
    [{ kind: 'fast', scope: { subscriptionIds: ['not-a-guid'] }, startedBy: APPROVER }, 'bad-input', 'sweeps.error.badSubscription'],
    [{ kind: 'fast', scope: { resourceGroup: 'rg/../x' }, startedBy: APPROVER }, 'bad-input', 'sweeps.error.badResourceGroup'],
    [{ kind: 'fast', scope: {}, startedBy: 'someone-else' }, 'not-allowed', 'sweeps.error.onlyApprovers'],
    [{ kind: 'slow', scope: {}, startedBy: APPROVER }, 'bad-input', 'sweeps.error.badKind'],
  ])('%j', async (request, code, key) => {
    const sweeps = service();
    const before = (await sweeps.list(1000)).length;
    const e = await sweeps.start(request as never).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe(code);
    expect((e as DomainError).params.messageKey).toBe(key);
    // a clear sentence in both languages
    for (const lang of ['en', 'ru'] as const) expect(t(lang, key, (e as DomainError).params)).not.toMatch(/sweeps\.error|\{/);
    expect((await sweeps.list(1000)).length).toBe(before);
  });

  it('refuses a resource group outside the configured ones', async () => {
    const sweeps = service({ scope: { subscriptions: [fleet.subscriptionId], resourceGroups: ['rg-demo'] } });
    await expect(sweeps.start({ kind: 'fast', scope: { resourceGroup: 'rg-other' }, startedBy: APPROVER })).rejects.toMatchObject({ code: 'out-of-scope' });
  });
});

describe('deep sweep', () => {
  it('runs one diagnostic per running VM with a ready agent, skips the others, retries the busy one, never twice in 24 h', async () => {
    const eligible = fleet.vms.filter((v) => v.osType === 'Windows' && v.powerState === 'running' && v.agentStatus === 'Ready');
    const busy = eligible.filter((v) => v.faults.runCommand === 'conflict').map((v) => v.name);
    const expected = eligible.filter((v) => !busy.includes(v.name));
    const before = runCommands().length;
    const sweeps = service();
    const d = await sweeps.whenDone((await sweeps.start({ kind: 'deep', scope: {}, startedBy: APPROVER })).id);
    const ran = runCommands().slice(before);
    expect(d.state).toBe('done');
    // each eligible VM exactly once; the busy VM's 409s are refused before running (not in the log)
    expect(ran.map((o) => o.vm).sort()).toEqual(expected.map((v) => v.name).sort());
    expect(ran.every((o) => o.scriptId === 'diagnose')).toBe(true);
    const results = await allResults(d.id);
    const byName = new Map(results.map((r) => [r.vmName, r]));
    for (const v of busy) expect(byName.get(v)?.skipped).toBe('busy');
    expect(byName.get('vm-stopped-07')?.skipped).toBe('not-running');
    expect(byName.get('vm-noagent-08')?.skipped).toBe('agent-not-ready');
    // the diagnosis's findings, script facts included
    expect(byName.get('vm-tlsoff-06')?.findings).toContain('tls-disabled');
    expect(d.skipped).toMatchObject({ busy: busy.length });

    // a second deep sweep the same day: no VM gets a second Run Command
    const again = await sweeps.whenDone((await sweeps.start({ kind: 'deep', scope: {}, startedBy: APPROVER })).id);
    expect(runCommands().length).toBe(before + ran.length);
    expect(again.skipped?.['checked-recently']).toBe(expected.length);
    // the busy VM's slot was given back: it is tried again (and is still busy)
    expect(again.skipped?.busy).toBe(busy.length);
  });
});
