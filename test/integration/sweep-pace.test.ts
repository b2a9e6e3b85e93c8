import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAzureGateway } from '../../services/azure/factory';
import type { RunCommandPollReport } from '../../services/azure/gateway';
import { createLogger } from '../../services/log';
import { loadFleetFile, parseFleet, type Fleet } from '../../services/simulator/fleet';
import type { VmInterior } from '../../services/simulator/interior';
import { createInterior } from '../../services/simulator/pwsh-interior';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { SqliteStore } from '../../services/store/sqlite';
import { createSweepMeter } from '../../services/sweeps/meter';
import { createSweeps } from '../../services/sweeps';
import { defaultFleetPath } from '../../services/wiring/azure';

/**
 * sweep-pace (issue #16): a Run Command's status polls on a schedule, through the real SDK against
 * the simulator, counted on the simulator's side (every GET it served, polls included); and a deep
 * sweep whose only per-VM calls are the Run Commands. Counts, never durations, decide.
 */

const SUB = '6f1c2d3e-4a5b-4c6d-8e7f-0000000000b7';
const idOf = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg-pace/providers/Microsoft.Compute/virtualMachines/${name}`;

function fleet(): Fleet {
  const vm = (name: string) => ({ name, resourceGroup: 'rg-pace', location: 'westeurope', osType: 'Windows', powerState: 'running', agentStatus: 'Ready', nsgRules: [] });
  return parseFleet({ subscriptionId: SUB, vms: [vm('vm-a'), vm('vm-b'), vm('vm-c'), vm('vm-d')] });
}

const interior: VmInterior = { engine: 'emulate', run: (v, scriptId) => ({ stdout: JSON.stringify({ vm: v.name, scriptId }), stderr: '', changed: false }) };

async function polled(sim: SimulatorHandle, vm: string, firstPollInMs: number): Promise<{ report: RunCommandPollReport; served: number; stdout: string }> {
  const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], timings: { conflictRetries: 0, runCommandTimeoutInMs: 60_000 } });
  const before = sim.served?.().reads ?? 0;
  let report: RunCommandPollReport | undefined;
  const out = await gw.runScript(idOf(vm), { scriptId: 'probe', script: 'x', polling: { firstPollInMs, onPolled: (r) => (report = r) } });
  return { report: report as RunCommandPollReport, served: (sim.served?.().reads ?? 0) - before, stdout: out.stdout };
}

describe('a Run Command polled on a schedule (real SDK, simulator)', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ fleet: fleet(), interior, port: 0, runCommandLatencyMs: 2000 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('first polled after its duration: one status poll and the result, as the simulator counts them', async () => {
    const { report, served, stdout } = await polled(sim, 'vm-a', 2500);
    expect(JSON.parse(stdout)).toMatchObject({ vm: 'vm-a', scriptId: 'probe' });
    expect(report).toMatchObject({ firstPollHit: true, running: 0, reads: 2 });
    expect(served).toBe(2);
  });

  it('first polled too early: polled again until it ends, every read counted', async () => {
    const { report, served, stdout } = await polled(sim, 'vm-b', 50);
    expect(JSON.parse(stdout)).toMatchObject({ vm: 'vm-b' });
    expect(report.firstPollHit).toBe(false);
    expect(report.running).toBeGreaterThanOrEqual(1);
    expect(report.reads).toBe(report.running + 2);
    expect(served).toBe(report.reads);
  });

  it('without a schedule the SDK polls as before (right after the POST, then on its interval)', async () => {
    const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], timings: { conflictRetries: 0, pollIntervalInMs: 400 } });
    const before = sim.served?.().reads ?? 0;
    await gw.runScript(idOf('vm-c'), { scriptId: 'probe', script: 'x' });
    // at least the immediate poll, the one that finds it done and the result
    expect((sim.served?.().reads ?? 0) - before).toBeGreaterThanOrEqual(3);
  });
});

describe('Retry-After on the 202', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ fleet: fleet(), interior, port: 0, runCommandLatencyMs: 2000, lroRetryAfterSeconds: 3 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('is honoured: no poll before it, so the first finds the 2 s Run Command finished', async () => {
    const { report, served } = await polled(sim, 'vm-d', 50);
    expect(report).toMatchObject({ firstPollHit: true, running: 0, reads: 2 });
    expect(report.doneAtMs).toBeGreaterThanOrEqual(3000);
    expect(served).toBe(2);
  });
});

describe('a deep sweep with paced polls (demo fleet)', () => {
  it('reads nothing per VM but its Run Command, and each Run Command costs the reads its polls made', async () => {
    const demo = loadFleetFile(defaultFleetPath());
    const sim = await startSimulator({ fleet: demo, port: 0, interior: createInterior('emulate', createVmInterior()).interior, runCommandLatencyMs: 0 });
    const store = SqliteStore.open(mkdtempSync(join(tmpdir(), 'rdp-sweep-pace-')));
    try {
      const gateway = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [demo.subscriptionId], timings: { conflictRetries: 0 } });
      const meter = createSweepMeter(4);
      const sweeps = createSweeps({
        store,
        gateway,
        logger: createLogger('silent'),
        scope: { subscriptions: [demo.subscriptionId] },
        isApprover: () => true,
        concurrency: 4,
        busyRetries: 0,
        meter,
        runCommandPace: { initialFirstPollInMs: 300 },
      });
      const readsBefore = sim.served?.().reads ?? 0;
      const opsBefore = sim.operations().length;
      const d = await sweeps.whenDone((await sweeps.start({ kind: 'deep', scope: {}, startedBy: 'schedule' })).id);
      const ops = sim.operations().slice(opsBefore);
      const ran = ops.filter((o) => o.kind === 'runCommand');
      expect(d.state).toBe('done');
      expect(ran.length).toBe(d.runCommands);
      expect(ran.length).toBeGreaterThan(5);
      // no per-VM read slipped through the bulk view: every read is a Resource Graph page or a status page
      const reads = ops.filter((o) => o.kind === 'read');
      expect(reads.filter((o) => o.vm !== null)).toEqual([]);
      expect(reads.every((o) => /Microsoft\.ResourceGraph\/resources$|\/providers\/Microsoft\.Compute\/virtualMachines$/i.test(o.path))).toBe(true);
      // the reads the simulator served besides the page GETs are the Run Commands' polls and results,
      // exactly as the gateway counted them for the budget (a finished Run Command is found by the first poll)
      const lroReads = (sim.served?.().reads ?? 0) - readsBefore - reads.filter((o) => o.method === 'GET').length;
      const m = meter.summary();
      expect(m.runCommands).toBe(ran.length);
      expect(m.readsPerRunCommand).toBe(2);
      expect(lroReads).toBe(2 * ran.length);
      expect(m.firstPollHits).toBe(ran.length);
    } finally {
      await store.close();
      await sim.close();
    }
  });
});
