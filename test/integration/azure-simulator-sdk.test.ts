import { ComputeManagementClient } from '@azure/arm-compute';
import { NetworkManagementClient } from '@azure/arm-network';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFleet, type Fleet } from '../../services/simulator/fleet';
import type { VmInterior } from '../../services/simulator/interior';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';
import { startSimulatorProcess, type SimulatorProcess } from '../support/processes';

/**
 * The simulator as an outside Azure SDK user sees it: a plain client given only the endpoint
 * and the CA reads the demo fleet's VMs, instance views and effective NSG rules.
 */
const credential: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: 'any', expiresOnTimestamp: Date.now() + 600_000 }) };
const noInterior: VmInterior = { engine: 'emulate', run: () => ({ stdout: '', stderr: '', changed: false }) };

function demoFleet(): Fleet {
  const raw = JSON.parse(readFileSync(join(__dirname, '..', '..', 'services', 'simulator', 'fleets', 'demo-fleet.json'), 'utf8')) as Record<string, unknown>;
  // another subscription id than the shipped one: nothing may depend on the demo's
  return parseFleet({ ...raw, subscriptionId: '3c9e1f2a-7b4d-4e8f-9a01-000000000001' });
}

describe('a plain Azure SDK client against the simulator', () => {
  let sim: SimulatorHandle;
  let fleet: Fleet;
  let compute: ComputeManagementClient;
  let network: NetworkManagementClient;

  beforeAll(async () => {
    fleet = demoFleet();
    sim = await startSimulator({ fleet, interior: noInterior, port: 0 });
    const options = { endpoint: sim.endpoint, tlsOptions: { ca: readFileSync(sim.caFile, 'utf8') } };
    compute = new ComputeManagementClient(credential, fleet.subscriptionId, options);
    network = new NetworkManagementClient(credential, fleet.subscriptionId, options);
  });
  afterAll(async () => {
    await sim.close();
  });

  test('lists every VM of the fleet file with its OS type and location', async () => {
    const listed = [];
    for await (const vm of compute.virtualMachines.listAll()) listed.push(vm);
    expect(listed.map((v) => v.name)).toEqual(fleet.vms.map((v) => v.name));
    for (const vm of listed) {
      const src = fleet.vms.find((v) => v.name === vm.name);
      expect(vm.location).toBe(src?.location);
      expect(vm.storageProfile?.osDisk?.osType).toBe(src?.osType);
      expect(vm.id).toBe(`/subscriptions/${fleet.subscriptionId}/resourceGroups/${src?.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vm.name}`);
    }
  });

  test('instance views carry the fleet power state and agent status', async () => {
    for (const src of fleet.vms) {
      const view = await compute.virtualMachines.instanceView(src.resourceGroup, src.name);
      expect(view.statuses?.map((s) => s.code)).toContain(`PowerState/${src.powerState}`);
      const agent = view.vmAgent?.statuses?.[0]?.displayStatus;
      if (src.powerState === 'running') expect(agent).toBe(src.agentStatus === 'Ready' ? 'Ready' : 'Not Ready');
      else expect(agent).toBeUndefined();
      const expanded = await compute.virtualMachines.get(src.resourceGroup, src.name, { expand: 'instanceView' });
      expect(expanded.instanceView?.statuses?.map((s) => s.code)).toContain(`PowerState/${src.powerState}`);
    }
  });

  test('effective NSG rules of each NIC are the fleet rules and Azure\'s defaults, in no priority order', async () => {
    const byName = <T extends { name?: string }>(xs: T[]): T[] => [...xs].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
    for (const src of fleet.vms) {
      const vm = await compute.virtualMachines.get(src.resourceGroup, src.name);
      const nicId = vm.networkProfile?.networkInterfaces?.[0]?.id ?? '';
      const nicName = nicId.split('/').pop() ?? '';
      const nic = await network.networkInterfaces.get(src.resourceGroup, nicName);
      expect(nic.virtualMachine?.id).toBe(vm.id);
      const result = await network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(src.resourceGroup, nicName, { updateIntervalInMs: 10 });
      const rules = result.value?.[0]?.effectiveSecurityRules ?? [];
      // Azure promises no order: the simulator serves a seeded shuffle, never sorted by priority
      const priorities = rules.map((r) => r.priority ?? 0);
      expect(priorities).not.toEqual([...priorities].sort((a, b) => a - b));
      const own = byName(rules.filter((r) => r.name?.startsWith('securityRules/')));
      const fleetRules = byName(src.nsgRules);
      expect(own.map((r) => r.name)).toEqual(fleetRules.map((r) => `securityRules/${r.name}`));
      fleetRules.forEach((r, i) => {
        expect(own[i]).toMatchObject({ priority: r.priority, access: r.access, direction: r.direction });
        if (r.destinationPortRange && r.destinationPortRange !== '*' && !r.destinationPortRange.includes('-')) {
          expect(own[i].destinationPortRange).toBe(`${r.destinationPortRange}-${r.destinationPortRange}`);
        }
      });
      expect(rules.filter((r) => r.name?.startsWith('defaultSecurityRules/')).map((r) => r.name).sort()).toEqual([
        'defaultSecurityRules/AllowAzureLoadBalancerInBound',
        'defaultSecurityRules/AllowInternetOutBound',
        'defaultSecurityRules/AllowVnetInBound',
        'defaultSecurityRules/AllowVnetOutBound',
        'defaultSecurityRules/DenyAllInBound',
        'defaultSecurityRules/DenyAllOutBound',
      ]);
      const nsg = await network.networkSecurityGroups.get(src.resourceGroup, result.value?.[0]?.networkSecurityGroup?.id?.split('/').pop() ?? '');
      expect(nsg.securityRules?.map((r) => r.name)).toEqual(src.nsgRules.map((r) => r.name));
      expect(nsg.defaultSecurityRules).toHaveLength(6);
    }
  });

  test('the reads are in the operation log, kind read, with the VM named', async () => {
    const ops = sim.operations();
    expect(ops.length).toBeGreaterThan(0);
    expect(ops.every((o) => o.kind === 'read' && o.scriptId === null)).toBe(true);
    expect(ops.filter((o) => o.path.endsWith('/instanceView')).map((o) => o.vm)).toEqual(fleet.vms.map((v) => v.name));
  });
});

describe('the same client against `npm run simulator` (its own process, the shipped demo fleet)', () => {
  let proc: SimulatorProcess;
  afterAll(async () => {
    await proc?.stop();
  });

  test('reads the fleet file\'s VMs, instance views and effective NSG rules', async () => {
    proc = await startSimulatorProcess(); // dist/services/simulator/cli.js, as `npm run simulator` runs it
    const shipped = parseFleet(JSON.parse(readFileSync(join(__dirname, '..', '..', 'services', 'simulator', 'fleets', 'demo-fleet.json'), 'utf8')));
    const options = { endpoint: proc.endpoint, tlsOptions: { ca: readFileSync(proc.caFile, 'utf8') } };
    const compute = new ComputeManagementClient(credential, shipped.subscriptionId, options);
    const network = new NetworkManagementClient(credential, shipped.subscriptionId, options);
    const names = [];
    for await (const vm of compute.virtualMachines.listAll()) names.push(vm.name);
    expect(names).toEqual(shipped.vms.map((v) => v.name));
    const stopped = shipped.vms.find((v) => v.powerState !== 'running')!;
    expect((await compute.virtualMachines.instanceView(stopped.resourceGroup, stopped.name)).statuses?.map((s) => s.code)).toContain(`PowerState/${stopped.powerState}`);
    const exposed = shipped.vms.find((v) => v.name === 'vm-exposed-02')!;
    const result = await network.networkInterfaces.beginListEffectiveNetworkSecurityGroupsAndWait(exposed.resourceGroup, `${exposed.name}-nic`, { updateIntervalInMs: 10 });
    expect(result.value?.[0]?.effectiveSecurityRules?.find((r) => r.name === 'securityRules/RDP')).toMatchObject({ sourceAddressPrefix: '0.0.0.0/0', access: 'Allow' }); // effective rules show * as 0.0.0.0/0, as Azure does
  });
});
