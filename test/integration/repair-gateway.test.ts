import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAzureGateway } from '../../services/azure/factory';
import type { RepairTags, VmModel } from '../../services/azure/gateway';
import type { SdkAzureGateway } from '../../services/azure/sdk-gateway';
import { offlineRepairScripts } from '../../services/runbook/offline';
import { planRepair, REPAIR_DRIVE, REPAIR_LUN, type RepairPlan } from '../../services/runbook/repair-plan';
import { fleetVmSchema, parseFleet, type Fleet, type FleetVm } from '../../services/simulator/fleet';
import { REPAIR_FAULT_OPS, type RepairFaultOp } from '../../services/simulator/fleet-repair';
import type { OperationLogEntry } from '../../services/simulator/operation-log';
import { createInterior } from '../../services/simulator/pwsh-interior';
import { startSimulator, type SimulatorHandle } from '../../services/simulator/server';
import { createVmInterior } from '../../services/simulator/vm-interior';
import { pwshForTests } from '../support/pwsh';
import { domainErrorOf } from '../support/domain-error';

/**
 * Issue #15, the Azure side: every RepairGateway call through the real SDKs over HTTPS against the
 * simulator, Azure's refusals, each injected fault, and the whole manual sequence (snapshot -> disk
 * -> rescue VM -> attach -> offline scripts -> detach -> deallocate -> swap -> start) that makes a
 * VM stuck at its boot menu boot with its agent Ready. What happened is read from the simulator's
 * operation log and the VM's state, never from what the gateway returned. The offline scripts run
 * under pwsh against the modelled Windows when PowerShell is there (else the emulation).
 */
const SUB = '3c9e1f2a-7b4d-4e8f-9a01-0000000000f5';
const RG = 'rg-demo';

function demoFleet(): Fleet {
  const raw = JSON.parse(readFileSync(join(__dirname, '..', '..', 'services', 'simulator', 'fleets', 'demo-fleet.json'), 'utf8')) as Record<string, unknown>;
  return parseFleet({ ...raw, subscriptionId: SUB });
}

const idOf = (name: string): string => `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/${name}`;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;


let incidentSeq = 0;
/** A fresh incident id per repair, so the names (derived from it) never collide. */
function newIncident(): string {
  incidentSeq++;
  // the names take the id's first 12 hex digits: the counter goes there
  return `5e0c${String(incidentSeq).padStart(4, '0')}-1d2a-4000-8000-00000000000f`;
}

describe('RepairGateway: SdkAzureGateway against the simulator (issue #15)', () => {
  let sim: SimulatorHandle;
  let gw: SdkAzureGateway;
  let engine: string;

  beforeAll(async () => {
    const made = createInterior('auto', createVmInterior());
    engine = made.engine;
    // with PowerShell the offline scripts run for real against the modelled Windows (CI installs it)
    expect(engine).toBe(pwshForTests('repair-gateway: offline scripts under pwsh') ? 'pwsh' : 'emulate');
    sim = await startSimulator({ fleet: demoFleet(), interior: made.interior, port: 0 });
    gw = createAzureGateway({
      endpoint: sim.endpoint,
      caPem: sim.caPem,
      subscriptionIds: [SUB],
      timings: { pollIntervalInMs: 10, agentPollIntervalInMs: 10, retryDelayInMs: 10, maxRetryDelayInMs: 20, requestTimeoutInMs: 60_000, operationTimeoutInMs: 60_000, runCommandTimeoutInMs: 600_000 },
    });
  }, 120_000);
  afterAll(async () => {
    await sim.close();
  });

  const live = (name: string): FleetVm => sim.fleet.vms.find((v) => v.name === name) as FleetVm;
  const opsSince = (n: number): OperationLogEntry[] => sim.operations().slice(n);
  const kinds = (ops: OperationLogEntry[]): string[] => ops.filter((o) => o.kind !== 'read').map((o) => `${o.kind}${o.failed ? '!' : ''}${o.scriptId ? `:${o.scriptId}` : ''}`);

  /** A copy of a demo VM as the fleet file has it, under another name (its own incident, its own faults). */
  function cloneVm(from: string, name: string, change: (vm: FleetVm) => void = () => undefined): void {
    const copy = clone(demoFleet().vms.find((v) => v.name === from) as FleetVm);
    change(copy);
    sim.fleet.vms.push(fleetVmSchema.parse({ ...copy, name }));
  }

  const tagsOf = (plan: RepairPlan): RepairTags => ({ 'created-by': 'rdp-doctor', 'rdp-doctor-incident': plan.incidentId });
  const resource = (plan: RepairPlan, kind: string): { id: string; name: string } => plan.creates.find((r) => r.kind === kind) as { id: string; name: string };

  interface Repair {
    plan: RepairPlan;
    model: VmModel;
    snapshotId?: string;
    diskId?: string;
    rescue?: { vmId: string; nicId: string; osDiskId: string };
    /** the rescue VM as the simulator had it once created */
    rescueVm?: FleetVm;
  }

  type Step = 'snapshot' | 'createDisk' | 'createVm' | 'attach' | 'runCommand' | 'detach' | 'deallocate' | 'swap' | 'start' | 'delete';
  const ORDER: Step[] = ['snapshot', 'createDisk', 'createVm', 'attach', 'runCommand', 'detach', 'deallocate', 'swap', 'start', 'delete'];

  /** The manual sequence the repair runner automates, up to and including `until`. */
  async function repair(vmName: string, opts: { until?: Step; scripts?: readonly string[] } = {}): Promise<Repair> {
    const until = ORDER.indexOf(opts.until ?? 'delete');
    const scripts = opts.scripts ?? ['offline-registry', 'offline-machinekeys', 'offline-bcd'];
    const model = await gw.getVmModel(idOf(vmName));
    const plan = planRepair(newIncident(), model);
    const tags = tagsOf(plan);
    const r: Repair = { plan, model };
    const reached = (s: Step): boolean => ORDER.indexOf(s) <= until;
    if (!reached('snapshot')) return r;
    r.snapshotId = (await gw.createSnapshot({ resourceGroup: RG, name: resource(plan, 'snapshot').name, location: model.location, sourceDiskId: model.osDiskId, tags })).snapshotId;
    if (!reached('createDisk')) return r;
    r.diskId = (
      await gw.createDiskFromSnapshot({
        resourceGroup: RG,
        name: resource(plan, 'disk').name,
        location: model.location,
        zone: model.zone,
        sourceSnapshotId: r.snapshotId,
        hyperVGeneration: model.hyperVGeneration,
        securityType: model.securityType,
        sku: model.osDiskSku,
        tags,
      })
    ).diskId;
    if (!reached('createVm')) return r;
    const rescueName = resource(plan, 'vm').name;
    r.rescue = await gw.createRescueVm({
      resourceGroup: RG,
      name: rescueName,
      location: model.location,
      zone: model.zone,
      vmSize: model.vmSize,
      hyperVGeneration: model.hyperVGeneration,
      securityType: model.securityType,
      subnetId: model.subnetId,
      nicName: resource(plan, 'nic').name,
      tags,
    });
    r.rescueVm = clone(live(rescueName));
    if (!reached('attach')) return r;
    await gw.attachDataDisk(r.rescue.vmId, r.diskId, REPAIR_LUN);
    if (!reached('runCommand')) return r;
    const guide = offlineRepairScripts(REPAIR_DRIVE);
    for (const id of scripts) {
      const step = guide.steps.find((s) => s.id === id);
      const out = await gw.runScript(r.rescue.vmId, { scriptId: id, script: step?.script ?? '', parameters: [{ name: 'Drive', value: REPAIR_DRIVE }] });
      expect([id, out.stderr]).toEqual([id, '']);
    }
    if (!reached('detach')) return r;
    await gw.detachDataDisk(r.rescue.vmId, r.diskId);
    if (!reached('deallocate')) return r;
    await gw.deallocateVm(idOf(vmName));
    if (!reached('swap')) return r;
    await gw.swapOsDisk(idOf(vmName), r.diskId);
    if (!reached('start')) return r;
    await gw.startVm(idOf(vmName));
    if (!reached('delete')) return r;
    await gw.deleteVm(r.rescue.vmId);
    await gw.deleteNic(r.rescue.nicId);
    await gw.deleteDisk(r.rescue.osDiskId);
    await gw.deleteSnapshot(r.snapshotId);
    return r;
  }

  test('getVmModel reads size, zone, generation, security type, OS disk and subnet from the VM, its NIC and its disk', async () => {
    expect(await gw.getVmModel(idOf('vm-noagent-08'))).toMatchObject({
      name: 'vm-noagent-08',
      resourceGroup: RG,
      subscriptionId: SUB,
      location: 'westeurope',
      vmSize: 'Standard_D2s_v5',
      hyperVGeneration: 'V1',
      osDiskName: 'vm-noagent-08_OsDisk_1',
      osDiskSku: 'Premium_LRS',
      subnetId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Network/virtualNetworks/${RG}-vnet/subnets/default`,
      dataDisks: [],
    });
    const gen2 = await gw.getVmModel(idOf('vm-bootmenu-37'));
    expect(gen2).toMatchObject({ hyperVGeneration: 'V2', zone: '2', vmSize: 'Standard_D4s_v5' });
    expect(gen2.securityType).toBeUndefined();
    expect(await gw.getVmModel(idOf('vm-trusted-38'))).toMatchObject({ hyperVGeneration: 'V2', zone: '1', securityType: 'TrustedLaunch' });
    expect((await domainErrorOf(gw.getVmModel(`/subscriptions/${SUB}/resourceGroups/rg-other/providers/Microsoft.Compute/virtualMachines/x`))).code).toBe('not-found');
  });

  test('getDisk: a VM\'s OS disk is a disk resource managed by its VM; a missing disk is null', async () => {
    const model = await gw.getVmModel(idOf('vm-healthy-01'));
    expect(await gw.getDisk(model.osDiskId)).toMatchObject({ name: 'vm-healthy-01_OsDisk_1', managedBy: idOf('vm-healthy-01'), hyperVGeneration: 'V1' });
    expect(await gw.getDisk(`/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/no-such-disk`)).toBeNull();
  });

  test('the demo VM stuck at its boot menu is repaired end to end: one rescue VM created and deleted, one swap, the agent Ready', async () => {
    const before = sim.operations().length;
    const broken = clone(live('vm-noagent-08').windows);
    expect(broken?.boot).toEqual({ displayBootMenu: true, timeout: null });
    // a restart does not help: Windows stops at the boot menu again
    await gw.deallocateVm(idOf('vm-noagent-08'));
    expect(['agent-not-ready', 'timeout']).toContain((await domainErrorOf(gw.startVm(idOf('vm-noagent-08'), { timeoutInMs: 3000 }))).code);
    expect(live('vm-noagent-08')).toMatchObject({ powerState: 'running', agentStatus: 'NotReady' });

    const r = await repair('vm-noagent-08');
    const ops = opsSince(before);
    const rescueName = resource(r.plan, 'vm').name;
    expect(kinds(ops.filter((o) => o.vm === rescueName))).toEqual([
      'vmCreate',
      'attachDisk',
      'runCommand:offline-registry',
      'runCommand:offline-machinekeys',
      'runCommand:offline-bcd',
      'detachDisk',
      'vmDelete',
    ]);
    expect(ops.filter((o) => o.vm === rescueName && o.kind === 'runCommand').every((o) => o.engine === engine)).toBe(true);
    expect(ops.filter((o) => o.kind === 'vmCreate')).toHaveLength(1);
    expect(ops.filter((o) => o.kind === 'vmDelete')).toHaveLength(1);
    expect(ops.filter((o) => o.kind === 'swapOsDisk')).toEqual([expect.objectContaining({ vm: 'vm-noagent-08' })]);
    expect(ops.filter((o) => o.kind === 'snapshot')).toHaveLength(1);
    expect(ops.filter((o) => o.kind === 'diskCreate')).toHaveLength(1);

    // the VM runs from the repaired copy: its agent is Ready because the BCD on that disk changed
    const vm = await gw.getVm(idOf('vm-noagent-08'));
    expect(vm).toMatchObject({ powerState: 'running', agentStatus: 'Ready', osDiskName: resource(r.plan, 'disk').name });
    expect(live('vm-noagent-08').windows?.boot).toMatchObject({ timeout: 5, ems: true });
    // the original disk is kept, unattached, as it was
    const original = await gw.getDisk(r.model.osDiskId);
    expect(original).toMatchObject({ name: 'vm-noagent-08_OsDisk_1' });
    expect(original?.managedBy).toBeUndefined();
    // nothing of the rescue VM is left; the repaired disk (now the OS disk) and the original are
    const left = await gw.listTaggedResources(SUB, RG, 'rdp-doctor-incident', r.plan.incidentId);
    expect(left.map((x) => x.name)).toEqual([resource(r.plan, 'disk').name]);
    expect(broken?.rdpTcp).toBeDefined();
  }, 600_000);

  test('the offline scripts change the attached copy only: the broken VM keeps its own state until the swap', async () => {
    cloneVm('vm-noagent-08', 'vm-copyonly-81', (v) => {
      if (v.windows) v.windows.schannelServer['TLS 1.2'] = { Enabled: 0 };
    });
    const before = clone(live('vm-copyonly-81').windows);
    const r = await repair('vm-copyonly-81', { until: 'runCommand', scripts: ['offline-registry'] });
    // the scripts ran on the rescue VM against the copy; the broken VM's disk is untouched
    expect(live('vm-copyonly-81').windows).toEqual(before);
    await gw.detachDataDisk(r.rescue?.vmId ?? '', r.diskId ?? '');
    await gw.deallocateVm(idOf('vm-copyonly-81'));
    await gw.swapOsDisk(idOf('vm-copyonly-81'), r.diskId ?? '');
    // after the swap the VM's Windows is the copy's, with offline-registry's change
    expect(live('vm-copyonly-81').windows?.schannelServer['TLS 1.2']).toEqual({ Enabled: 1, DisabledByDefault: 0 });
    // the boot menu was not fixed (offline-bcd did not run): the agent stays NotReady after a start
    expect(['agent-not-ready', 'timeout']).toContain((await domainErrorOf(gw.startVm(idOf('vm-copyonly-81'), { timeoutInMs: 3000 }))).code);
    expect(live('vm-copyonly-81')).toMatchObject({ powerState: 'running', agentStatus: 'NotReady' });
  }, 600_000);

  test.each(['vm-bootmenu-37', 'vm-trusted-38'])('%s (Gen2; Trusted Launch) goes through the same sequence: same generation, zone and security type, agent Ready', async (name) => {
    const before = sim.operations().length;
    const r = await repair(name);
    expect(await gw.getVm(idOf(name))).toMatchObject({ agentStatus: 'Ready', powerState: 'running' });
    const created = opsSince(before).filter((o) => o.kind === 'vmCreate');
    expect(created).toHaveLength(1);
    // the rescue VM matched the broken VM: the simulator refuses a Gen1 image with Trusted Launch, a zone mismatch on attach
    expect(live(name).windows?.boot?.timeout).toBe(5);
    expect(r.model.hyperVGeneration).toBe('V2');
    expect(r.rescueVm).toMatchObject({ hyperVGeneration: 'V2', zone: r.model.zone, vmSize: r.model.vmSize, publicIp: null });
    expect(r.rescueVm?.securityType).toBe(r.model.securityType);
  }, 600_000);

  test('Azure refuses an OS disk swap while the VM runs, and one of another generation', async () => {
    cloneVm('vm-healthy-01', 'vm-swap-82');
    const r = await repair('vm-swap-82', { until: 'createDisk' });
    const before = sim.operations().length;
    const running = await domainErrorOf(gw.swapOsDisk(idOf('vm-swap-82'), r.diskId ?? ''));
    expect(running).toMatchObject({ code: 'not-allowed', azureCode: 'OperationNotAllowed', statusCode: 409 });
    expect(running.params.detailKey).toBe('repair-sim.swapRunning');
    // a Gen2 disk made from the Gen1 VM's snapshot
    const gen2 = await gw.createDiskFromSnapshot({ resourceGroup: RG, name: 'rdpd-gen2-copy', location: 'westeurope', sourceSnapshotId: r.snapshotId ?? '', hyperVGeneration: 'V2', tags: tagsOf(r.plan) });
    await gw.deallocateVm(idOf('vm-swap-82'));
    const mismatch = await domainErrorOf(gw.swapOsDisk(idOf('vm-swap-82'), gen2.diskId));
    expect(mismatch).toMatchObject({ code: 'not-allowed', azureCode: 'PropertyChangeNotAllowed', statusCode: 409 });
    expect(mismatch.params.detailKey).toBe('repair-sim.swapGeneration');
    expect(opsSince(before).filter((o) => o.kind === 'swapOsDisk')).toEqual([]);
    expect(live('vm-swap-82').osDiskName).toBeUndefined();
  }, 120_000);

  test('Azure refuses to attach a disk attached elsewhere, and to delete an attached disk; the gateway never deletes what it did not create', async () => {
    cloneVm('vm-healthy-01', 'vm-attach-83');
    const r = await repair('vm-attach-83', { until: 'attach' });
    const other = await repair('vm-attach-83', { until: 'createVm' });
    const before = sim.operations().length;
    const twice = await domainErrorOf(gw.attachDataDisk(other.rescue?.vmId ?? '', r.diskId ?? '', REPAIR_LUN));
    expect(twice).toMatchObject({ code: 'azure-error', azureCode: 'ConflictingUserInput', statusCode: 409 });
    const attached = await domainErrorOf(gw.deleteDisk(r.diskId ?? ''));
    expect(attached).toMatchObject({ code: 'azure-error', azureCode: 'OperationNotAllowed', statusCode: 409 });
    // attaching it again to the same VM is nothing (a resumed repair)
    await gw.attachDataDisk(r.rescue?.vmId ?? '', r.diskId ?? '', REPAIR_LUN);
    // a disk without RDP Doctor's tag (the VM's own OS disk, deallocated) is refused before Azure is asked
    const own = await domainErrorOf(gw.deleteDisk(r.model.osDiskId));
    expect(own).toMatchObject({ code: 'not-allowed' });
    expect(own.params.detailKey).toBe('repair-sim.notOurs');
    const notOurs = await domainErrorOf(gw.deleteVm(idOf('vm-attach-83')));
    expect(notOurs.params.detailKey).toBe('repair-sim.notOurs');
    expect(kinds(opsSince(before))).toEqual([]);
    expect(live('vm-attach-83')).toBeDefined();
  }, 120_000);

  test('a confidential VM is refused before anything is created; bad names and tags never reach Azure', async () => {
    const before = sim.operations().length;
    const plan = planRepair(newIncident(), await gw.getVmModel(idOf('vm-healthy-01')));
    const spec = { resourceGroup: RG, name: 'rdpd-cvm-copy', location: 'westeurope', sourceSnapshotId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/snapshots/x`, hyperVGeneration: 'V2' as const, tags: tagsOf(plan) };
    const cvm = await domainErrorOf(gw.createDiskFromSnapshot({ ...spec, securityType: 'ConfidentialVM' }));
    expect(cvm).toMatchObject({ code: 'not-allowed' });
    expect(cvm.params.detailKey).toBe('repair-sim.confidentialVm');
    expect((await domainErrorOf(gw.createDiskFromSnapshot({ ...spec, name: "x'; drop" }))).code).toBe('bad-input');
    expect((await domainErrorOf(gw.createDiskFromSnapshot({ ...spec, tags: { ...tagsOf(plan), 'created-by': 'someone' } }))).code).toBe('bad-input');
    expect((await domainErrorOf(gw.listTaggedResources(SUB, RG, 'rdp-doctor-incident', "x' or 1==1 | project secrets"))).code).toBe('bad-input');
    expect((await domainErrorOf(gw.listTaggedResources(SUB, RG, "created-by'] =~ 'x", 'rdp-doctor'))).code).toBe('bad-input');
    expect((await domainErrorOf(gw.listTaggedResources('00000000-0000-4000-8000-00000000dead', RG, 'created-by', 'rdp-doctor'))).code).toBe('out-of-scope');
    expect(opsSince(before).filter((o) => o.kind !== 'read')).toEqual([]);
  });

  test('the rescue VM: a NIC without public IP in the broken VM\'s subnet, a computer name of 15 characters at most, tagged, its OS disk tagged', async () => {
    cloneVm('vm-healthy-01', 'vm-rescue-84');
    const r = await repair('vm-rescue-84', { until: 'createVm' });
    const rescue = live(resource(r.plan, 'vm').name);
    expect(rescue).toMatchObject({ publicIp: null, hyperVGeneration: 'V1', location: 'westeurope', vmSize: 'Standard_D2s_v5', agentStatus: 'Ready' });
    expect(rescue.tags).toEqual(tagsOf(r.plan));
    const details = await gw.getVm(r.rescue?.vmId ?? '');
    expect(details.primaryNicId).toBe(r.rescue?.nicId);
    expect(await gw.hasPublicIp(details)).toBe(false);
    expect(await gw.getDisk(r.rescue?.osDiskId ?? '')).toMatchObject({ tags: tagsOf(r.plan), managedBy: r.rescue?.vmId });
    const tagged = await gw.listTaggedResources(SUB, RG, 'rdp-doctor-incident', r.plan.incidentId);
    expect(tagged.map((x) => x.type).sort()).toEqual(['microsoft.compute/disks', 'microsoft.compute/disks', 'microsoft.compute/snapshots', 'microsoft.compute/virtualmachines', 'microsoft.network/networkinterfaces']);
  }, 120_000);

  test('deletes are idempotent: a second clean-up finds nothing and changes nothing', async () => {
    cloneVm('vm-healthy-01', 'vm-clean-85');
    const r = await repair('vm-clean-85', { until: 'createVm' });
    const first = sim.operations().length;
    const cleanUp = async (): Promise<void> => {
      await gw.deleteVm(r.rescue?.vmId ?? '');
      await gw.deleteNic(r.rescue?.nicId ?? '');
      await gw.deleteDisk(r.rescue?.osDiskId ?? '');
      await gw.deleteDisk(r.diskId ?? '');
      await gw.deleteSnapshot(r.snapshotId ?? '');
    };
    await cleanUp();
    // the NIC and the OS disk went with the VM (deleteOption Delete): their own deletes found nothing
    expect(kinds(opsSince(first))).toEqual(['vmDelete', 'diskDelete', 'snapshotDelete']);
    const second = sim.operations().length;
    await cleanUp();
    expect(kinds(opsSince(second))).toEqual([]);
    expect(await gw.listTaggedResources(SUB, RG, 'rdp-doctor-incident', r.plan.incidentId)).toEqual([]);
  }, 120_000);

  // the step each fault breaks, and what must still be as it was afterwards
  const FAULT_STEP: Record<RepairFaultOp, Step> = {
    snapshot: 'snapshot', createDisk: 'createDisk', createVm: 'createVm', attach: 'attach', runCommand: 'runCommand',
    detach: 'detach', deallocate: 'deallocate', swap: 'swap', start: 'start', delete: 'delete',
  };
  const FAULT_KIND: Record<RepairFaultOp, string> = {
    snapshot: 'snapshot', createDisk: 'diskCreate', createVm: 'vmCreate', attach: 'attachDisk', runCommand: 'runCommand',
    detach: 'detachDisk', deallocate: 'deallocate', swap: 'swapOsDisk', start: 'start', delete: 'vmDelete',
  };

  test('RBAC: the shipped role is enough for the whole repair; without any one of its repair actions a step is forbidden, naming it', async () => {
    const role = JSON.parse(readFileSync(join(__dirname, '..', '..', 'infra', 'rdp-doctor-role.json'), 'utf8')) as { Actions: string[] };
    const allowed = [...role.Actions];
    const rbacSim = await startSimulator({ fleet: demoFleet(), interior: createVmInterior(), port: 0, allowedActions: allowed });
    const rbacGw = createAzureGateway({ endpoint: rbacSim.endpoint, caPem: rbacSim.caPem, subscriptionIds: [SUB], timings: { pollIntervalInMs: 10, agentPollIntervalInMs: 10, operationTimeoutInMs: 60_000 } });
    const sequence = async (vmName: string): Promise<void> => {
      const model = await rbacGw.getVmModel(idOf(vmName));
      const plan = planRepair(newIncident(), model);
      const tags = tagsOf(plan);
      const snap = await rbacGw.createSnapshot({ resourceGroup: RG, name: resource(plan, 'snapshot').name, location: model.location, sourceDiskId: model.osDiskId, tags });
      const disk = await rbacGw.createDiskFromSnapshot({ resourceGroup: RG, name: resource(plan, 'disk').name, location: model.location, sourceSnapshotId: snap.snapshotId, hyperVGeneration: model.hyperVGeneration, tags });
      const rescue = await rbacGw.createRescueVm({ resourceGroup: RG, name: resource(plan, 'vm').name, location: model.location, vmSize: model.vmSize, hyperVGeneration: model.hyperVGeneration, subnetId: model.subnetId, nicName: resource(plan, 'nic').name, tags });
      await rbacGw.attachDataDisk(rescue.vmId, disk.diskId, REPAIR_LUN);
      await rbacGw.detachDataDisk(rescue.vmId, disk.diskId);
      await rbacGw.deallocateVm(idOf(vmName));
      await rbacGw.swapOsDisk(idOf(vmName), disk.diskId);
      await rbacGw.startVm(idOf(vmName));
      await rbacGw.deleteVm(rescue.vmId);
      await rbacGw.deleteNic(rescue.nicId);
      await rbacGw.deleteDisk(rescue.osDiskId);
      await rbacGw.deleteSnapshot(snap.snapshotId);
      await rbacGw.listTaggedResources(SUB, RG, 'rdp-doctor-incident', plan.incidentId);
    };
    const repairActions = [
      'Microsoft.Compute/virtualMachines/write', 'Microsoft.Compute/virtualMachines/delete', 'Microsoft.Compute/virtualMachines/deallocate/action',
      'Microsoft.Compute/disks/write', 'Microsoft.Compute/disks/delete', 'Microsoft.Compute/snapshots/delete',
      'Microsoft.Network/networkInterfaces/write', 'Microsoft.Network/networkInterfaces/delete', 'Microsoft.Network/networkInterfaces/join/action',
      'Microsoft.Network/virtualNetworks/subnets/join/action',
    ];
    try {
      for (const a of repairActions) expect(role.Actions).toContain(a);
      await sequence('vm-healthy-01');
      let n = 0;
      for (const missing of repairActions) {
        allowed.splice(0, allowed.length, ...role.Actions.filter((a) => a !== missing));
        const err = await domainErrorOf(sequence('vm-exposed-02'));
        expect([missing, err.code, err.params.permission]).toEqual([missing, 'forbidden', missing]);
        // each run may have got some way: start the next from a running VM on its own disk
        const vm = rbacSim.fleet.vms.find((v) => v.name === 'vm-exposed-02') as FleetVm;
        vm.powerState = 'running';
        vm.agentStatus = 'Ready';
        n++;
      }
      expect(n).toBe(repairActions.length);
    } finally {
      await rbacSim.close();
    }
  }, 300_000);

  test.each(REPAIR_FAULT_OPS.map((op) => [op]))('faults.repair.%s: the step fails as Azure fails, is logged as failed, and changes nothing', async (op) => {
    const name = `vm-fault-${op.toLowerCase()}`;
    cloneVm('vm-healthy-01', name, (v) => {
      v.faults.repair = { [op]: 'fail' };
    });
    const before = sim.operations().length;
    const diskBefore = live(name).osDiskName;
    const err = await domainErrorOf(repair(name, { until: FAULT_STEP[op], scripts: ['offline-registry'] }));
    expect(err.code).toBe('azure-error');
    const failed = opsSince(before).filter((o) => o.failed);
    expect(failed.map((o) => o.kind)).toEqual([FAULT_KIND[op]]);
    // a failed swap leaves the original disk; a failed step before it leaves the VM running as it was
    if (ORDER.indexOf(FAULT_STEP[op]) <= ORDER.indexOf('swap')) expect(live(name).osDiskName).toBe(diskBefore);
    if (ORDER.indexOf(FAULT_STEP[op]) < ORDER.indexOf('deallocate')) expect(live(name).powerState).toBe('running');
  }, 300_000);
});
