import { randomBytes } from 'node:crypto';
import { DomainError, isDomainError } from '../errors';
import { t } from '../i18n';
import { parseResourceId, parseTypedId, parseVmId, type ParsedResourceId } from './arm-ids';
import { azureErrorInfo, toDomainError } from './azure-errors';
import type {
  CreateDiskSpec,
  CreateSnapshotSpec,
  DiskInfo,
  LongOperationOptions,
  RepairGateway,
  RepairTags,
  RescueVmSpec,
  TaggedResource,
  VmModel,
} from './gateway';
import { REPAIR_CREATED_BY, REPAIR_INCIDENT_TAG } from './gateway';
import type { SdkClients } from './sdk-clients';

/**
 * Issue #15: RepairGateway over the Azure SDKs (arm-compute 24 disks/snapshots/virtualMachines,
 * arm-network NICs, Resource Graph). SdkAzureGateway delegates to this so the repair calls keep
 * its bounds (`bounded`: deadline, caller abort, DomainError mapping), its scope check and its
 * call counts. Every name, id, tag and size is checked against a strict pattern before it
 * reaches Azure; nothing reaches a KQL query or a command line unchecked.
 */
export interface RepairHost {
  clients: SdkClients;
  pollIntervalInMs: number;
  requestTimeoutInMs: number;
  operationTimeoutInMs: number;
  counts: { armReads: number; armWrites: number };
  bounded<T>(operation: string, target: string, timeoutInMs: number, callerSignal: AbortSignal | undefined, work: (signal: AbortSignal) => Promise<T>): Promise<T>;
  checkScope(ref: ParsedResourceId, operation: string): void;
  waitForAgent(ref: ParsedResourceId, operation: string, signal: AbortSignal): Promise<void>;
  /** Resource Graph with the gateway's retry rules */
  graphResources(subscriptionId: string, query: string, signal: AbortSignal): Promise<unknown>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9]$/;
const RG = /^[-\w._()]{1,90}$/;
const LOCATION = /^[a-z0-9]{1,40}$/i;
const VM_SIZE = /^[A-Za-z0-9_]{1,64}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** tag names and values that may reach the Resource Graph query: checked here, quoted there, never escaped */
export const TAG_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const TAG_VALUE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,255}$/;
const SKUS = ['Standard_LRS', 'Premium_LRS', 'StandardSSD_LRS', 'UltraSSD_LRS', 'Premium_ZRS', 'StandardSSD_ZRS', 'PremiumV2_LRS'];
const SUBNET_ID = /^\/subscriptions\/([0-9a-f-]{36})\/resourceGroups\/([-\w._()]{1,90})\/providers\/Microsoft\.Network\/virtualNetworks\/([-\w.]{1,80})\/subnets\/([-\w.]{1,80})$/i;

const bad = (operation: string, field: string, value: string): DomainError =>
  new DomainError('bad-input', `${operation}: invalid ${field}: ${value.slice(0, 80)}`, { params: { operation, field, detail: `${field} ${value.slice(0, 80)}` } });

function check(operation: string, field: string, value: string | undefined, pattern: RegExp): string {
  if (value === undefined || !pattern.test(value)) throw bad(operation, field, String(value));
  return value;
}

function checkTags(operation: string, tags: RepairTags): Record<string, string> {
  if (tags['created-by'] !== REPAIR_CREATED_BY) throw bad(operation, "tag 'created-by'", String(tags['created-by']));
  if (!GUID.test(tags[REPAIR_INCIDENT_TAG] ?? '')) throw bad(operation, `tag '${REPAIR_INCIDENT_TAG}'`, String(tags[REPAIR_INCIDENT_TAG]));
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) out[check(operation, 'tag name', k, TAG_NAME)] = check(operation, `tag ${k}`, v, TAG_VALUE);
  return out;
}

/** A localized refusal: `not-allowed` whose detail the user reads (en/ru, locales/<lang>/repair-sim.json). */
function refusal(operation: string, detailKey: string, params: Record<string, string>, extra: { statusCode?: number; azureCode?: string } = {}): DomainError {
  return new DomainError('not-allowed', `${operation}: ${t('en', detailKey, params)}`, { params: { operation, ...params, detailKey, detail: t('en', detailKey, params) }, ...extra });
}

/** A Windows computer name (NetBIOS: at most 15 characters) derived from the rescue VM's validated name. */
export function computerNameFor(vmName: string): string {
  const flat = vmName.replace(/[^A-Za-z0-9]/g, '');
  const name = flat.slice(0, 15);
  return /^[0-9]*$/.test(name) ? `r${name}`.slice(0, 15) : name;
}

/** For the create call only: never logged, stored or returned. 144 random bits plus one of each class Azure asks for. */
function oneTimePassword(): string {
  return `${randomBytes(18).toString('base64url')}aA1!`;
}

const isNotFound = (e: unknown): boolean => (isDomainError(e) ? e.code === 'not-found' : azureErrorInfo(e).statusCode === 404);

export class SdkRepairOperations implements RepairGateway {
  constructor(private readonly h: RepairHost) {}

  private lro(signal: AbortSignal): { updateIntervalInMs: number; abortSignal: AbortSignal } {
    return { updateIntervalInMs: this.h.pollIntervalInMs, abortSignal: signal };
  }

  private typed(id: string, provider: string, type: string, operation: string): ParsedResourceId {
    const ref = parseTypedId(id, provider, type);
    if (!ref || !GUID.test(ref.subscriptionId) || !RG.test(ref.resourceGroup) || !NAME.test(ref.name)) {
      throw new DomainError('bad-input', `${operation}: not a ${type} id: ${id.slice(0, 200)}`, { params: { operation, target: id.slice(0, 200) } });
    }
    this.h.checkScope(ref, operation);
    return ref;
  }

  private vm(id: string, operation: string): ParsedResourceId {
    const ref = parseVmId(id);
    if (!ref) throw new DomainError('bad-input', `${operation}: not a virtual machine id: ${id.slice(0, 200)}`, { params: { operation, target: id.slice(0, 200) } });
    return this.typed(id, 'Microsoft.Compute', 'virtualMachines', operation);
  }

  private rg(subscriptionId: string, resourceGroup: string, operation: string): void {
    if (!GUID.test(subscriptionId)) throw bad(operation, 'subscription', subscriptionId);
    check(operation, 'resource group', resourceGroup, RG);
    this.h.checkScope({ subscriptionId, resourceGroup, provider: '', type: '', name: resourceGroup }, operation);
  }

  async getVmModel(vmId: string): Promise<VmModel> {
    const ref = this.vm(vmId, 'getVmModel');
    return this.h.bounded('getVmModel', ref.name, this.h.requestTimeoutInMs * 3, undefined, async (signal) => {
      const compute = this.h.clients.computeFor(ref.subscriptionId);
      this.h.counts.armReads++;
      const vm = await compute.virtualMachines.get(ref.resourceGroup, ref.name, { abortSignal: signal });
      const osDiskId = vm.storageProfile?.osDisk?.managedDisk?.id;
      const disk = osDiskId ? parseTypedId(osDiskId, 'Microsoft.Compute', 'disks') : null;
      if (!osDiskId || !disk) throw new DomainError('not-found', `getVmModel: ${ref.name} has no managed OS disk`, { params: { operation: 'getVmModel', target: ref.name, what: 'managed OS disk' } });
      const nics = vm.networkProfile?.networkInterfaces ?? [];
      const nicId = (nics.find((n) => n.primary) ?? nics[0])?.id;
      const nicRef = nicId ? parseTypedId(nicId, 'Microsoft.Network', 'networkInterfaces') : null;
      if (!nicRef) throw new DomainError('not-found', `getVmModel: ${ref.name} has no network interface`, { params: { operation: 'getVmModel', target: ref.name, what: 'network interface' } });
      this.h.counts.armReads += 2;
      const [nic, d] = await Promise.all([
        this.h.clients.networkFor(nicRef.subscriptionId).networkInterfaces.get(nicRef.resourceGroup, nicRef.name, { abortSignal: signal }),
        this.h.clients.computeFor(disk.subscriptionId).disks.get(disk.resourceGroup, disk.name, { abortSignal: signal }),
      ]);
      const configs = nic.ipConfigurations ?? [];
      const subnetId = (configs.find((c) => c.primary) ?? configs[0])?.subnet?.id;
      if (!subnetId) throw new DomainError('not-found', `getVmModel: the NIC of ${ref.name} has no subnet`, { params: { operation: 'getVmModel', target: ref.name, what: 'subnet' } });
      const security = vm.securityProfile?.securityType;
      const model: VmModel = {
        id: `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${ref.name}`,
        name: vm.name ?? ref.name,
        resourceGroup: ref.resourceGroup,
        subscriptionId: ref.subscriptionId,
        location: vm.location ?? '',
        vmSize: vm.hardwareProfile?.vmSize ?? '',
        hyperVGeneration: d.hyperVGeneration === 'V2' ? 'V2' : 'V1',
        osDiskId: d.id ?? osDiskId,
        osDiskName: d.name ?? disk.name,
        subnetId,
        dataDisks: (vm.storageProfile?.dataDisks ?? []).map((x) => ({ lun: x.lun ?? 0, diskId: x.managedDisk?.id ?? '' })).filter((x) => x.diskId),
      };
      if (vm.zones?.[0]) model.zone = vm.zones[0];
      if (security === 'TrustedLaunch' || security === 'ConfidentialVM') model.securityType = security;
      if (d.sku?.name) model.osDiskSku = d.sku.name;
      if (vm.tags) model.tags = { ...vm.tags };
      return model;
    });
  }

  async getDisk(diskId: string): Promise<DiskInfo | null> {
    const ref = this.typed(diskId, 'Microsoft.Compute', 'disks', 'getDisk');
    try {
      return await this.h.bounded('getDisk', ref.name, this.h.requestTimeoutInMs, undefined, async (signal) => {
        this.h.counts.armReads++;
        const d = await this.h.clients.computeFor(ref.subscriptionId).disks.get(ref.resourceGroup, ref.name, { abortSignal: signal });
        const info: DiskInfo = { id: d.id ?? diskId, name: d.name ?? ref.name };
        if (d.managedBy) info.managedBy = d.managedBy;
        if (d.hyperVGeneration === 'V1' || d.hyperVGeneration === 'V2') info.hyperVGeneration = d.hyperVGeneration;
        if (d.tags) info.tags = { ...d.tags };
        return info;
      });
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async createSnapshot(spec: CreateSnapshotSpec, options?: LongOperationOptions): Promise<{ snapshotId: string }> {
    const op = 'createSnapshot';
    this.rg(this.subscriptionOf(spec.sourceDiskId, op), spec.resourceGroup, op);
    const name = check(op, 'snapshot name', spec.name, NAME);
    const location = check(op, 'location', spec.location, LOCATION);
    const source = this.typed(spec.sourceDiskId, 'Microsoft.Compute', 'disks', op);
    const tags = checkTags(op, spec.tags);
    return this.h.bounded(op, name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      this.h.counts.armWrites++;
      // a full copy (incremental=false): it stands on its own, whatever later happens to the source disk
      const poller = this.h.clients.computeFor(source.subscriptionId).snapshots.createOrUpdate(
        spec.resourceGroup,
        name,
        { location, incremental: false, creationData: { createOption: 'Copy', sourceResourceId: spec.sourceDiskId }, tags },
        this.lro(signal),
      );
      const snap = await poller.pollUntilDone({ abortSignal: signal });
      return { snapshotId: snap.id ?? `/subscriptions/${source.subscriptionId}/resourceGroups/${spec.resourceGroup}/providers/Microsoft.Compute/snapshots/${name}` };
    });
  }

  async createDiskFromSnapshot(spec: CreateDiskSpec, options?: LongOperationOptions): Promise<{ diskId: string }> {
    const op = 'createDiskFromSnapshot';
    const snap = this.typed(spec.sourceSnapshotId, 'Microsoft.Compute', 'snapshots', op);
    this.rg(snap.subscriptionId, spec.resourceGroup, op);
    const name = check(op, 'disk name', spec.name, NAME);
    const location = check(op, 'location', spec.location, LOCATION);
    if (spec.zone !== undefined) check(op, 'zone', spec.zone, /^[1-3]$/);
    if (spec.sku !== undefined && !SKUS.includes(spec.sku)) throw bad(op, 'disk SKU', spec.sku);
    if (spec.hyperVGeneration !== 'V1' && spec.hyperVGeneration !== 'V2') throw bad(op, 'Hyper-V generation', String(spec.hyperVGeneration));
    if (spec.securityType === 'ConfidentialVM') {
      // A confidential VM's OS disk is encrypted with a key sealed to that VM's vTPM (its VM guest
      // state); a copy cannot be opened on another VM, and Azure does not attach such a disk as a
      // data disk. Refuse before anything is created rather than fail halfway through the repair.
      throw refusal(op, 'repair-sim.confidentialVm', { vm: name });
    }
    if (spec.securityType === 'TrustedLaunch' && spec.hyperVGeneration !== 'V2') throw bad(op, 'Hyper-V generation for Trusted Launch', spec.hyperVGeneration);
    const tags = checkTags(op, spec.tags);
    return this.h.bounded(op, name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      this.h.counts.armWrites++;
      const poller = this.h.clients.computeFor(snap.subscriptionId).disks.createOrUpdate(
        spec.resourceGroup,
        name,
        {
          location,
          ...(spec.zone ? { zones: [spec.zone] } : {}),
          sku: { name: (spec.sku ?? 'Premium_LRS') as 'Premium_LRS' },
          tags,
          osType: 'Windows',
          hyperVGeneration: spec.hyperVGeneration,
          creationData: { createOption: 'Copy', sourceResourceId: spec.sourceSnapshotId },
          // a disk made from a Trusted Launch VM's snapshot must say so, or a Trusted Launch VM cannot boot from it
          ...(spec.securityType === 'TrustedLaunch' ? { securityProfile: { securityType: 'TrustedLaunch' } } : {}),
        },
        this.lro(signal),
      );
      const disk = await poller.pollUntilDone({ abortSignal: signal });
      return { diskId: disk.id ?? `/subscriptions/${snap.subscriptionId}/resourceGroups/${spec.resourceGroup}/providers/Microsoft.Compute/disks/${name}` };
    });
  }

  async createRescueVm(spec: RescueVmSpec, options?: LongOperationOptions): Promise<{ vmId: string; nicId: string; osDiskId: string }> {
    const op = 'createRescueVm';
    const subnet = SUBNET_ID.exec(spec.subnetId);
    if (!subnet) throw bad(op, 'subnet id', spec.subnetId);
    const subscriptionId = subnet[1];
    this.rg(subscriptionId, spec.resourceGroup, op);
    const name = check(op, 'VM name', spec.name, NAME);
    const nicName = check(op, 'NIC name', spec.nicName, NAME);
    const location = check(op, 'location', spec.location, LOCATION);
    const vmSize = check(op, 'VM size', spec.vmSize, VM_SIZE);
    if (spec.zone !== undefined) check(op, 'zone', spec.zone, /^[1-3]$/);
    if (spec.hyperVGeneration !== 'V1' && spec.hyperVGeneration !== 'V2') throw bad(op, 'Hyper-V generation', String(spec.hyperVGeneration));
    if (spec.securityType === 'ConfidentialVM') throw refusal(op, 'repair-sim.confidentialVm', { vm: name });
    const trusted = spec.securityType === 'TrustedLaunch';
    if (trusted && spec.hyperVGeneration !== 'V2') throw bad(op, 'Hyper-V generation for Trusted Launch', spec.hyperVGeneration);
    const tags = checkTags(op, spec.tags);
    const rgPath = `/subscriptions/${subscriptionId}/resourceGroups/${spec.resourceGroup}/providers`;
    const osDiskName = `${name}-os`;
    const vmRef: ParsedResourceId = { subscriptionId, resourceGroup: spec.resourceGroup, provider: 'Microsoft.Compute', type: 'virtualMachines', name };
    try {
      return await this.h.bounded(op, name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
        this.h.counts.armWrites++;
        // no public IP: the rescue VM is reached by Run Command only
        const nicPoller = await this.h.clients.networkFor(subscriptionId).networkInterfaces.beginCreateOrUpdate(
          spec.resourceGroup,
          nicName,
          { location, tags, ipConfigurations: [{ name: 'ipconfig1', primary: true, privateIPAllocationMethod: 'Dynamic', subnet: { id: spec.subnetId } }] },
          this.lro(signal),
        );
        const nic = await nicPoller.pollUntilDone({ abortSignal: signal });
        const nicId = nic.id ?? `${rgPath}/Microsoft.Network/networkInterfaces/${nicName}`;
        this.h.counts.armWrites++;
        const vmPoller = this.h.clients.computeFor(subscriptionId).virtualMachines.createOrUpdate(
          spec.resourceGroup,
          name,
          {
            location,
            ...(spec.zone ? { zones: [spec.zone] } : {}),
            tags,
            hardwareProfile: { vmSize },
            storageProfile: {
              // the image's generation matches the broken VM's (a Gen2 size cannot boot a Gen1 image and back)
              imageReference: { publisher: 'MicrosoftWindowsServer', offer: 'WindowsServer', sku: spec.hyperVGeneration === 'V2' ? '2022-datacenter-g2' : '2022-datacenter', version: 'latest' },
              osDisk: { name: osDiskName, createOption: 'FromImage', managedDisk: { storageAccountType: 'StandardSSD_LRS' }, deleteOption: 'Delete' },
              dataDisks: [],
            },
            osProfile: {
              computerName: computerNameFor(name),
              adminUsername: 'rdpdoctor',
              adminPassword: oneTimePassword(),
              windowsConfiguration: { provisionVMAgent: true, enableAutomaticUpdates: false },
            },
            networkProfile: { networkInterfaces: [{ id: nicId, primary: true, deleteOption: 'Delete' }] },
            ...(trusted ? { securityProfile: { securityType: 'TrustedLaunch', uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } } } : {}),
            diagnosticsProfile: { bootDiagnostics: { enabled: true } },
          },
          this.lro(signal),
        );
        const vm = await vmPoller.pollUntilDone({ abortSignal: signal });
        const osDiskId = vm.storageProfile?.osDisk?.managedDisk?.id ?? `${rgPath}/Microsoft.Compute/disks/${osDiskName}`;
        // Azure does not pass a VM's tags on to the OS disk it creates: tag it, so clean-up and recovery know it
        const osDisk = parseTypedId(osDiskId, 'Microsoft.Compute', 'disks');
        if (osDisk) {
          this.h.counts.armWrites++;
          await this.h.clients.computeFor(osDisk.subscriptionId).disks.update(osDisk.resourceGroup, osDisk.name, { tags }, this.lro(signal)).pollUntilDone({ abortSignal: signal });
        }
        await this.h.waitForAgent(vmRef, op, signal);
        return { vmId: vm.id ?? `${rgPath}/Microsoft.Compute/virtualMachines/${name}`, nicId, osDiskId };
      });
    } catch (e) {
      // the request carried a password: whatever failed goes on without the SDK error (its request holds the body)
      const d = toDomainError(e, { operation: op, target: name });
      throw new DomainError(d.code, d.message, { params: d.params, statusCode: d.statusCode, azureCode: d.azureCode });
    }
  }

  async attachDataDisk(vmId: string, diskId: string, lun: number, options?: LongOperationOptions): Promise<void> {
    const op = 'attachDataDisk';
    const ref = this.vm(vmId, op);
    this.typed(diskId, 'Microsoft.Compute', 'disks', op);
    if (!Number.isInteger(lun) || lun < 0 || lun > 63) throw bad(op, 'LUN', String(lun));
    await this.h.bounded(op, ref.name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      const vms = this.h.clients.computeFor(ref.subscriptionId).virtualMachines;
      this.h.counts.armReads++;
      const vm = await vms.get(ref.resourceGroup, ref.name, { abortSignal: signal });
      const disks = vm.storageProfile?.dataDisks ?? [];
      // attached already (a resumed repair): nothing to do
      if (disks.some((d) => d.managedDisk?.id?.toLowerCase() === diskId.toLowerCase() && !d.toBeDetached)) return;
      this.h.counts.armWrites++;
      const next = [...disks, { lun, createOption: 'Attach' as const, caching: 'None' as const, deleteOption: 'Detach' as const, managedDisk: { id: diskId } }];
      await vms.update(ref.resourceGroup, ref.name, { storageProfile: { dataDisks: next } }, this.lro(signal)).pollUntilDone({ abortSignal: signal });
    });
  }

  async detachDataDisk(vmId: string, diskId: string, options?: LongOperationOptions): Promise<void> {
    const op = 'detachDataDisk';
    const ref = this.vm(vmId, op);
    this.typed(diskId, 'Microsoft.Compute', 'disks', op);
    await this.h.bounded(op, ref.name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      const vms = this.h.clients.computeFor(ref.subscriptionId).virtualMachines;
      this.h.counts.armReads++;
      const vm = await vms.get(ref.resourceGroup, ref.name, { abortSignal: signal });
      const disks = vm.storageProfile?.dataDisks ?? [];
      if (!disks.some((d) => d.managedDisk?.id?.toLowerCase() === diskId.toLowerCase())) return;
      this.h.counts.armWrites++;
      // toBeDetached, as the SDK documents for a detach through an update
      const next = disks.map((d) => (d.managedDisk?.id?.toLowerCase() === diskId.toLowerCase() ? { ...d, toBeDetached: true } : d));
      await vms.update(ref.resourceGroup, ref.name, { storageProfile: { dataDisks: next } }, this.lro(signal)).pollUntilDone({ abortSignal: signal });
    });
  }

  async deallocateVm(vmId: string, options?: LongOperationOptions): Promise<void> {
    const ref = this.vm(vmId, 'deallocateVm');
    await this.h.bounded('deallocateVm', ref.name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
      this.h.counts.armWrites++;
      await this.h.clients.computeFor(ref.subscriptionId).virtualMachines.deallocate(ref.resourceGroup, ref.name, this.lro(signal)).pollUntilDone({ abortSignal: signal });
    });
  }

  async swapOsDisk(vmId: string, diskId: string, options?: LongOperationOptions): Promise<void> {
    const op = 'swapOsDisk';
    const ref = this.vm(vmId, op);
    const disk = this.typed(diskId, 'Microsoft.Compute', 'disks', op);
    try {
      await this.h.bounded(op, ref.name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
        this.h.counts.armWrites++;
        await this.h.clients
          .computeFor(ref.subscriptionId)
          .virtualMachines.update(ref.resourceGroup, ref.name, { storageProfile: { osDisk: { name: disk.name, createOption: 'Attach', managedDisk: { id: diskId } } } }, this.lro(signal))
          .pollUntilDone({ abortSignal: signal });
      });
    } catch (e) {
      if (!isDomainError(e)) throw e;
      const message = e.message;
      if (e.azureCode === 'PropertyChangeNotAllowed' && /HyperVisor|generation/i.test(message)) {
        throw refusal(op, 'repair-sim.swapGeneration', { vm: ref.name, disk: disk.name }, { statusCode: e.statusCode, azureCode: e.azureCode });
      }
      if (e.azureCode === 'OperationNotAllowed') throw refusal(op, 'repair-sim.swapRunning', { vm: ref.name }, { statusCode: e.statusCode, azureCode: e.azureCode });
      if (e.azureCode === 'ConflictingUserInput') throw refusal(op, 'repair-sim.diskInUse', { disk: disk.name }, { statusCode: e.statusCode, azureCode: e.azureCode });
      throw e;
    }
  }

  /** Refuses a VM the bot did not create (no `created-by: rdp-doctor` tag): clean-up never deletes anything else. */
  async deleteVm(vmId: string, options?: LongOperationOptions): Promise<void> {
    const ref = this.vm(vmId, 'deleteVm');
    const vms = () => this.h.clients.computeFor(ref.subscriptionId).virtualMachines;
    await this.deleteOurs('deleteVm', ref, options, {
      get: (signal) => vms().get(ref.resourceGroup, ref.name, { abortSignal: signal }),
      remove: (signal) => vms().delete(ref.resourceGroup, ref.name, this.lro(signal)).pollUntilDone({ abortSignal: signal }),
    });
  }

  async deleteNic(nicId: string, options?: LongOperationOptions): Promise<void> {
    const ref = this.typed(nicId, 'Microsoft.Network', 'networkInterfaces', 'deleteNic');
    const nics = () => this.h.clients.networkFor(ref.subscriptionId).networkInterfaces;
    await this.deleteOurs('deleteNic', ref, options, {
      get: (signal) => nics().get(ref.resourceGroup, ref.name, { abortSignal: signal }),
      remove: async (signal) => (await nics().beginDelete(ref.resourceGroup, ref.name, this.lro(signal))).pollUntilDone({ abortSignal: signal }),
    });
  }

  async deleteDisk(diskId: string, options?: LongOperationOptions): Promise<void> {
    const ref = this.typed(diskId, 'Microsoft.Compute', 'disks', 'deleteDisk');
    const disks = () => this.h.clients.computeFor(ref.subscriptionId).disks;
    await this.deleteOurs('deleteDisk', ref, options, {
      get: (signal) => disks().get(ref.resourceGroup, ref.name, { abortSignal: signal }),
      remove: (signal) => disks().delete(ref.resourceGroup, ref.name, this.lro(signal)).pollUntilDone({ abortSignal: signal }),
    });
  }

  async deleteSnapshot(snapshotId: string, options?: LongOperationOptions): Promise<void> {
    const ref = this.typed(snapshotId, 'Microsoft.Compute', 'snapshots', 'deleteSnapshot');
    const snaps = () => this.h.clients.computeFor(ref.subscriptionId).snapshots;
    await this.deleteOurs('deleteSnapshot', ref, options, {
      get: (signal) => snaps().get(ref.resourceGroup, ref.name, { abortSignal: signal }),
      remove: (signal) => snaps().delete(ref.resourceGroup, ref.name, this.lro(signal)).pollUntilDone({ abortSignal: signal }),
    });
  }

  async listTaggedResources(subscriptionId: string, resourceGroup: string, tagName: string, tagValue: string): Promise<TaggedResource[]> {
    const op = 'listTaggedResources';
    this.rg(subscriptionId, resourceGroup, op);
    check(op, 'tag name', tagName, TAG_NAME);
    check(op, 'tag value', tagValue, TAG_VALUE);
    // every value below matched a pattern without quotes or backslashes: nothing can leave its string literal
    const query = [
      'Resources',
      `| where subscriptionId =~ '${subscriptionId}'`,
      `| where resourceGroup =~ '${resourceGroup}'`,
      `| where tags['${tagName}'] =~ '${tagValue}'`,
      '| project id, name, type, tags',
    ].join('\n');
    return this.h.bounded(op, resourceGroup, this.h.requestTimeoutInMs, undefined, async (signal) => {
      this.h.counts.armReads++;
      const rows = await this.h.graphResources(subscriptionId, query, signal);
      if (!Array.isArray(rows)) return [];
      return rows
        .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
        .map((r) => ({
          id: String(r.id ?? ''),
          type: String(r.type ?? ''),
          name: String(r.name ?? ''),
          tags: r.tags && typeof r.tags === 'object' ? Object.fromEntries(Object.entries(r.tags as Record<string, unknown>).map(([k, v]) => [k, String(v)])) : {},
        }))
        .filter((r) => parseResourceId(r.id) !== null);
    });
  }

  private subscriptionOf(id: string, operation: string): string {
    const ref = parseResourceId(id);
    if (!ref) throw bad(operation, 'resource id', id);
    return ref.subscriptionId;
  }

  /**
   * Deletes a resource only when the bot created it (its `created-by` tag), whatever its kind: read
   * it, refuse anything else, delete. A delete that finds nothing is done (idempotent clean-up): 404
   * on the read or the delete is success.
   */
  private async deleteOurs(
    operation: string,
    ref: ParsedResourceId,
    options: LongOperationOptions | undefined,
    calls: { get: (signal: AbortSignal) => Promise<{ tags?: Record<string, string> }>; remove: (signal: AbortSignal) => Promise<unknown> },
  ): Promise<void> {
    try {
      await this.h.bounded(operation, ref.name, options?.timeoutInMs ?? this.h.operationTimeoutInMs, options?.abortSignal, async (signal) => {
        this.h.counts.armReads++;
        const found = await calls.get(signal);
        if (found.tags?.['created-by'] !== REPAIR_CREATED_BY) throw refusal(operation, 'repair-sim.notOurs', { resource: ref.name });
        this.h.counts.armWrites++;
        await calls.remove(signal);
      });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }
}
