import { request as httpsRequest } from 'node:https';
import { createAzureGateway } from '../../services/azure/factory';
import type { SweepNic, SweepNsg, SweepScopeFilter, SweepVmStatus, VmSummary } from '../../services/azure/gateway';
import type { SdkAzureGateway } from '../../services/azure/sdk-gateway';
import { vmIdOf } from '../../services/simulator/arm-shapes';
import { fleetSubscriptions, vmSubscriptionOf, type Fleet, type FleetVm } from '../../services/simulator/fleet';
import { generateFleet } from '../../services/simulator/fleet-generator';
import type { VmInterior } from '../../services/simulator/interior';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';
import { domainErrorCodeOf } from '../support/domain-error';

/**
 * SweepGateway through the real SDKs (Resource Graph, Compute listAll statusOnly) over HTTPS
 * against a generated multi-subscription fleet: every VM exactly once across pages and
 * subscriptions, the scope filters, values that would break KQL refused before Azure is called,
 * and ARM / Resource Graph throttling waited out. What happened is judged by the simulator's
 * operation log, not by what the gateway says.
 */
const NOW = new Date('2026-12-01T00:00:00Z');
const interior: VmInterior = {
  engine: 'emulate',
  run: () => ({ stdout: '{}', stderr: '', changed: false }),
};

const FAST = { pollIntervalInMs: 20, retryDelayInMs: 10, maxRetryDelayInMs: 50, requestTimeoutInMs: 60_000 };


async function allVms(gw: SdkAzureGateway, filter: SweepScopeFilter): Promise<{ vms: VmSummary[]; pages: number }> {
  const vms: VmSummary[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await gw.listVmsPage(filter, token);
    vms.push(...page.vms);
    token = page.skipToken;
    pages++;
  } while (token);
  return { vms, pages };
}

async function allNics(gw: SdkAzureGateway, filter: SweepScopeFilter): Promise<SweepNic[]> {
  const out: SweepNic[] = [];
  let token: string | undefined;
  do {
    const page = await gw.listNicsPage(filter, token);
    out.push(...page.nics);
    token = page.skipToken;
  } while (token);
  return out;
}

async function allNsgs(gw: SdkAzureGateway, filter: SweepScopeFilter): Promise<SweepNsg[]> {
  const out: SweepNsg[] = [];
  let token: string | undefined;
  do {
    const page = await gw.listNsgsPage(filter, token);
    out.push(...page.nsgs);
    token = page.skipToken;
  } while (token);
  return out;
}

async function allStatuses(gw: SdkAzureGateway, sub: string): Promise<{ statuses: SweepVmStatus[]; pages: number }> {
  const statuses: SweepVmStatus[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const page = await gw.listVmStatusPage(sub, next);
    statuses.push(...page.statuses);
    next = page.nextLink;
    pages++;
  } while (next);
  return { statuses, pages };
}

const idsOf = (fleet: Fleet, vms: FleetVm[]): string[] => vms.map((v) => vmIdOf(fleet, v).toLowerCase()).sort();
const GRAPH = '/providers/Microsoft.ResourceGraph/resources';

describe('SweepGateway against a generated fleet of 2,500 VMs in 3 subscriptions', () => {
  let sim: SimulatorHandle;
  let gw: SdkAzureGateway;
  let fleet: Fleet;
  let subs: string[];

  beforeAll(async () => {
    fleet = generateFleet({ vms: 2500, seed: 7, subscriptions: 3, resourceGroups: 4, now: NOW });
    subs = fleetSubscriptions(fleet);
    sim = await startSimulator({ fleet, interior, port: 0, listPageSize: 400 });
    gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: subs, timings: FAST });
  }, 120_000);
  afterAll(async () => {
    await sim?.close();
  });

  test('VM pages: every VM exactly once across pages and subscriptions, one Resource Graph query per page', async () => {
    const before = sim.operations().length;
    const reads = gw.callCounts().armReads;
    const { vms, pages } = await allVms(gw, {});
    expect(pages).toBe(3); // 1,000 + 1,000 + 500
    const ids = vms.map((v) => v.id.toLowerCase());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(idsOf(fleet, fleet.vms));
    expect(new Set(vms.map((v) => v.subscriptionId))).toEqual(new Set(subs));
    const ops = sim.operations().slice(before);
    expect(ops).toHaveLength(3);
    expect(ops.every((o) => o.method === 'POST' && o.path === GRAPH && o.kind === 'read')).toBe(true);
    expect(gw.callCounts().armReads - reads).toBe(3);
    const one = vms.find((v) => v.name === 'vm-00001') as VmSummary;
    const src = fleet.vms.find((v) => v.name === 'vm-00001') as FleetVm;
    expect(one).toMatchObject({ resourceGroup: src.resourceGroup, subscriptionId: vmSubscriptionOf(fleet, src), location: src.location, osType: 'Windows' });
  });

  test('scope filters: one subscription, one resource group', async () => {
    const sub = subs[1] as string;
    const { vms } = await allVms(gw, { subscriptionIds: [sub] });
    expect([...vms.map((v) => v.id.toLowerCase())].sort()).toEqual(idsOf(fleet, fleet.vms.filter((v) => vmSubscriptionOf(fleet, v) === sub)));
    const rg = fleet.vms[0]?.resourceGroup as string;
    const inRg = await allVms(gw, { resourceGroup: rg.toUpperCase() });
    expect(inRg.vms.length).toBeGreaterThan(0);
    expect([...inRg.vms.map((v) => v.id.toLowerCase())].sort()).toEqual(idsOf(fleet, fleet.vms.filter((v) => v.resourceGroup === rg)));
  });

  test('NIC pages: each VM\'s NIC once, with its VM, subnet, NSG and whether it has a public IP', async () => {
    const nics = await allNics(gw, {});
    expect(nics).toHaveLength(fleet.vms.length);
    expect(new Set(nics.map((n) => n.id)).size).toBe(nics.length);
    const byVm = new Map(nics.map((n) => [n.vmId?.toLowerCase(), n]));
    for (const vm of fleet.vms) {
      const nic = byVm.get(vmIdOf(fleet, vm).toLowerCase()) as SweepNic;
      expect(nic).toBeDefined();
      expect(nic.hasPublicIp).toBe(vm.publicIp !== null);
      expect(nic.nsgId).toMatch(new RegExp(`/networkSecurityGroups/${vm.name}-nsg$`));
      expect(nic.subnetId).toMatch(/\/subnets\/default$/);
    }
    expect(nics.some((n) => !n.hasPublicIp)).toBe(true);
  });

  test('NSG pages: each NSG once with its rules (as SecurityRuleSpec) and associations', async () => {
    const nsgs = await allNsgs(gw, { subscriptionIds: [subs[0] as string] });
    const mine = fleet.vms.filter((v) => vmSubscriptionOf(fleet, v) === subs[0]);
    expect(nsgs).toHaveLength(mine.length);
    const exposed = mine.find((v) => v.tags?.profile === 'rdp-exposed') as FleetVm;
    const nsg = nsgs.find((g) => g.name === `${exposed.name}-nsg`) as SweepNsg;
    expect(nsg).toMatchObject({ subscriptionId: subs[0], resourceGroup: exposed.resourceGroup });
    expect(nsg.rules).toEqual([{ name: 'RDP', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '*', sourcePortRange: '*', destinationAddressPrefix: '*', destinationPortRange: '3389' }]);
    expect(nsg.networkInterfaceIds).toEqual([expect.stringMatching(new RegExp(`/networkInterfaces/${exposed.name}-nic$`))]);
  });

  test('status pages: every VM of the subscription once, through nextLink, with power state and agent status', async () => {
    const sub = subs[2] as string;
    const mine = fleet.vms.filter((v) => vmSubscriptionOf(fleet, v) === sub);
    const before = sim.operations().length;
    const { statuses, pages } = await allStatuses(gw, sub);
    expect(pages).toBe(Math.ceil(mine.length / 400));
    expect(sim.operations().slice(before)).toHaveLength(pages);
    expect(statuses.map((s) => s.vmId.toLowerCase()).sort()).toEqual(idsOf(fleet, mine));
    const byId = new Map(statuses.map((s) => [s.vmId.toLowerCase(), s]));
    for (const vm of mine) {
      const s = byId.get(vmIdOf(fleet, vm).toLowerCase()) as SweepVmStatus;
      expect(s.powerState).toBe(vm.powerState);
      expect(s.agentStatus).toBe(vm.powerState === 'running' ? vm.agentStatus : 'Unknown');
    }
    expect(statuses.some((s) => s.agentStatus === 'NotReady')).toBe(true);
    expect(statuses.some((s) => s.powerState === 'deallocated')).toBe(true);
  });

  test('values that would break KQL or leave the scope are refused before Azure is called', async () => {
    const before = sim.operations().length;
    expect(await domainErrorCodeOf(gw.listVmsPage({ resourceGroup: "rg' | project secrets" }))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.listNicsPage({ resourceGroup: 'rg\ninjected' }))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.listNsgsPage({ subscriptionIds: ["x' or 1==1"] }))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.listVmsPage({ subscriptionIds: ['00000000-0000-0000-0000-00000000dead'] }))).toBe('out-of-scope');
    expect(await domainErrorCodeOf(gw.listVmsPage({}, "abc'def"))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.listVmStatusPage('not-a-subscription'))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.listVmStatusPage('00000000-0000-0000-0000-00000000dead'))).toBe('out-of-scope');
    const sub = subs[0] as string;
    expect(await domainErrorCodeOf(gw.listVmStatusPage(sub, `https://evil.example/subscriptions/${sub}/providers/Microsoft.Compute/virtualMachines?$skiptoken=400`))).toBe('bad-input');
    expect(await domainErrorCodeOf(gw.listVmStatusPage(sub, `${sim.endpoint}/subscriptions/${subs[1]}/providers/Microsoft.Compute/virtualMachines?$skiptoken=400`))).toBe('bad-input');
    expect(sim.operations().slice(before)).toEqual([]);
  });

  test('a gateway scoped to resource groups reads only those, and refuses a filter outside them', async () => {
    const rg = fleet.vms[0]?.resourceGroup as string;
    const narrow = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: subs, resourceGroups: [rg], timings: FAST });
    const { vms } = await allVms(narrow, {});
    expect(vms.length).toBeGreaterThan(0);
    expect(vms.every((v) => v.resourceGroup.toLowerCase() === rg.toLowerCase())).toBe(true);
    const other = fleet.vms.find((v) => v.resourceGroup !== rg)?.resourceGroup as string;
    expect(await domainErrorCodeOf(narrow.listVmsPage({ resourceGroup: other }))).toBe('out-of-scope');
    const statuses = (await allStatuses(narrow, vmSubscriptionOf(fleet, fleet.vms[0] as FleetVm))).statuses;
    expect(statuses.every((s) => s.vmId.toLowerCase().includes(`/resourcegroups/${rg.toLowerCase()}/`))).toBe(true);
  });
});

describe('SweepGateway under ARM and Resource Graph throttling', () => {
  let sim: SimulatorHandle;
  let gw: SdkAzureGateway;
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = generateFleet({ vms: 1200, seed: 3, subscriptions: 2, now: NOW });
    // small budgets, and each test spends them just before the gateway's calls (spend()), so the
    // first call is throttled however slow the machine is: 2 Resource Graph queries per 4 s,
    // 2 reads refilled at one per 4 s
    sim = await startSimulator({ fleet, interior, port: 0, listPageSize: 200, throttling: { graphQuota: 2, graphWindowSeconds: 4, readBucket: 2, readRefillPerSecond: 0.25 } });
    gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: fleetSubscriptions(fleet), timings: FAST });
  }, 120_000);
  afterAll(async () => {
    await sim?.close();
  });

  /** Spends the simulator's budget with raw requests (logged as reads or throttled, not counted by the gateway). */
  async function spend(method: 'GET' | 'POST', path: string, times: number): Promise<void> {
    for (let i = 0; i < times; i++) {
      await new Promise<void>((resolve, reject) => {
        const url = new URL(`${path}?api-version=2024-04-01`, sim.endpoint);
        const req = httpsRequest(url, { method, ca: sim.caPem, headers: { authorization: 'Bearer spend', 'content-type': 'application/json' } }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        req.on('error', reject);
        req.end(method === 'POST' ? JSON.stringify({ subscriptions: fleetSubscriptions(fleet), query: 'Resources | limit 1' }) : undefined);
      });
    }
  }

  test('Resource Graph past its quota: 429 with Retry-After, the gateway waits and every page arrives', async () => {
    await spend('POST', GRAPH, 2);
    const before = sim.operations().length;
    const counts = gw.callCounts();
    const throttledBefore = gw.throttledCount();
    const vms = await allVms(gw, {});
    const nics = await allNics(gw, {});
    expect(vms.vms).toHaveLength(1200);
    expect(nics).toHaveLength(1200);
    const ops = sim.operations().slice(before);
    const throttled = ops.filter((o) => o.kind === 'throttled');
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled.every((o) => o.path === GRAPH)).toBe(true);
    expect(ops.filter((o) => o.kind === 'read')).toHaveLength(4); // 2 VM pages + 2 NIC pages, each served once
    const after = gw.callCounts();
    expect(after.armReads - counts.armReads).toBe(4);
    expect(gw.throttledCount() - throttledBefore).toBe(throttled.length);
  });

  test('ARM reads past the subscription bucket: 429 with Retry-After, the SDK waits and the status pages arrive', async () => {
    const sub = fleetSubscriptions(fleet)[0] as string;
    await spend('GET', `/subscriptions/${sub}/providers/Microsoft.Compute/virtualMachines`, 2);
    const before = sim.operations().length;
    const counts = gw.callCounts();
    const throttledBefore = gw.throttledCount();
    const { statuses, pages } = await allStatuses(gw, sub);
    expect(statuses).toHaveLength(fleet.vms.filter((v) => vmSubscriptionOf(fleet, v) === sub).length);
    const ops = sim.operations().slice(before);
    expect(ops.filter((o) => o.kind === 'read')).toHaveLength(pages);
    const throttled = ops.filter((o) => o.kind === 'throttled');
    expect(throttled.length).toBeGreaterThan(0);
    expect(throttled.every((o) => o.path === `/subscriptions/${sub}/providers/Microsoft.Compute/virtualMachines`)).toBe(true);
    expect(gw.throttledCount() - throttledBefore).toBe(throttled.length);
    expect(gw.callCounts().armReads - counts.armReads).toBe(pages);
  });
});

describe('a 10,000-VM fleet', () => {
  test('loads and serves a Resource Graph page, a status page and a VM', async () => {
    const big = generateFleet({ vms: 10_000, seed: 42, subscriptions: 4, now: NOW });
    const sim = await startSimulator({ fleet: big, interior, port: 0 });
    try {
      const subs = fleetSubscriptions(big);
      const gw = createAzureGateway({ endpoint: sim.endpoint, caPem: sim.caPem, subscriptionIds: subs, timings: FAST });
      const page = await gw.listVmsPage({});
      expect(page.vms).toHaveLength(1000);
      expect(page.skipToken).toBeDefined();
      const second = await gw.listVmsPage({}, page.skipToken);
      expect(second.vms).toHaveLength(1000);
      expect(new Set([...page.vms, ...second.vms].map((v) => v.id)).size).toBe(2000);
      const status = await gw.listVmStatusPage(subs[3] as string);
      expect(status.statuses).toHaveLength(1000);
      expect(status.nextLink).toBeDefined();
      const last = big.vms[big.vms.length - 1] as FleetVm;
      const vm = await gw.getVm(vmIdOf(big, last));
      expect(vm).toMatchObject({ name: last.name, powerState: last.powerState });
    } finally {
      await sim.close();
    }
  }, 180_000);
});
