import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { createAzureGateway, isLoopbackEndpoint } from '../../services/azure/factory';
import type { SdkAzureGateway } from '../../services/azure/sdk-gateway';
import { StaticDevelopmentCredential } from '../../services/azure/static-credential';
import { DomainError } from '../../services/errors';
import { parseFleet, type Fleet, type FleetVm } from '../../services/simulator/fleet';
import type { InteriorResult, VmInterior } from '../../services/simulator/interior';
import type { OperationLogEntry } from '../../services/simulator/operation-log';
import { ROUTES } from '../../services/simulator/routes';
import { REPAIR_LINKED_ACTIONS, REPAIR_ROUTES } from '../../services/simulator/routes-repair';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';
import { domainErrorCodeOf } from '../support/domain-error';

/**
 * Contract tests: every AzureGateway operation runs through the real Azure SDKs over HTTPS
 * against the simulator, and the caller sees either the fleet's values or a DomainError code.
 */
const SUB = '6f1c2d3e-4a5b-4c6d-8e7f-0000000000a1';
const RG = 'rg-test';

function vm(name: string, extra: Partial<Record<keyof FleetVm, unknown>> = {}): Record<string, unknown> {
  return {
    name,
    resourceGroup: RG,
    location: 'westeurope',
    osType: 'Windows',
    powerState: 'running',
    agentStatus: 'Ready',
    nsgRules: [{ name: 'allow-rdp', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', destinationPortRange: '3389' }],
    ...extra,
  };
}

function testFleet(): Fleet {
  return parseFleet({
    subscriptionId: SUB,
    vms: [
      vm('vm-web-01'),
      vm('vm-web-02', { nsgRules: [{ name: 'office', priority: 310, direction: 'Inbound', access: 'Allow', protocol: '*', sourceAddressPrefixes: ['198.51.100.0/24', '203.0.113.0/24'], destinationPortRange: '3000-4000' }] }),
      vm('vm-busy-03', { faults: { runCommand: 'conflict' } }),
      vm('vm-agenterr-04', { faults: { runCommand: 'agent-error' } }),
      vm('vm-hang-05', { faults: { runCommand: 'timeout' } }),
      vm('vm-throttle-06', { faults: { runCommand: 'none', arm: 'throttle' } }),
      vm('vm-flaky-07', { faults: { runCommand: 'none', arm: 'server-error' } }),
      vm('vm-stopped-08', { powerState: 'deallocated', agentStatus: 'NotReady' }),
      vm('vm-noagent-09', { agentStatus: 'NotReady' }),
      vm('vm-linux-10', { osType: 'Linux' }),
      vm('vm-hang-11', { faults: { runCommand: 'timeout' } }),
      vm('vm-web-other', { resourceGroup: 'rg-other' }),
    ],
  });
}

/** A stand-in for the real VM interior: echoes what reached it and records restarts. */
function fakeInterior(): VmInterior & { runs: Array<{ vm: string; scriptId: string; params: Record<string, string> }>; restarts: string[] } {
  const runs: Array<{ vm: string; scriptId: string; params: Record<string, string> }> = [];
  const restarts: string[] = [];
  return {
    engine: 'emulate',
    runs,
    restarts,
    run(v, scriptId, parameters): InteriorResult {
      const params = Object.fromEntries(parameters.map((p) => [p.name, p.value]));
      runs.push({ vm: v.name, scriptId, params });
      if (scriptId === 'big-output') return { stdout: `${'a'.repeat(6000)}THE-END`, stderr: '', changed: false };
      if (scriptId === 'fails') throw new Error('Access is denied.');
      return { stdout: JSON.stringify({ vm: v.name, scriptId, params }), stderr: scriptId === 'warns' ? 'a warning' : '', changed: false };
    },
    onRestart(v) {
      restarts.push(v.name);
    },
  };
}

const idOf = (name: string, rg = RG): string => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.Compute/virtualMachines/${name}`;


const FAST = {
  pollIntervalInMs: 20,
  conflictRetries: 2,
  conflictRetryDelayInMs: 20,
  retryDelayInMs: 10,
  maxRetryDelayInMs: 20,
  agentPollIntervalInMs: 20,
  requestTimeoutInMs: 5000,
  runCommandTimeoutInMs: 5000,
  operationTimeoutInMs: 5000,
};

describe('SdkAzureGateway against the simulated fleet (real SDKs over HTTPS)', () => {
  let sim: SimulatorHandle;
  let interior: ReturnType<typeof fakeInterior>;
  let gw: SdkAzureGateway;

  beforeAll(async () => {
    interior = fakeInterior();
    sim = await startSimulator({ fleet: testFleet(), interior, port: 0, throttleRetryAfterSeconds: 0 });
    gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], resourceGroups: [RG], timings: FAST });
  });
  afterAll(async () => {
    await sim.close();
  });

  const opsSince = (n: number): OperationLogEntry[] => sim.operations().slice(n);
  const live = (name: string): FleetVm => sim.fleet.vms.find((v) => v.name === name) as FleetVm;

  test('findVms: partial name via Resource Graph, only inside the configured scope', async () => {
    const before = sim.operations().length;
    const found = await gw.findVms('web');
    expect(found.map((v) => v.name)).toEqual(['vm-web-01', 'vm-web-02']);
    expect(found[0]).toMatchObject({ id: idOf('vm-web-01'), resourceGroup: RG, subscriptionId: SUB, location: 'westeurope', osType: 'Windows', powerState: 'running' });
    expect(opsSince(before)).toEqual([expect.objectContaining({ method: 'POST', path: '/providers/Microsoft.ResourceGraph/resources', kind: 'read', vm: null, scriptId: null })]);
    expect(await gw.findVms('no-such-vm')).toEqual([]);
  });

  test('findVms: a resource id returns that VM; outside the scope it is refused without calling Azure', async () => {
    expect((await gw.findVms(idOf('vm-web-02'))).map((v) => v.name)).toEqual(['vm-web-02']);
    expect(await gw.findVms(idOf('vm-gone'))).toEqual([]);
    const before = sim.operations().length;
    expect(await domainErrorCodeOf(gw.findVms(idOf('vm-web-other', 'rg-other')))).toBe('out-of-scope');
    expect(await domainErrorCodeOf(gw.findVms("web' | project secrets"))).toBe('bad-input');
    expect(opsSince(before)).toEqual([]);
  });

  test('getVm: OS, power, agent, disk and NIC come from the fleet', async () => {
    const d = await gw.getVm(idOf('vm-web-01'));
    expect(d).toMatchObject({
      id: idOf('vm-web-01'),
      name: 'vm-web-01',
      osType: 'Windows',
      powerState: 'running',
      agentStatus: 'Ready',
      provisioningState: 'Succeeded',
      osDiskName: 'vm-web-01_OsDisk_1',
      bootDiagnosticsEnabled: true,
    });
    expect(d.primaryNicId).toMatch(/\/networkInterfaces\/vm-web-01-nic$/);
    expect(await gw.getVm(idOf('vm-noagent-09'))).toMatchObject({ powerState: 'running', agentStatus: 'NotReady' });
    expect(await gw.getVm(idOf('vm-stopped-08'))).toMatchObject({ powerState: 'deallocated', agentStatus: 'Unknown' });
    expect(await gw.getVm(idOf('vm-linux-10'))).toMatchObject({ osType: 'Linux' });
    expect(await domainErrorCodeOf(gw.getVm(idOf('vm-missing')))).toBe('not-found');
    expect(await domainErrorCodeOf(gw.getVm(idOf('vm-web-other', 'rg-other')))).toBe('out-of-scope');
    expect(await domainErrorCodeOf(gw.getVm('vm-web-01'))).toBe('bad-input');
  });

  test('getEffectiveNsgRules: fleet rules plus the six Azure defaults, in effective-rule shape', async () => {
    const nsgs = await gw.getEffectiveNsgRules(await gw.getVm(idOf('vm-web-01')));
    expect(nsgs).toHaveLength(1);
    expect(nsgs[0].associatedWith).toBe('networkInterface');
    expect(nsgs[0].networkSecurityGroupId).toMatch(/\/networkSecurityGroups\/vm-web-01-nsg$/);
    // Azure lists effective rules in no promised order (the simulator shuffles them): found by name
    const rules = nsgs[0].rules;
    expect(rules).toHaveLength(7);
    expect(rules.find((r) => r.name === 'securityRules/allow-rdp')).toEqual(expect.objectContaining({ protocol: 'Tcp', sourceAddressPrefix: '0.0.0.0/0', destinationPortRange: '3389-3389', access: 'Allow', priority: 300, direction: 'Inbound' }));
    expect(rules.filter((r) => r.name.startsWith('defaultSecurityRules/')).map((r) => [r.name, r.priority, r.access, r.direction]).sort()).toEqual([
      ['defaultSecurityRules/AllowAzureLoadBalancerInBound', 65001, 'Allow', 'Inbound'],
      ['defaultSecurityRules/AllowInternetOutBound', 65001, 'Allow', 'Outbound'],
      ['defaultSecurityRules/AllowVnetInBound', 65000, 'Allow', 'Inbound'],
      ['defaultSecurityRules/AllowVnetOutBound', 65000, 'Allow', 'Outbound'],
      ['defaultSecurityRules/DenyAllInBound', 65500, 'Deny', 'Inbound'],
      ['defaultSecurityRules/DenyAllOutBound', 65500, 'Deny', 'Outbound'],
    ]);
    expect(rules.find((r) => r.name === 'defaultSecurityRules/DenyAllInBound')).toMatchObject({ protocol: 'All', destinationPortRange: '0-65535' });
    const other = (await gw.getEffectiveNsgRules(await gw.getVm(idOf('vm-web-02'))))[0].rules.find((r) => r.name === 'securityRules/office');
    expect(other).toMatchObject({ protocol: 'All', sourceAddressPrefixes: ['198.51.100.0/24', '203.0.113.0/24'], destinationPortRange: '3000-4000' });
  });

  test('runScript: the interior gets the script id and parameters; output comes back', async () => {
    const before = sim.operations().length;
    const r = await gw.runScript(idOf('vm-web-01'), { scriptId: 'diagnose', script: 'Write-Output 1', parameters: [{ name: 'Port', value: '3389' }] });
    expect(JSON.parse(r.stdout)).toEqual({ vm: 'vm-web-01', scriptId: 'diagnose', params: { Port: '3389' } });
    expect(r.stderr).toBe('');
    expect(opsSince(before)).toEqual([
      expect.objectContaining({ method: 'POST', path: `${idOf('vm-web-01')}/runCommand`, vm: 'vm-web-01', kind: 'runCommand', scriptId: 'diagnose' }),
    ]);
    expect((await gw.runScript(idOf('vm-web-01'), { scriptId: 'warns', script: '# rdp-doctor-script: warns\nWrite-Warning x' })).stderr).toBe('a warning');
    expect((await gw.runScript(idOf('vm-web-01'), { scriptId: 'fails', script: 'throw' })).stderr).toBe('Access is denied.');
  });

  test('runScript: output is the last 4,096 bytes, as Azure keeps', async () => {
    const r = await gw.runScript(idOf('vm-web-01'), { scriptId: 'big-output', script: 'x' });
    expect(Buffer.byteLength(r.stdout)).toBe(4096);
    expect(r.stdout.endsWith('THE-END')).toBe(true);
  });

  test('runScript: parameters that cmd.exe would mangle are refused before Azure is called', async () => {
    const before = sim.operations().length;
    const runs = interior.runs.length;
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-web-01'), { scriptId: 'diagnose', script: 'x', parameters: [{ name: 'Path', value: 'a & calc' }] }))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-web-01'), { scriptId: 'Bad Id', script: 'x' }))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-web-other', 'rg-other'), { scriptId: 'diagnose', script: 'x' }))).toBe('out-of-scope');
    expect(opsSince(before)).toEqual([]);
    expect(interior.runs.length).toBe(runs);
  });

  test('runScript: 409 "in progress" is retried a bounded number of times, then conflict; nothing ran', async () => {
    const counts = gw.callCounts();
    const runs = interior.runs.length;
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-busy-03'), { scriptId: 'diagnose', script: 'x' }))).toBe('conflict');
    expect(gw.callCounts().runCommand - counts.runCommand).toBe(3); // first try + conflictRetries (2)
    expect(interior.runs.length).toBe(runs);
  });

  test('runScript: a conflict that clears while waiting ends in success', async () => {
    const busy = live('vm-busy-03');
    const gwPatient = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], resourceGroups: [RG], timings: { ...FAST, conflictRetryDelayInMs: 150, conflictRetries: 5 } });
    setTimeout(() => {
      busy.faults.runCommand = 'none';
    }, 200);
    try {
      const r = await gwPatient.runScript(idOf('vm-busy-03'), { scriptId: 'diagnose', script: 'x' });
      expect(JSON.parse(r.stdout)).toMatchObject({ vm: 'vm-busy-03' });
    } finally {
      busy.faults.runCommand = 'conflict';
    }
  });

  test('runScript: VMAgentStatusCommunicationError and a Not Ready agent are agent-not-ready', async () => {
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-agenterr-04'), { scriptId: 'diagnose', script: 'x' }))).toBe('agent-not-ready');
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-noagent-09'), { scriptId: 'diagnose', script: 'x' }))).toBe('agent-not-ready');
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-stopped-08'), { scriptId: 'diagnose', script: 'x' }))).toBe('agent-not-ready');
  });

  test('runScript: a Run Command that never finishes ends with timeout at the caller\'s bound; a second one conflicts', async () => {
    const t0 = Date.now();
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-hang-05'), { scriptId: 'diagnose', script: 'x', timeoutInMs: 300 }))).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(2500);
    // Run Command cannot be cancelled: the VM stays busy
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-hang-05'), { scriptId: 'diagnose', script: 'x', timeoutInMs: 2000 }))).toBe('conflict');
    // the caller's abort signal ends the wait too
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t1 = Date.now();
    expect(await domainErrorCodeOf(gw.runScript(idOf('vm-hang-11'), { scriptId: 'diagnose', script: 'x', abortSignal: ac.signal, timeoutInMs: 60_000 }))).toBe('timeout');
    expect(Date.now() - t1).toBeLessThan(2500);
  });

  test('ARM throttling (429) is retried and succeeds; a persistent one ends as throttled', async () => {
    const d = await gw.getVm(idOf('vm-throttle-06'));
    expect(d.name).toBe('vm-throttle-06');
    const r = await gw.runScript(idOf('vm-throttle-06'), { scriptId: 'diagnose', script: 'x' });
    expect(JSON.parse(r.stdout)).toMatchObject({ vm: 'vm-throttle-06' });
    expect(sim.operations().filter((o) => o.vm === 'vm-throttle-06' && o.kind === 'runCommand')).toHaveLength(1);
    live('vm-throttle-06').faults.armFailures = 50;
    try {
      expect(await domainErrorCodeOf(gw.getVm(idOf('vm-throttle-06')))).toBe('throttled');
      expect(await domainErrorCodeOf(gw.findVms('throttle'))).toBe('throttled');
    } finally {
      delete live('vm-throttle-06').faults.armFailures;
    }
  });

  test('ARM 500 is retried and succeeds; a persistent one ends as server-error', async () => {
    expect((await gw.getVm(idOf('vm-flaky-07'))).name).toBe('vm-flaky-07');
    expect((await gw.findVms('flaky')).map((v) => v.name)).toEqual(['vm-flaky-07']);
    live('vm-flaky-07').faults.armFailures = 50;
    try {
      expect(await domainErrorCodeOf(gw.getVm(idOf('vm-flaky-07')))).toBe('server-error');
    } finally {
      delete live('vm-flaky-07').faults.armFailures;
    }
  });

  test('startVm: a deallocated VM runs with its agent Ready afterwards', async () => {
    const before = sim.operations().length;
    await gw.startVm(idOf('vm-stopped-08'));
    expect(await gw.getVm(idOf('vm-stopped-08'))).toMatchObject({ powerState: 'running', agentStatus: 'Ready' });
    expect(opsSince(before).filter((o) => o.kind !== 'read')).toEqual([expect.objectContaining({ method: 'POST', kind: 'start', vm: 'vm-stopped-08' })]);
    expect(interior.restarts).not.toContain('vm-stopped-08');
  });

  test('restartVm: the interior restarts and the call waits for the agent', async () => {
    await gw.restartVm(idOf('vm-noagent-09'));
    expect(interior.restarts).toContain('vm-noagent-09');
    expect(live('vm-noagent-09')).toMatchObject({ powerState: 'running', agentStatus: 'Ready' });
    expect(sim.operations().filter((o) => o.vm === 'vm-noagent-09' && o.kind === 'restart')).toHaveLength(1);
  });

  test('snapshotOsDisk: a Copy snapshot of the OS disk, its id returned', async () => {
    const before = sim.operations().length;
    const { snapshotId } = await gw.snapshotOsDisk(idOf('vm-web-01'), 'rdp-doctor-vm-web-01-1');
    expect(snapshotId).toBe(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/snapshots/rdp-doctor-vm-web-01-1`);
    expect(opsSince(before).map((o) => o.kind)).toEqual(['read', 'read', 'snapshot', 'read']);
    expect(opsSince(before)[2]).toMatchObject({ method: 'PUT', vm: 'vm-web-01' });
    expect(await domainErrorCodeOf(gw.snapshotOsDisk(idOf('vm-web-01'), 'bad name!'))).toBe('bad-input');
  });

  test('upsertNsgRule: the change shows in the effective rules', async () => {
    const vmd = await gw.getVm(idOf('vm-web-01'));
    const [nsg] = await gw.getEffectiveNsgRules(vmd);
    const before = sim.operations().length;
    await gw.upsertNsgRule(nsg.networkSecurityGroupId as string, { name: 'allow-rdp', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '198.51.100.7/32', destinationPortRange: '3389' });
    expect(opsSince(before).filter((o) => o.kind === 'nsgRuleWrite')).toEqual([expect.objectContaining({ method: 'PUT', vm: 'vm-web-01' })]);
    const [after] = await gw.getEffectiveNsgRules(vmd);
    expect(after.rules.find((r) => r.name === 'securityRules/allow-rdp')).toMatchObject({ sourceAddressPrefix: '198.51.100.7/32', destinationPortRange: '3389-3389' });
    expect(await domainErrorCodeOf(gw.upsertNsgRule(nsg.networkSecurityGroupId as string, { name: 'x', priority: 5000, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', destinationPortRange: '3389' }))).toBe('bad-input');
    const foreignNsg = `/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Network/networkSecurityGroups/vm-web-other-nsg`;
    expect(await domainErrorCodeOf(gw.upsertNsgRule(foreignNsg, { name: 'x', priority: 400, direction: 'Inbound', access: 'Deny', protocol: 'Tcp', sourceAddressPrefix: '*', destinationPortRange: '3389' }))).toBe('out-of-scope');
  });

  test('callCounts follow the operations the simulator carried out', async () => {
    const fresh = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], resourceGroups: [RG], timings: FAST });
    const before = sim.operations().length;
    const [found] = await fresh.findVms('vm-web-02');
    const d = await fresh.getVm(found.id);
    await fresh.getEffectiveNsgRules(d);
    await fresh.runScript(d.id, { scriptId: 'diagnose', script: 'x' });
    const ops = opsSince(before);
    const counts = fresh.callCounts();
    expect(counts).toEqual({ runCommand: 1, armReads: 3, armWrites: 0 });
    expect(ops.filter((o) => o.kind === 'runCommand')).toHaveLength(counts.runCommand);
    expect(ops.filter((o) => o.kind === 'read')).toHaveLength(counts.armReads);
  });

  test('GET /_simulator/operations needs no token and lists the same log', async () => {
    const res = await fetchJson(sim, '/_simulator/operations');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(sim.operations());
    expect(Array.isArray(res.body) && res.body.length > 0).toBe(true);
  });

  test('ARM calls without a bearer token are refused with 401', async () => {
    const res = await fetchJson(sim, `${idOf('vm-web-01')}?api-version=2024-11-01`);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'AuthenticationFailed' } });
  });
});

describe('RBAC: the shipped least-privilege role is enough, and a missing permission is named', () => {
  const role = JSON.parse(readFileSync(join(__dirname, '..', '..', 'infra', 'rdp-doctor-role.json'), 'utf8')) as { Actions: string[]; AssignableScopes: string[] };

  test('every gateway operation succeeds with only the role\'s actions, and the role names only real request actions', async () => {
    const sim = await startSimulator({ fleet: testFleet(), interior: fakeInterior(), allowedActions: role.Actions });
    // issue #15: the offline repair's routes and Azure's linked access checks (routes-repair.ts) are requests' actions too
    const known = new Set([...ROUTES, ...REPAIR_ROUTES].map((r) => r.action).concat(REPAIR_LINKED_ACTIONS));
    const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], resourceGroups: [RG], timings: FAST });
    try {
      const [v] = await gw.findVms('vm-web-01');
      const d = await gw.getVm(v.id);
      const [nsg] = await gw.getEffectiveNsgRules(d);
      await gw.runScript(d.id, { scriptId: 'diagnose', script: 'x' });
      await gw.startVm(idOf('vm-stopped-08'));
      await gw.restartVm(d.id);
      await gw.snapshotOsDisk(d.id, 'snap-1');
      await gw.upsertNsgRule(nsg.networkSecurityGroupId as string, { name: 'allow-rdp', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '10.0.0.0/8', destinationPortRange: '3389' });
      expect(sim.operations().map((o) => o.kind)).toEqual(expect.arrayContaining(['read', 'runCommand', 'start', 'restart', 'snapshot', 'nsgRuleWrite']));
    } finally {
      await sim.close();
    }
    for (const a of role.Actions) expect(known).toContain(a);
    expect(new Set(role.Actions).size).toBe(role.Actions.length);
    expect(role.AssignableScopes.length).toBeGreaterThan(0);
  });

  test('a role without runCommand/action gets forbidden, naming the permission', async () => {
    const sim = await startSimulator({ fleet: testFleet(), interior: fakeInterior(), allowedActions: role.Actions.filter((a) => !a.endsWith('runCommand/action')) });
    const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], resourceGroups: [RG], timings: FAST });
    try {
      const err = await gw.runScript(idOf('vm-web-01'), { scriptId: 'diagnose', script: 'x' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe('forbidden');
      expect((err as DomainError).params.permission).toBe('Microsoft.Compute/virtualMachines/runCommand/action');
      expect(sim.operations()).toEqual([]);
    } finally {
      await sim.close();
    }
  });
});

describe('Retry-After', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ fleet: testFleet(), interior: fakeInterior(), throttleRetryAfterSeconds: 1 });
  });
  afterAll(async () => {
    await sim.close();
  });

  test('is honoured: the retry waits for it', async () => {
    const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], timings: FAST });
    const t0 = Date.now();
    expect((await gw.getVm(idOf('vm-throttle-06'))).name).toBe('vm-throttle-06');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
  });

  test('longer than the configured maximum: throttled at once, with the wait in the params', async () => {
    const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: [SUB], timings: { ...FAST, maxRetryAfterInMs: 200 } });
    const t0 = Date.now();
    const err = await gw.getVm(idOf('vm-throttle-06')).then(() => null, (e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(900);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('throttled');
    expect((err as DomainError).params.retryAfterSeconds).toBe(1);
  });
});

describe('factory', () => {
  test('a loopback endpoint gets the static development credential, not DefaultAzureCredential', async () => {
    const credential = new StaticDevelopmentCredential();
    const token = await credential.getToken();
    expect(token.token.length).toBeGreaterThan(0);
    expect(isLoopbackEndpoint('https://127.0.0.1:8443')).toBe(true);
    expect(isLoopbackEndpoint('https://localhost:1')).toBe(true);
    expect(isLoopbackEndpoint('https://management.azure.com')).toBe(false);
    expect(isLoopbackEndpoint(undefined)).toBe(false);
  });
});

async function fetchJson(sim: SimulatorHandle, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${sim.endpoint}${path}`, { ca: sim.caPem, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('with latency, as in a demo', () => {
  /** Resolves once the simulator has logged an operation that `match` accepts (no fixed sleep: under load a start takes what it takes). */
  async function untilLogged(on: SimulatorHandle, match: (o: OperationLogEntry) => boolean): Promise<void> {
    while (!on.operations().some(match)) await new Promise((r) => setTimeout(r, 5));
  }

  test('two Run Commands on one VM: the second waits out the 409 and then runs', async () => {
    // the first holds the VM for 2 s: the second is sent once the simulator has accepted the first,
    // so it meets the 409 however slowly the machine runs
    const busy = await startSimulator({ fleet: testFleet(), interior: fakeInterior(), runCommandLatencyMs: 2000 });
    try {
      const g = createAzureGateway({ endpoint: busy.endpoint, caPem: busy.caPem, subscriptionIds: [SUB], timings: { ...FAST, conflictRetryDelayInMs: 150, conflictRetries: 40, runCommandTimeoutInMs: 30_000 } });
      const first = g.runScript(idOf('vm-web-01'), { scriptId: 'first', script: 'x' });
      await untilLogged(busy, (o) => o.kind === 'runCommand' && o.scriptId === 'first');
      const calls = g.callCounts().runCommand;
      const [a, b] = await Promise.all([first, g.runScript(idOf('vm-web-01'), { scriptId: 'second', script: 'x' })]);
      expect(JSON.parse(a.stdout)).toMatchObject({ scriptId: 'first' });
      expect(JSON.parse(b.stdout)).toMatchObject({ scriptId: 'second' });
      expect(g.callCounts().runCommand - calls).toBeGreaterThanOrEqual(2); // the 409, then the run
      expect(busy.operations().filter((o) => o.kind === 'runCommand').map((o) => o.scriptId)).toEqual(['first', 'second']);
    } finally {
      await busy.close();
    }
  });

  test('restartVm returns only once the agent reports Ready again', async () => {
    // the agent stays Not Ready 2 s after the restart: the first read is sent once the restart is
    // logged, and one read takes far less than that even on a loaded machine
    const slow = await startSimulator({ fleet: testFleet(), interior: fakeInterior(), armLatencyMs: 30, agentReadyDelayMs: 2000 });
    try {
      const g = createAzureGateway({ endpoint: slow.endpoint, caPem: slow.caPem, subscriptionIds: [SUB], timings: { ...FAST, operationTimeoutInMs: 30_000 } });
      const seen: string[] = [];
      const p = g.restartVm(idOf('vm-web-02'));
      await untilLogged(slow, (o) => o.kind === 'restart' && o.vm === 'vm-web-02');
      seen.push((await g.getVm(idOf('vm-web-02'))).agentStatus);
      await p;
      seen.push((await g.getVm(idOf('vm-web-02'))).agentStatus);
      expect(seen).toEqual(['NotReady', 'Ready']);
    } finally {
      await slow.close();
    }
  });

  test('an agent that stays Not Ready after a restart is agent-not-ready at the bound', async () => {
    const slow = await startSimulator({ fleet: testFleet(), interior: fakeInterior(), agentReadyDelayMs: 60_000 });
    try {
      const g = createAzureGateway({ endpoint: slow.endpoint, caPem: slow.caPem, subscriptionIds: [SUB], timings: FAST });
      expect(await domainErrorCodeOf(g.restartVm(idOf('vm-web-01'), { timeoutInMs: 400 }))).toBe('agent-not-ready');
    } finally {
      await slow.close();
    }
  });
});
