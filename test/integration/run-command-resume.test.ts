import { createAzureGateway } from '../../services/azure/factory';
import type { SdkAzureGateway } from '../../services/azure/sdk-gateway';
import { DomainError } from '../../services/errors';
import { parseFleet } from '../../services/simulator/fleet';
import type { VmInterior } from '../../services/simulator/interior';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';

/**
 * sweep-resume (issue #16 item 3): a Run Command started by one gateway (one process) and polled
 * to its end by another from the token `onAccepted` gave - the core-lro poller's serialized state,
 * restored with arm-compute's restorePoller - over the real SDKs and HTTPS against the simulator.
 * The simulator's operation log says how many Run Commands were sent: one.
 */
const SUB = '6f1c2d3e-4a5b-4c6d-8e7f-0000000000b7';
const RG = 'rg-resume';
const idOf = (name: string): string => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`;
const vm = (name: string) => ({
  name,
  resourceGroup: RG,
  location: 'westeurope',
  osType: 'Windows',
  powerState: 'running',
  agentStatus: 'Ready',
  nsgRules: [],
  faults: { runCommand: 'none', arm: 'none' },
});
const interior: VmInterior = { engine: 'emulate', run: (v, scriptId) => ({ stdout: `ran ${scriptId} on ${v.name}`, stderr: '', changed: false }) };
const TIMINGS = { pollIntervalInMs: 20, requestTimeoutInMs: 5000, runCommandTimeoutInMs: 10_000, operationTimeoutInMs: 5000 };

let sim: SimulatorHandle;
let starter: SdkAzureGateway;
let survivor: SdkAzureGateway;

beforeAll(async () => {
  // a Run Command takes 400 ms: the starter is stopped while it runs
  sim = await startSimulator({ fleet: parseFleet({ subscriptionId: SUB, vms: [vm('vm-res-01'), vm('vm-res-02')] }), interior, port: 0, runCommandLatencyMs: 400 });
  const make = () => createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], resourceGroups: [RG], timings: TIMINGS });
  starter = make();
  survivor = make();
});
afterAll(async () => {
  await sim.close();
});

const runCommandsOn = (name: string) => sim.operations().filter((o) => o.kind === 'runCommand' && (o.vm ?? o.path).toLowerCase().includes(name)).length;

async function acceptedToken(name: string): Promise<string> {
  const stop = new AbortController();
  let token = '';
  // the starter "dies" as soon as Azure accepted its Run Command: its own polling is aborted
  const dead = starter.runScript(idOf(name), {
    scriptId: 'diagnose',
    script: 'Write-Output 1',
    abortSignal: stop.signal,
    onAccepted: (t) => {
      token = t;
      stop.abort();
    },
  });
  await expect(dead).rejects.toBeDefined();
  expect(token).not.toBe('');
  return token;
}

test('another gateway polls an accepted Run Command to its end from the token: its result, and no second Run Command', async () => {
  const token = await acceptedToken('vm-res-01');
  const out = await survivor.resumeRunScript(idOf('vm-res-01'), token, { scriptId: 'diagnose', script: '' });
  expect(out).toEqual({ stdout: 'ran diagnose on vm-res-01', stderr: '' });
  // after it ended, the operation is still served (the simulator keeps ended operations while it runs)
  const again = await survivor.resumeRunScript(idOf('vm-res-01'), token, { scriptId: 'diagnose', script: '', polling: { firstPollInMs: 1000 } });
  expect(again).toEqual(out);
  expect(runCommandsOn('vm-res-01')).toBe(1);
});

test('a token that names another VM or another host is refused before any request', async () => {
  const token = await acceptedToken('vm-res-02');
  const before = sim.operations().length;
  const refused = async (vmId: string, t: string): Promise<string> => {
    try {
      await survivor.resumeRunScript(vmId, t, { scriptId: 'diagnose', script: '' });
    } catch (e) {
      if (e instanceof DomainError) return e.code;
      throw e;
    }
    return 'resumed';
  };
  expect(await refused(idOf('vm-res-01'), token)).toBe('bad-input');
  const elsewhere = token.split(new URL(sim.endpoint).origin).join('https://attacker.example');
  expect(elsewhere).not.toBe(token);
  expect(await refused(idOf('vm-res-02'), elsewhere)).toBe('bad-input');
  expect(await refused(idOf('vm-res-02'), 'not json')).toBe('bad-input');
  expect(sim.operations().length).toBe(before);
  expect(runCommandsOn('vm-res-02')).toBe(1);
});
