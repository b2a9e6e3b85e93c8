import type {
  AzureGateway,
  CreateDiskSpec,
  CreateSnapshotSpec,
  DiskInfo,
  EffectiveNsg,
  NsgDetails,
  PowerState,
  RepairGateway,
  RescueVmSpec,
  RunScriptOptions,
  RunScriptResult,
  TaggedResource,
  VmDetails,
  VmModel,
} from '../../services/azure/gateway';
import { DomainError } from '../../services/errors';

/**
 * A small in-memory Azure for UNIT tests of the offline repair's step order, roll-back and
 * resume rule only (test/unit/repair-runner.test.ts). It is not the simulator: what Azure really
 * does (and refuses) is modelled by repair-sim in services/simulator and tested against it in
 * test/integration/repair-*.test.ts. What it keeps: VMs (power, OS disk, data disks), disks,
 * snapshots, NICs, tags, and whether a disk's Windows was repaired (the offline scripts ran on a
 * rescue VM with the disk attached). A VM's agent is Ready when it runs from a repaired disk.
 *
 * Every mutating call that took effect is in `ops` ({ op, target }); `events` has each call's
 * begin and end (to see what overlapped); `faults` fail a method (once, or always); `crashAt`
 * simulates a kill -9: from that call on, every call of the session hangs for ever.
 */
interface FakeVm {
  id: string;
  name: string;
  power: PowerState;
  osDiskId: string;
  dataDisks: { lun: number; diskId: string }[];
  tags: Record<string, string>;
  model: VmModel;
  /** the rescue VM: its own Windows is fine */
  healthy: boolean;
}
interface FakeDisk extends DiskInfo {
  repaired: boolean;
}

export type FakeMethod = keyof RepairGateway | 'runScript' | 'startVm' | 'getVm';

export class FakeRepairAzure {
  readonly ops: { op: string; target: string }[] = [];
  readonly events: string[] = [];
  readonly vms = new Map<string, FakeVm>();
  readonly disks = new Map<string, FakeDisk>();
  readonly snapshots = new Map<string, { id: string; name: string; tags: Record<string, string>; repaired: boolean }>();
  readonly nics = new Map<string, { id: string; name: string; tags: Record<string, string> }>();
  /** method -> 'once' | 'always': fails like Azure would (a DomainError azure-error) */
  readonly faults = new Map<FakeMethod, 'once' | 'always'>();
  /** the agent never becomes Ready, whatever the disk */
  agentBroken = false;
  private crash: { method: FakeMethod; applied: boolean; session: number } | null = null;
  private crashed = new Set<number>();
  private reachedCrash: () => void = () => undefined;
  /** resolves when the crash point was reached */
  crashReached: Promise<void> = new Promise((r) => (this.reachedCrash = r));

  constructor(readonly broken: VmModel) {
    this.vms.set(broken.id.toLowerCase(), { id: broken.id, name: broken.name, power: 'running', osDiskId: broken.osDiskId, dataDisks: [], tags: {}, model: broken, healthy: false });
    this.disks.set(broken.osDiskId.toLowerCase(), { id: broken.osDiskId, name: broken.osDiskName, managedBy: broken.id, hyperVGeneration: broken.hyperVGeneration, tags: {}, repaired: false });
  }

  /** From the next call of `method` in `session`, every call of that session hangs (a kill -9); `applied`: the call itself took effect in Azure first. */
  crashAt(method: FakeMethod, opts: { applied: boolean; session?: number }): void {
    this.crash = { method, applied: opts.applied, session: opts.session ?? 1 };
  }

  /** The gateway one bot process sees (a session): a crash silences only its own calls. */
  gateway(session = 1): AzureGateway & RepairGateway {
    const call = <T>(method: FakeMethod, target: string, work: () => T, opts: { mutates?: boolean; slow?: boolean } = {}): Promise<T> => this.call(session, method, target, work, opts);
    const vm = (id: string) => this.vm(id);
    return {
      findVms: async () => [],
      getVm: (id) => call('getVm', id, () => this.details(vm(id))),
      getEffectiveNsgRules: async (): Promise<EffectiveNsg[]> => [],
      runScript: (id, o: RunScriptOptions) => call('runScript', `${id}#${o.scriptId}`, () => this.runScript(vm(id), o), { mutates: true, slow: true }),
      startVm: (id) => call('startVm', id, () => void (vm(id).power = 'running'), { mutates: true, slow: true }),
      restartVm: async () => undefined,
      snapshotOsDisk: async () => ({ snapshotId: 'unused' }),
      upsertNsgRule: async () => undefined,
      getNsg: async (): Promise<NsgDetails> => ({ id: 'x', name: 'x', rules: [], networkInterfaceIds: [], subnetIds: [] }),
      deleteNsgRule: async () => undefined,
      getVmModel: (id) => call('getVmModel', id, () => ({ ...vm(id).model, osDiskId: vm(id).osDiskId, osDiskName: this.disk(vm(id).osDiskId)?.name ?? '', dataDisks: [...vm(id).dataDisks] })),
      getDisk: (id) => call('getDisk', id, () => {
        const d = this.disk(id);
        return d ? { id: d.id, name: d.name, managedBy: d.managedBy, hyperVGeneration: d.hyperVGeneration, tags: { ...d.tags } } : null;
      }),
      createSnapshot: (s: CreateSnapshotSpec) => call('createSnapshot', s.name, () => this.createSnapshot(s), { mutates: true, slow: true }),
      createDiskFromSnapshot: (s: CreateDiskSpec) => call('createDiskFromSnapshot', s.name, () => this.createDisk(s), { mutates: true, slow: true }),
      createRescueVm: (s: RescueVmSpec) => call('createRescueVm', s.name, () => this.createRescueVm(s), { mutates: true, slow: true }),
      attachDataDisk: (id, diskId, lun) => call('attachDataDisk', `${id}<-${diskId}`, () => this.attach(id, diskId, lun), { mutates: true }),
      detachDataDisk: (id, diskId) => call('detachDataDisk', `${id}->${diskId}`, () => this.detach(id, diskId), { mutates: true }),
      deallocateVm: (id) => call('deallocateVm', id, () => void (vm(id).power = 'deallocated'), { mutates: true, slow: true }),
      swapOsDisk: (id, diskId) => call('swapOsDisk', `${id}=${diskId}`, () => this.swap(id, diskId), { mutates: true, slow: true }),
      deleteVm: (id) => call('deleteVm', id, () => this.deleteVm(id), { mutates: true, slow: true }),
      deleteNic: (id) => call('deleteNic', id, () => void this.nics.delete(id.toLowerCase()), { mutates: true }),
      deleteDisk: (id) => call('deleteDisk', id, () => this.deleteDisk(id), { mutates: true }),
      deleteSnapshot: (id) => call('deleteSnapshot', id, () => void this.snapshots.delete(id.toLowerCase()), { mutates: true }),
      listTaggedResources: (_sub, rg, name, value) => call('listTaggedResources', `${rg}:${name}=${value}`, () => this.tagged(name, value)),
    };
  }

  /** Everything that carries `rdp-doctor-incident=<id>` now. */
  tagged(name = 'rdp-doctor-incident', value?: string): TaggedResource[] {
    const match = (t: Record<string, string>) => (value === undefined ? name in t : t[name] === value);
    const out: TaggedResource[] = [];
    for (const v of this.vms.values()) if (match(v.tags)) out.push({ id: v.id, type: 'Microsoft.Compute/virtualMachines', name: v.name, tags: { ...v.tags } });
    for (const d of this.disks.values()) if (match(d.tags ?? {})) out.push({ id: d.id, type: 'Microsoft.Compute/disks', name: d.name, tags: { ...(d.tags ?? {}) } });
    for (const s of this.snapshots.values()) if (match(s.tags)) out.push({ id: s.id, type: 'Microsoft.Compute/snapshots', name: s.name, tags: { ...s.tags } });
    for (const n of this.nics.values()) if (match(n.tags)) out.push({ id: n.id, type: 'Microsoft.Network/networkInterfaces', name: n.name, tags: { ...n.tags } });
    return out;
  }

  brokenVm(): FakeVm {
    return this.vm(this.broken.id);
  }

  count(op: string): number {
    return this.ops.filter((o) => o.op === op).length;
  }

  // ------------------------------------------------------------------------------------------

  private async call<T>(session: number, method: FakeMethod, target: string, work: () => T, opts: { mutates?: boolean; slow?: boolean }): Promise<T> {
    if (this.crashed.has(session)) return new Promise<T>(() => undefined);
    if (this.crash && this.crash.session === session && this.crash.method === method) {
      this.crashed.add(session);
      if (this.crash.applied) {
        work();
        if (opts.mutates) this.ops.push({ op: method, target });
      }
      this.reachedCrash();
      return new Promise<T>(() => undefined);
    }
    this.events.push(`begin ${method}`);
    // a long-running operation yields a few turns (no clock): what runs alongside gets to start
    if (opts.slow) for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    if (this.crashed.has(session)) return new Promise<T>(() => undefined);
    const fault = this.faults.get(method);
    if (fault) {
      if (fault === 'once') this.faults.delete(method);
      this.events.push(`fail ${method}`);
      throw new DomainError('azure-error', `injected fault: ${method}`, { params: { detail: `injected ${method}` }, statusCode: 500, azureCode: 'InjectedFault' });
    }
    const out = work();
    if (opts.mutates) this.ops.push({ op: method, target });
    this.events.push(`end ${method}`);
    return out;
  }

  private vm(id: string): FakeVm {
    const v = this.vms.get(id.toLowerCase());
    if (!v) throw new DomainError('not-found', `no VM ${id}`, { statusCode: 404 });
    return v;
  }

  private disk(id: string): FakeDisk | undefined {
    return this.disks.get(id.toLowerCase());
  }

  private details(v: FakeVm): VmDetails {
    const disk = this.disk(v.osDiskId);
    const ready = v.power === 'running' && !this.agentBroken && (v.healthy || !!disk?.repaired);
    return {
      id: v.id,
      name: v.name,
      resourceGroup: v.model.resourceGroup,
      subscriptionId: v.model.subscriptionId,
      location: v.model.location,
      tags: { ...v.tags },
      osType: 'Windows',
      powerState: v.power,
      provisioningState: 'Succeeded',
      agentStatus: ready ? 'Ready' : 'NotReady',
      osDiskId: v.osDiskId,
      osDiskName: disk?.name,
      bootDiagnosticsEnabled: true,
    };
  }

  private runScript(v: FakeVm, o: RunScriptOptions): RunScriptResult {
    if (!v.healthy && !this.details(v).agentStatus.startsWith('Ready')) throw new DomainError('agent-not-ready', 'no agent');
    const drive = o.parameters?.find((p) => p.name === 'Drive')?.value;
    if (!drive || !/^[A-BD-Z]$/.test(drive)) return { stdout: '', stderr: 'Drive must be one letter, not C' };
    const attached = v.dataDisks.map((d) => this.disk(d.diskId)).filter((d): d is FakeDisk => !!d);
    if (attached.length === 0) return { stdout: '', stderr: `No SYSTEM hive at ${drive}:` };
    // the last of the three offline scripts (the boot configuration) makes the copy bootable with its agent
    if (o.scriptId === 'offline-bcd') for (const d of attached) d.repaired = true;
    return { stdout: `${o.scriptId} on ${drive}: done`, stderr: '' };
  }

  private createSnapshot(s: CreateSnapshotSpec): { snapshotId: string } {
    const source = this.disk(s.sourceDiskId);
    if (!source) throw new DomainError('not-found', 'no source disk');
    const id = `/subscriptions/${this.broken.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Compute/snapshots/${s.name}`;
    this.snapshots.set(id.toLowerCase(), { id, name: s.name, tags: { ...s.tags }, repaired: source.repaired });
    return { snapshotId: id };
  }

  private createDisk(s: CreateDiskSpec): { diskId: string } {
    const snap = this.snapshots.get(s.sourceSnapshotId.toLowerCase());
    if (!snap) throw new DomainError('not-found', 'no snapshot');
    const id = `/subscriptions/${this.broken.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Compute/disks/${s.name}`;
    this.disks.set(id.toLowerCase(), { id, name: s.name, hyperVGeneration: s.hyperVGeneration, tags: { ...s.tags }, repaired: snap.repaired });
    return { diskId: id };
  }

  private createRescueVm(s: RescueVmSpec): { vmId: string; nicId: string; osDiskId: string } {
    const base = `/subscriptions/${this.broken.subscriptionId}/resourceGroups/${s.resourceGroup}/providers`;
    const vmId = `${base}/Microsoft.Compute/virtualMachines/${s.name}`;
    const nicId = `${base}/Microsoft.Network/networkInterfaces/${s.nicName}`;
    const osDiskId = `${base}/Microsoft.Compute/disks/${s.name}-os`;
    this.nics.set(nicId.toLowerCase(), { id: nicId, name: s.nicName, tags: { ...s.tags } });
    this.disks.set(osDiskId.toLowerCase(), { id: osDiskId, name: `${s.name}-os`, managedBy: vmId, hyperVGeneration: s.hyperVGeneration, tags: { ...s.tags }, repaired: true });
    const model: VmModel = { ...this.broken, id: vmId, name: s.name, osDiskId, osDiskName: `${s.name}-os`, dataDisks: [] };
    this.vms.set(vmId.toLowerCase(), { id: vmId, name: s.name, power: 'running', osDiskId, dataDisks: [], tags: { ...s.tags }, model, healthy: true });
    return { vmId, nicId, osDiskId };
  }

  private attach(vmId: string, diskId: string, lun: number): void {
    const d = this.disk(diskId);
    if (!d) throw new DomainError('not-found', 'no disk');
    if (d.managedBy && d.managedBy.toLowerCase() !== vmId.toLowerCase()) throw new DomainError('conflict', 'disk attached elsewhere', { statusCode: 409 });
    const v = this.vm(vmId);
    if (!v.dataDisks.some((x) => x.diskId.toLowerCase() === diskId.toLowerCase())) v.dataDisks.push({ lun, diskId: d.id });
    d.managedBy = v.id;
  }

  private detach(vmId: string, diskId: string): void {
    const v = this.vm(vmId);
    v.dataDisks = v.dataDisks.filter((x) => x.diskId.toLowerCase() !== diskId.toLowerCase());
    const d = this.disk(diskId);
    if (d && d.managedBy?.toLowerCase() === vmId.toLowerCase()) d.managedBy = undefined;
  }

  private swap(vmId: string, diskId: string): void {
    const v = this.vm(vmId);
    const d = this.disk(diskId);
    if (v.power !== 'deallocated') throw new DomainError('conflict', 'the VM must be deallocated to swap its OS disk', { statusCode: 409, azureCode: 'OperationNotAllowed' });
    if (!d) throw new DomainError('not-found', 'no disk');
    if (d.managedBy && d.managedBy.toLowerCase() !== vmId.toLowerCase()) throw new DomainError('conflict', 'disk attached elsewhere', { statusCode: 409 });
    if (d.hyperVGeneration && d.hyperVGeneration !== v.model.hyperVGeneration) throw new DomainError('azure-error', 'generation mismatch', { statusCode: 400 });
    const old = this.disk(v.osDiskId);
    if (old) old.managedBy = undefined;
    v.osDiskId = d.id;
    d.managedBy = v.id;
  }

  private deleteVm(id: string): void {
    const v = this.vms.get(id.toLowerCase());
    if (!v) return;
    if (v.dataDisks.length) for (const dd of v.dataDisks) this.detach(v.id, dd.diskId);
    const os = this.disk(v.osDiskId);
    if (os) os.managedBy = undefined;
    this.vms.delete(id.toLowerCase());
  }

  private deleteDisk(id: string): void {
    const d = this.disk(id);
    if (!d) return;
    if (d.managedBy) throw new DomainError('conflict', 'the disk is attached', { statusCode: 409 });
    this.disks.delete(id.toLowerCase());
  }
}
