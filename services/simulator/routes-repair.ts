import { createHash } from 'node:crypto';
import { REPAIR_DRIVE, REPAIR_LUN } from '../runbook/repair-plan';
import { armError, osDiskIdOf, osDiskNameOf, vmIdOf, vmResourceOf, type Json, type JsonObject } from './arm-shapes';
import type { Outcome } from './async-operations';
import type { FleetVm, WindowsState } from './fleet';
import { type RepairFaultOp } from './fleet-repair';
import type { OperationKind } from './operation-log';
import { accepted, eq, logOp, notFound, ROUTES, startLro, subscriptionMismatch, type Route, type RouteContext, type SimResponse } from './routes';
import { parseRunCommandInput, projectScriptId, runCommandStatuses, SCRIPT_TIMEOUT_ERROR } from './run-command';

/**
 * Issue #15: what an offline repair through a rescue VM does in Azure, served over the same REST
 * API the SDK calls (docs/fleet-format.md "Offline repair"). Managed disks (every fleet VM's OS
 * disk is one, `managedBy` its VM), snapshots, disks made from snapshots, NICs, rescue VMs (they
 * join the fleet's VMs, so the ordinary VM routes serve them), data-disk attach/detach,
 * deallocate and the OS disk swap, each with Azure's refusals, an injectable fault, and its own
 * kind in the operation log.
 *
 * The Windows state belongs to the disk: a snapshot and a disk made from it carry a deep copy of
 * the source disk's `windows` state; a rescue VM's Run Command of an offline script works on the
 * copy attached at REPAIR_LUN (drive REPAIR_DRIVE); a swap makes the VM run with its new disk's
 * state, and the old disk keeps the old one.
 *
 * These routes are tried before routes.ts's (server.ts); a request they do not own (a fleet VM's
 * NIC, any other Run Command, any other Resource Graph query) goes on to the route it always had.
 */

interface SimDisk {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  zone?: string;
  sku: string;
  hyperVGeneration: 'V1' | 'V2';
  securityType?: string;
  osType: string;
  tags: Record<string, string>;
  /** the VM it is attached to (OS or data disk) */
  managedBy?: string;
  /** the disk's Windows; for a disk that is some VM's OS disk the VM's `windows` is the truth */
  windows?: WindowsState;
  /** the fleet VM whose disk this is, or whose disk it was copied from (faults are read from it) */
  origin?: FleetVm;
  createOption: string;
  sourceResourceId?: string;
  timeCreated: string;
}

interface SimSnapshot {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  sourceDiskId: string;
  hyperVGeneration: 'V1' | 'V2';
  securityType?: string;
  osType: string;
  tags: Record<string, string>;
  windows?: WindowsState;
  origin?: FleetVm;
  incremental: boolean;
  timeCreated: string;
}

interface SimNic {
  id: string;
  name: string;
  resourceGroup: string;
  location: string;
  subnetId: string;
  hasPublicIp: boolean;
  tags: Record<string, string>;
  vmId?: string;
  origin?: FleetVm;
}

interface RescueVm {
  vm: FleetVm;
  nicId: string;
  nicDeleteOption: string;
  osDiskId: string;
  osDiskDeleteOption: string;
  origin?: FleetVm;
}

interface World {
  disks: Map<string, SimDisk>;
  snapshots: Map<string, SimSnapshot>;
  nics: Map<string, SimNic>;
  rescue: Map<string, RescueVm>;
}

const worlds = new WeakMap<object, World>();
function world(ctx: RouteContext): World {
  let w = worlds.get(ctx.fleet);
  if (!w) {
    w = { disks: new Map(), snapshots: new Map(), nics: new Map(), rescue: new Map() };
    worlds.set(ctx.fleet, w);
  }
  return w;
}

const key = (id: string): string => id.toLowerCase();
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const SUB = '^/subscriptions/([^/]+)';
const RG = '/resourceGroups/([^/]+)';
const re = (s: string): RegExp => new RegExp(`${s}/?$`, 'i');
const DISK = `${SUB}${RG}/providers/Microsoft\\.Compute/disks/([^/]+)`;
const SNAPSHOT = `${SUB}${RG}/providers/Microsoft\\.Compute/snapshots/([^/]+)`;
const NIC = `${SUB}${RG}/providers/Microsoft\\.Network/networkInterfaces/([^/]+)`;
const VM = `${SUB}${RG}/providers/Microsoft\\.Compute/virtualMachines/([^/]+)`;

const rgPath = (ctx: RouteContext, rg: string): string => `/subscriptions/${ctx.fleet.subscriptionId}/resourceGroups/${rg}/providers`;
const subnetsOf = (ctx: RouteContext): string[] =>
  [...new Set(ctx.fleet.vms.map((v) => v.resourceGroup))].map((rg) => `${rgPath(ctx, rg)}/Microsoft.Network/virtualNetworks/${rg}-vnet/subnets/default`);

/** The request as routes.ts would have served it (for requests these routes do not own). */
function passOn(ctx: RouteContext): SimResponse {
  for (const route of ROUTES) {
    if (route.method !== ctx.method) continue;
    const m = route.pattern.exec(ctx.path);
    if (!m) continue;
    return route.handle({ ...ctx, params: m.slice(1).map((s) => decodeURIComponent(s)) });
  }
  return { status: 404, body: armError('InvalidResourceType', `The resource type could not be found in the namespace for path '${ctx.path}'.`) };
}

function fleetVmByName(ctx: RouteContext, rg: string, name: string): FleetVm | undefined {
  return ctx.fleet.vms.find((v) => eq(v.resourceGroup, rg) && eq(v.name, name));
}

function fleetVmById(ctx: RouteContext, id: string | undefined): FleetVm | undefined {
  return id ? ctx.fleet.vms.find((v) => eq(vmIdOf(ctx.fleet, v), id)) : undefined;
}

/** The disk with this id: one the repair made or moved, or a fleet VM's OS disk (made a disk resource on first use). */
function diskById(ctx: RouteContext, id: string): SimDisk | undefined {
  const w = world(ctx);
  const known = w.disks.get(key(id));
  if (known) return known;
  const vm = ctx.fleet.vms.find((v) => eq(osDiskIdOf(ctx.fleet, v), id) && !w.rescue.has(key(vmIdOf(ctx.fleet, v))));
  if (!vm) return undefined;
  const disk: SimDisk = {
    id: osDiskIdOf(ctx.fleet, vm),
    name: osDiskNameOf(vm),
    resourceGroup: vm.resourceGroup,
    location: vm.location,
    zone: vm.zone,
    sku: 'Premium_LRS',
    hyperVGeneration: vm.hyperVGeneration ?? 'V1',
    securityType: vm.securityType,
    osType: vm.osType,
    tags: {},
    managedBy: vmIdOf(ctx.fleet, vm),
    origin: vm,
    createOption: 'FromImage',
    timeCreated: '2024-01-01T00:00:00+00:00',
  };
  w.disks.set(key(disk.id), disk);
  return disk;
}

/** The fleet VM that runs from this disk, if it is some VM's OS disk now. */
function osDiskOwner(ctx: RouteContext, disk: SimDisk): FleetVm | undefined {
  const vm = fleetVmById(ctx, disk.managedBy);
  return vm && eq(osDiskIdOf(ctx.fleet, vm), disk.id) ? vm : undefined;
}

function windowsOf(ctx: RouteContext, disk: SimDisk): WindowsState | undefined {
  const owner = osDiskOwner(ctx, disk);
  return owner ? owner.windows : disk.windows;
}

// ---------------------------------------------------------------------------------------------
// Faults: `faults.repair.<op>: 'fail'` on the fleet VM being repaired. Each fails as Azure's
// long-running operations fail: accepted, then the operation ends Failed with the code below.
// ---------------------------------------------------------------------------------------------
const FAULT_ERRORS: Record<RepairFaultOp, { code: string; message: string }> = {
  snapshot: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  createDisk: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  createVm: { code: 'AllocationFailed', message: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region. Read more about improving likelihood of allocation success at http://aka.ms/allocation-guidance' },
  attach: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  runCommand: { code: 'VMExtensionProvisioningError', message: "VM has reported a failure when processing extension 'RunCommandWindows'. Error message: 'The script execution failed.'" },
  detach: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  deallocate: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  swap: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  start: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
  delete: { code: 'InternalExecutionError', message: 'An internal execution error occurred. Please retry later.' },
};

function faulted(origin: FleetVm | undefined, op: RepairFaultOp): boolean {
  return origin?.faults.repair?.[op] === 'fail';
}

/** The fault's answer: logged as carried out and failed, then the operation fails. */
function failWith(ctx: RouteContext, vm: FleetVm | null, kind: OperationKind, op: RepairFaultOp, location: string, body?: Json, status = 202): SimResponse {
  ctx.log.add({ method: ctx.method, path: ctx.path, vm: vm ? vm.name : null, kind, scriptId: null, engine: null, failed: true }, ctx.now());
  const lro = ctx.ops.start({ provider: ctx.path.includes('/Microsoft.Network/') ? 'Microsoft.Network' : 'Microsoft.Compute', location, vmName: vm?.name ?? '', kind, latencyMs: ctx.armLatencyMs, finish: () => ({ error: FAULT_ERRORS[op] }) });
  return accepted(ctx, lro, body, status);
}

function lro(ctx: RouteContext, location: string, vmName: string, kind: string, finish: () => Outcome): ReturnType<typeof startLro> {
  return ctx.ops.start({ provider: ctx.path.includes('/Microsoft.Network/') ? 'Microsoft.Network' : 'Microsoft.Compute', location, vmName, kind, latencyMs: ctx.armLatencyMs, finish });
}

const conflict = (code: string, message: string, status = 409): SimResponse => ({ status, body: armError(code, message) });
const bad = (code: string, message: string): SimResponse => ({ status: 400, body: armError(code, message) });

// ---------------------------------------------------------------------------------------------
// Response shapes
// ---------------------------------------------------------------------------------------------
function diskBody(_ctx: RouteContext, d: SimDisk, provisioningState = 'Succeeded'): JsonObject {
  const properties: JsonObject = {
    osType: d.osType,
    hyperVGeneration: d.hyperVGeneration,
    creationData: { createOption: d.createOption, ...(d.sourceResourceId ? { sourceResourceId: d.sourceResourceId } : {}) },
    diskSizeGB: 127,
    diskState: d.managedBy ? 'Attached' : 'Unattached',
    encryption: { type: 'EncryptionAtRestWithPlatformKey' },
    timeCreated: d.timeCreated,
    provisioningState,
  };
  if (d.securityType) properties.securityProfile = { securityType: d.securityType };
  return {
    name: d.name,
    id: d.id,
    type: 'Microsoft.Compute/disks',
    location: d.location,
    ...(d.zone ? { zones: [d.zone] } : {}),
    ...(d.managedBy ? { managedBy: d.managedBy } : {}),
    sku: { name: d.sku, tier: d.sku.startsWith('Premium') ? 'Premium' : 'Standard' },
    tags: { ...d.tags },
    properties,
  };
}

function snapshotBody(s: SimSnapshot, provisioningState = 'Succeeded'): JsonObject {
  return {
    name: s.name,
    id: s.id,
    type: 'Microsoft.Compute/snapshots',
    location: s.location,
    sku: { name: 'Standard_LRS', tier: 'Standard' },
    tags: { ...s.tags },
    properties: {
      osType: s.osType,
      hyperVGeneration: s.hyperVGeneration,
      creationData: { createOption: 'Copy', sourceResourceId: s.sourceDiskId },
      diskSizeGB: 127,
      incremental: s.incremental,
      ...(s.securityType ? { securityProfile: { securityType: s.securityType } } : {}),
      timeCreated: s.timeCreated,
      provisioningState,
    },
  };
}

function nicBody(n: SimNic, provisioningState = 'Succeeded'): JsonObject {
  return {
    name: n.name,
    id: n.id,
    type: 'Microsoft.Network/networkInterfaces',
    location: n.location,
    tags: { ...n.tags },
    properties: {
      provisioningState,
      ipConfigurations: [
        {
          name: 'ipconfig1',
          id: `${n.id}/ipConfigurations/ipconfig1`,
          properties: { primary: true, privateIPAddress: '10.0.0.9', privateIPAddressVersion: 'IPv4', privateIPAllocationMethod: 'Dynamic', provisioningState, subnet: { id: n.subnetId } },
        },
      ],
      primary: true,
      ...(n.vmId ? { virtualMachine: { id: n.vmId } } : {}),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------------
function putSnapshot(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const b = (ctx.body ?? {}) as { location?: unknown; tags?: Record<string, string>; properties?: { incremental?: unknown; creationData?: { createOption?: unknown; sourceResourceId?: unknown } } };
  const source = b.properties?.creationData?.sourceResourceId;
  if (typeof b.location !== 'string' || typeof source !== 'string' || b.properties?.creationData?.createOption !== 'Copy') {
    return bad('InvalidParameter', "A snapshot needs 'location' and 'properties.creationData' with createOption 'Copy' and a sourceResourceId.");
  }
  const disk = diskById(ctx, source.startsWith('/') ? source : `/${source}`);
  if (!disk) return { status: 404, body: armError('NotFound', `Source disk '${source}' was not found.`) };
  if (disk.origin) {
    const fault = ctx.faultFor(disk.origin);
    if (fault) return fault;
  }
  const id = `${rgPath(ctx, rg)}/Microsoft.Compute/snapshots/${name}`;
  const w = world(ctx);
  const existing = w.snapshots.get(key(id));
  if (existing) return { status: 200, body: snapshotBody(existing) };
  if (faulted(disk.origin, 'snapshot')) return failWith(ctx, disk.origin ?? null, 'snapshot', 'snapshot', b.location);
  logOp(ctx, disk.origin ?? null, 'snapshot');
  const state = windowsOf(ctx, disk);
  const snap: SimSnapshot = {
    id,
    name,
    resourceGroup: rg,
    location: b.location,
    sourceDiskId: disk.id,
    hyperVGeneration: disk.hyperVGeneration,
    securityType: disk.securityType,
    osType: disk.osType,
    tags: { ...(b.tags ?? {}) },
    // the snapshot holds the disk as it is now: a deep copy, never shared with the VM
    windows: state ? clone(state) : undefined,
    origin: disk.origin,
    incremental: b.properties?.incremental === true,
    timeCreated: ctx.now().toISOString(),
  };
  w.snapshots.set(key(id), snap);
  const op = lro(ctx, snap.location, disk.origin?.name ?? '', 'snapshot', () => ({ result: snapshotBody(snap) }));
  return accepted(ctx, op, snapshotBody(snap, 'Updating'));
}

function deleteSnapshot(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const w = world(ctx);
  const id = key(`${rgPath(ctx, rg)}/Microsoft.Compute/snapshots/${name}`);
  const snap = w.snapshots.get(id);
  if (!snap) return { status: 204 };
  if (faulted(snap.origin, 'delete')) return failWith(ctx, snap.origin ?? null, 'snapshotDelete', 'delete', snap.location);
  logOp(ctx, snap.origin ?? null, 'snapshotDelete');
  w.snapshots.delete(id);
  return accepted(ctx, lro(ctx, snap.location, snap.origin?.name ?? '', 'snapshotDelete', () => ({})));
}

// ---------------------------------------------------------------------------------------------
// Disks
// ---------------------------------------------------------------------------------------------
function putDisk(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const b = (ctx.body ?? {}) as {
    location?: unknown;
    zones?: unknown;
    sku?: { name?: unknown };
    tags?: Record<string, string>;
    properties?: { hyperVGeneration?: unknown; osType?: unknown; securityProfile?: { securityType?: unknown }; creationData?: { createOption?: unknown; sourceResourceId?: unknown } };
  };
  const id = `${rgPath(ctx, rg)}/Microsoft.Compute/disks/${name}`;
  const w = world(ctx);
  const existing = diskById(ctx, id);
  if (existing) {
    // createOrUpdate of a disk that exists: its tags may change, its source may not
    const src = b.properties?.creationData?.sourceResourceId;
    if (typeof src === 'string' && existing.sourceResourceId && !eq(src, existing.sourceResourceId)) {
      return conflict('PropertyChangeNotAllowed', "Changing property 'sourceResourceId' is not allowed.");
    }
    return { status: 200, body: diskBody(ctx, existing) };
  }
  const source = b.properties?.creationData?.sourceResourceId;
  if (typeof b.location !== 'string' || typeof source !== 'string' || b.properties?.creationData?.createOption !== 'Copy') {
    return bad('InvalidParameter', "A disk needs 'location' and 'properties.creationData' with createOption 'Copy' and a sourceResourceId (the simulator creates disks from snapshots only).");
  }
  const snap = w.snapshots.get(key(source));
  if (!snap) return { status: 404, body: armError('NotFound', `Source snapshot '${source}' was not found.`) };
  const gen = b.properties?.hyperVGeneration ?? snap.hyperVGeneration;
  if (gen !== 'V1' && gen !== 'V2') return bad('InvalidParameter', `The value '${String(gen)}' of parameter 'hyperVGeneration' is not valid.`);
  const security = b.properties?.securityProfile?.securityType;
  if (security !== undefined && security !== 'TrustedLaunch') {
    // confidential disks need a key and a VM guest state blob the simulator does not model
    return bad('InvalidParameter', `Disk security type '${String(security)}' is not supported by the simulator.`);
  }
  if (security === 'TrustedLaunch' && gen !== 'V2') return bad('InvalidParameter', "Security type 'TrustedLaunch' requires a disk of Hyper-V generation 'V2'.");
  const zone = Array.isArray(b.zones) && typeof b.zones[0] === 'string' ? b.zones[0] : undefined;
  if (faulted(snap.origin, 'createDisk')) return failWith(ctx, snap.origin ?? null, 'diskCreate', 'createDisk', b.location);
  logOp(ctx, snap.origin ?? null, 'diskCreate');
  const disk: SimDisk = {
    id,
    name,
    resourceGroup: rg,
    location: b.location,
    zone,
    sku: typeof b.sku?.name === 'string' ? b.sku.name : 'Premium_LRS',
    hyperVGeneration: gen,
    securityType: security,
    osType: typeof b.properties?.osType === 'string' ? b.properties.osType : snap.osType,
    tags: { ...(b.tags ?? {}) },
    windows: snap.windows ? clone(snap.windows) : undefined,
    origin: snap.origin,
    createOption: 'Copy',
    sourceResourceId: snap.id,
    timeCreated: ctx.now().toISOString(),
  };
  w.disks.set(key(id), disk);
  const op = lro(ctx, disk.location, snap.origin?.name ?? '', 'diskCreate', () => ({ result: diskBody(ctx, disk) }));
  return accepted(ctx, op, diskBody(ctx, disk, 'Updating'));
}

function getDisk(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const disk = diskById(ctx, `${rgPath(ctx, rg)}/Microsoft.Compute/disks/${name}`);
  if (!disk) return notFound('Microsoft.Compute/disks', name, rg);
  if (disk.origin) {
    const fault = ctx.faultFor(disk.origin);
    if (fault) return fault;
  }
  logOp(ctx, disk.origin ?? null, 'read');
  return { status: 200, body: diskBody(ctx, disk) };
}

/** PATCH a disk: its tags (what the simulator models of a disk update). */
function patchDisk(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const disk = diskById(ctx, `${rgPath(ctx, rg)}/Microsoft.Compute/disks/${name}`);
  if (!disk) return notFound('Microsoft.Compute/disks', name, rg);
  const tags = ((ctx.body ?? {}) as { tags?: unknown }).tags;
  if (tags && typeof tags === 'object') disk.tags = Object.fromEntries(Object.entries(tags as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
  logOp(ctx, disk.origin ?? null, 'diskUpdate');
  return accepted(ctx, lro(ctx, disk.location, '', 'diskUpdate', () => ({ result: diskBody(ctx, disk) })), diskBody(ctx, disk), 200);
}

function deleteDisk(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const disk = diskById(ctx, `${rgPath(ctx, rg)}/Microsoft.Compute/disks/${name}`);
  if (!disk) return { status: 204 };
  if (disk.managedBy) return conflict('OperationNotAllowed', `Disk ${disk.name} is attached to VM ${disk.managedBy}.`);
  if (faulted(disk.origin, 'delete')) return failWith(ctx, disk.origin ?? null, 'diskDelete', 'delete', disk.location);
  logOp(ctx, disk.origin ?? null, 'diskDelete');
  world(ctx).disks.delete(key(disk.id));
  return accepted(ctx, lro(ctx, disk.location, disk.origin?.name ?? '', 'diskDelete', () => ({})));
}

// ---------------------------------------------------------------------------------------------
// NICs
// ---------------------------------------------------------------------------------------------
function putNic(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const id = `${rgPath(ctx, rg)}/Microsoft.Network/networkInterfaces/${name}`;
  const w = world(ctx);
  const existing = w.nics.get(key(id));
  if (existing) return { status: 200, body: nicBody(existing) };
  if (ctx.fleet.vms.some((v) => eq(v.resourceGroup, rg) && eq(`${v.name}-nic`, name) && !w.rescue.has(key(vmIdOf(ctx.fleet, v))))) {
    return conflict('InUseNetworkInterfaceCannotBeModified', `Network interface ${id} belongs to a VM the simulator's fleet file describes; it cannot be replaced.`);
  }
  const b = (ctx.body ?? {}) as { location?: unknown; tags?: Record<string, string>; properties?: { ipConfigurations?: Array<{ properties?: { subnet?: { id?: unknown }; publicIPAddress?: unknown } }> } };
  const config = b.properties?.ipConfigurations?.[0]?.properties;
  const subnetId = config?.subnet?.id;
  if (typeof b.location !== 'string' || typeof subnetId !== 'string') return bad('InvalidRequestFormat', 'Cannot parse the request: a NIC needs a location and an IP configuration with a subnet.');
  if (!subnetsOf(ctx).some((s) => eq(s, subnetId))) {
    return bad('InvalidResourceReference', `Resource ${subnetId} referenced by resource ${id} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`);
  }
  const nic: SimNic = { id, name, resourceGroup: rg, location: b.location, subnetId, hasPublicIp: !!config?.publicIPAddress, tags: { ...(b.tags ?? {}) } };
  logOp(ctx, null, 'nicCreate');
  w.nics.set(key(id), nic);
  const op = lro(ctx, nic.location, '', 'nicCreate', () => ({}));
  return accepted(ctx, op, nicBody(nic, 'Updating'), 201);
}

function getNic(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const nic = world(ctx).nics.get(key(`${rgPath(ctx, rg)}/Microsoft.Network/networkInterfaces/${name}`));
  if (!nic) return passOn(ctx);
  logOp(ctx, null, 'read');
  return { status: 200, body: nicBody(nic) };
}

function deleteNic(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const w = world(ctx);
  const nic = w.nics.get(key(`${rgPath(ctx, rg)}/Microsoft.Network/networkInterfaces/${name}`));
  if (!nic) {
    if (ctx.fleet.vms.some((v) => eq(v.resourceGroup, rg) && eq(`${v.name}-nic`, name))) {
      return bad('NicInUse', `Network Interface ${name} is used by existing resource. In order to delete the network interface, it must be dissociated from the resource.`);
    }
    return { status: 204 };
  }
  if (nic.vmId) return bad('NicInUse', `Network Interface ${nic.id} is used by existing resource ${nic.vmId}. In order to delete the network interface, it must be dissociated from the resource.`);
  if (faulted(nic.origin, 'delete')) return failWith(ctx, nic.origin ?? null, 'nicDelete', 'delete', nic.location);
  logOp(ctx, nic.origin ?? null, 'nicDelete');
  w.nics.delete(key(nic.id));
  return accepted(ctx, lro(ctx, nic.location, '', 'nicDelete', () => ({})));
}

// ---------------------------------------------------------------------------------------------
// Rescue VMs
// ---------------------------------------------------------------------------------------------
/** Azure's rule for a Windows admin password: 8-123 characters (12 from the portal), three of four character classes. */
function passwordOk(p: unknown): boolean {
  if (typeof p !== 'string' || p.length < 12 || p.length > 123) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  return classes >= 3;
}

/** Gen2 marketplace images carry it in the SKU (`-g2`, `-gen2`, the Azure Edition SKUs are Gen2 only). */
const imageGeneration = (sku: string): 'V1' | 'V2' => (/(-g2|gen2|azure-edition)/i.test(sku) ? 'V2' : 'V1');

/** The repair a new VM belongs to: the fleet VM whose copied disk carries the same incident tag. */
function originByIncident(ctx: RouteContext, tags: Record<string, string>): FleetVm | undefined {
  const incident = tags['rdp-doctor-incident'];
  if (!incident) return undefined;
  for (const d of world(ctx).disks.values()) if (d.origin && d.createOption === 'Copy' && d.tags['rdp-doctor-incident'] === incident) return d.origin;
  return undefined;
}

function putVm(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const w = world(ctx);
  const current = fleetVmByName(ctx, rg, name);
  if (current) {
    const rescue = w.rescue.get(key(vmIdOf(ctx.fleet, current)));
    // a resumed repair asks again: the rescue VM is there already
    if (rescue) return { status: 200, body: vmResourceOf(ctx.fleet, current, false) };
    return conflict('PropertyChangeNotAllowed', "Changing property 'osProfile' is not allowed. (The simulator replaces no VM of its fleet file.)");
  }
  type Body = {
    location?: unknown;
    zones?: unknown;
    tags?: Record<string, string>;
    properties?: {
      hardwareProfile?: { vmSize?: unknown };
      storageProfile?: { imageReference?: { sku?: unknown }; osDisk?: { name?: unknown; createOption?: unknown; deleteOption?: unknown } };
      osProfile?: { computerName?: unknown; adminUsername?: unknown; adminPassword?: unknown };
      networkProfile?: { networkInterfaces?: Array<{ id?: unknown; properties?: { deleteOption?: unknown } }> };
      securityProfile?: { securityType?: unknown; uefiSettings?: { secureBootEnabled?: unknown; vTpmEnabled?: unknown } };
    };
  };
  const b = (ctx.body ?? {}) as Body;
  const p = b.properties ?? {};
  if (typeof b.location !== 'string' || typeof p.hardwareProfile?.vmSize !== 'string') return bad('InvalidParameter', 'A VM needs a location and hardwareProfile.vmSize.');
  const sku = p.storageProfile?.imageReference?.sku;
  if (typeof sku !== 'string' || p.storageProfile?.osDisk?.createOption !== 'FromImage') return bad('InvalidParameter', 'The simulator creates VMs from a marketplace image (storageProfile.imageReference, osDisk.createOption FromImage) only.');
  const computerName = p.osProfile?.computerName;
  if (typeof computerName !== 'string' || !/^[A-Za-z0-9-]{1,15}$/.test(computerName) || /^[0-9]+$/.test(computerName)) {
    return bad('InvalidParameter', "Windows computer name cannot be more than 15 characters long, be entirely numeric, or contain the following characters: ` ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \\ | ; : . ' \" , < > / ?.");
  }
  if (typeof p.osProfile?.adminUsername !== 'string' || !passwordOk(p.osProfile?.adminPassword)) {
    // the password itself is neither kept nor logged nor echoed
    return bad('InvalidParameter', 'The supplied password must be between 8-123 characters long and must satisfy at least 3 of password complexity requirements from the following: 1) Contains an uppercase character 2) Contains a lowercase character 3) Contains a numeric digit 4) Contains a special character 5) Control characters are not allowed');
  }
  const nicRef = p.networkProfile?.networkInterfaces?.[0];
  const nicId = typeof nicRef?.id === 'string' ? nicRef.id : '';
  const nic = w.nics.get(key(nicId));
  const vmId = `${rgPath(ctx, rg)}/Microsoft.Compute/virtualMachines/${name}`;
  if (!nic) return bad('InvalidResourceReference', `Resource ${nicId} referenced by resource ${vmId} was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.`);
  if (nic.vmId) return conflict('NicInUse', `Network Interface ${nic.id} is used by existing resource ${nic.vmId}.`);
  const gen = imageGeneration(sku);
  const security = p.securityProfile?.securityType;
  if (security !== undefined && security !== 'TrustedLaunch') return bad('InvalidParameter', `Security type '${String(security)}' is not supported by the simulator.`);
  if (security === 'TrustedLaunch' && gen !== 'V2') return bad('InvalidParameter', "Trusted Launch requires a Generation 2 image: use a Gen2 image with securityType 'TrustedLaunch'.");
  const tags = { ...(b.tags ?? {}) };
  const origin = originByIncident(ctx, tags);
  if (faulted(origin, 'createVm')) return failWith(ctx, null, 'vmCreate', 'createVm', b.location);
  const zone = Array.isArray(b.zones) && typeof b.zones[0] === 'string' ? (b.zones[0] as '1' | '2' | '3') : undefined;
  const osDiskName = typeof p.storageProfile?.osDisk?.name === 'string' ? p.storageProfile.osDisk.name : `${name}_OsDisk_1`;
  const vm: FleetVm = {
    name,
    resourceGroup: rg,
    location: b.location,
    osType: 'Windows',
    powerState: 'starting',
    agentStatus: 'NotReady',
    nsgRules: [],
    publicIp: nic.hasPublicIp ? '203.0.113.99' : null,
    tags,
    faults: { runCommand: 'none', arm: 'none' },
    vmSize: p.hardwareProfile.vmSize,
    zone,
    hyperVGeneration: gen,
    securityType: security === 'TrustedLaunch' ? 'TrustedLaunch' : undefined,
    osDiskName,
    nicName: nic.name,
    dataDisks: [],
  };
  ctx.fleet.vms.push(vm);
  const osDisk: SimDisk = {
    id: `${rgPath(ctx, rg)}/Microsoft.Compute/disks/${osDiskName}`,
    name: osDiskName,
    resourceGroup: rg,
    location: b.location,
    zone,
    sku: 'Premium_LRS',
    hyperVGeneration: gen,
    securityType: vm.securityType,
    osType: 'Windows',
    // Azure gives the OS disk it creates none of the VM's tags (the gateway tags it afterwards)
    tags: {},
    managedBy: vmId,
    origin,
    createOption: 'FromImage',
    timeCreated: ctx.now().toISOString(),
  };
  w.disks.set(key(osDisk.id), osDisk);
  nic.vmId = vmId;
  nic.origin = origin;
  w.rescue.set(key(vmId), {
    vm,
    nicId: nic.id,
    nicDeleteOption: nicRef?.properties?.deleteOption === 'Delete' ? 'Delete' : 'Detach',
    osDiskId: osDisk.id,
    osDiskDeleteOption: p.storageProfile?.osDisk?.deleteOption === 'Delete' ? 'Delete' : 'Detach',
    origin,
  });
  logOp(ctx, vm, 'vmCreate');
  const op = lro(ctx, vm.location, vm.name, 'vmCreate', () => {
    vm.powerState = 'running';
    // a fresh marketplace image boots and its agent reports
    ctx.later(() => {
      if (vm.powerState === 'running') vm.agentStatus = 'Ready';
    }, ctx.agentReadyDelayMs);
    return {};
  });
  const body = vmResourceOf(ctx.fleet, vm, false);
  (body.properties as JsonObject).provisioningState = 'Creating';
  return accepted(ctx, op, body, 201);
}

function deleteVm(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const vm = fleetVmByName(ctx, rg, name);
  if (!vm) return { status: 204 };
  const w = world(ctx);
  const vmId = vmIdOf(ctx.fleet, vm);
  const rescue = w.rescue.get(key(vmId));
  if (!rescue) return conflict('OperationNotAllowed', `The simulator deletes only VMs it created (${vm.name} is in the fleet file).`);
  if (faulted(rescue.origin, 'delete')) return failWith(ctx, vm, 'vmDelete', 'delete', vm.location);
  logOp(ctx, vm, 'vmDelete');
  // what goes with the VM is what its deleteOptions say; data disks are only detached
  for (const d of vm.dataDisks ?? []) {
    const disk = w.disks.get(key(d.id));
    if (disk) disk.managedBy = undefined;
  }
  const osDisk = w.disks.get(key(rescue.osDiskId));
  if (osDisk) {
    if (rescue.osDiskDeleteOption === 'Delete') w.disks.delete(key(osDisk.id));
    else osDisk.managedBy = undefined;
  }
  const nic = w.nics.get(key(rescue.nicId));
  if (nic) {
    if (rescue.nicDeleteOption === 'Delete') w.nics.delete(key(nic.id));
    else nic.vmId = undefined;
  }
  w.rescue.delete(key(vmId));
  ctx.fleet.vms.splice(ctx.fleet.vms.indexOf(vm), 1);
  return accepted(ctx, lro(ctx, vm.location, vm.name, 'vmDelete', () => ({})));
}

// ---------------------------------------------------------------------------------------------
// PATCH a VM: data disks (attach, detach with toBeDetached or by leaving the list) and the OS disk swap
// ---------------------------------------------------------------------------------------------
interface DataDiskIn {
  lun?: unknown;
  name?: unknown;
  createOption?: unknown;
  toBeDetached?: unknown;
  managedDisk?: { id?: unknown };
}

function patchVm(ctx: RouteContext): SimResponse {
  const mismatch = subscriptionMismatch(ctx);
  if (mismatch) return mismatch;
  const [, rg = '', name = ''] = ctx.params;
  const vm = fleetVmByName(ctx, rg, name);
  if (!vm) return notFound('Microsoft.Compute/virtualMachines', name, rg);
  const fault = ctx.faultFor(vm);
  if (fault) return fault;
  const vmId = vmIdOf(ctx.fleet, vm);
  const storage = ((ctx.body ?? {}) as { properties?: { storageProfile?: { osDisk?: { managedDisk?: { id?: unknown } }; dataDisks?: DataDiskIn[] } } }).properties?.storageProfile;
  const newOs = storage?.osDisk?.managedDisk?.id;
  if (typeof newOs === 'string' && !eq(newOs, osDiskIdOf(ctx.fleet, vm))) return swapOsDisk(ctx, vm, newOs);
  if (!Array.isArray(storage?.dataDisks)) return accepted(ctx, lro(ctx, vm.location, vm.name, 'update', () => ({ result: vmResourceOf(ctx.fleet, vm, false) })), vmResourceOf(ctx.fleet, vm, false), 200);

  const w = world(ctx);
  const wanted = storage.dataDisks.filter((d) => d.toBeDetached !== true);
  const current = vm.dataDisks ?? [];
  const keep = current.filter((c) => wanted.some((d) => typeof d.managedDisk?.id === 'string' && eq(d.managedDisk.id, c.id)));
  const detach = current.filter((c) => !keep.includes(c));
  const attach: { lun: number; disk: SimDisk }[] = [];
  for (const d of wanted) {
    const id = d.managedDisk?.id;
    if (typeof id !== 'string') return bad('InvalidParameter', 'A data disk needs managedDisk.id.');
    if (current.some((c) => eq(c.id, id))) continue;
    if (d.createOption !== 'Attach') return bad('InvalidParameter', 'The simulator attaches existing managed disks only (createOption Attach).');
    const lun = typeof d.lun === 'number' ? d.lun : -1;
    if (lun < 0 || lun > 63) return bad('InvalidParameter', "The value of parameter 'lun' is invalid.");
    if (keep.some((c) => c.lun === lun) || attach.some((a) => a.lun === lun)) return conflict('ConflictingUserInput', `A disk at LUN ${lun} already exists.`);
    const disk = diskById(ctx, id);
    if (!disk) return { status: 404, body: armError('NotFound', `Disk ${id} was not found.`) };
    if (disk.managedBy && !eq(disk.managedBy, vmId)) return conflict('ConflictingUserInput', `Disk '${disk.id}' cannot be attached as the disk is already owned by VM '${disk.managedBy}'.`);
    if ((disk.zone ?? '') !== (vm.zone ?? '')) return bad('BadRequest', `Disk ${disk.name} is in zone '${disk.zone ?? 'none'}' and cannot be attached to VM ${vm.name} in zone '${vm.zone ?? 'none'}'.`);
    attach.push({ lun, disk });
  }
  const touched = [...attach.map((a) => a.disk), ...detach.map((c) => w.disks.get(key(c.id))).filter((d): d is SimDisk => !!d)];
  const origin = touched.find((d) => d.origin)?.origin;
  if (attach.length > 0 && faulted(origin, 'attach')) return failWith(ctx, vm, 'attachDisk', 'attach', vm.location, vmResourceOf(ctx.fleet, vm, false), 200);
  if (detach.length > 0 && faulted(origin, 'detach')) return failWith(ctx, vm, 'detachDisk', 'detach', vm.location, vmResourceOf(ctx.fleet, vm, false), 200);
  for (const c of detach) {
    logOp(ctx, vm, 'detachDisk');
    const disk = w.disks.get(key(c.id));
    if (disk) disk.managedBy = undefined;
  }
  for (const a of attach) {
    logOp(ctx, vm, 'attachDisk');
    a.disk.managedBy = vmId;
  }
  vm.dataDisks = [...keep, ...attach.map((a) => ({ lun: a.lun, name: a.disk.name, id: a.disk.id }))];
  const op = lro(ctx, vm.location, vm.name, attach.length > 0 ? 'attachDisk' : 'detachDisk', () => ({ result: vmResourceOf(ctx.fleet, vm, false) }));
  return accepted(ctx, op, vmResourceOf(ctx.fleet, vm, false), 200);
}

function swapOsDisk(ctx: RouteContext, vm: FleetVm, newDiskId: string): SimResponse {
  const w = world(ctx);
  const vmId = vmIdOf(ctx.fleet, vm);
  const disk = diskById(ctx, newDiskId);
  if (!disk) return { status: 404, body: armError('NotFound', `Disk ${newDiskId} was not found.`) };
  if (vm.powerState !== 'deallocated' && vm.powerState !== 'stopped') {
    // [S] Azure asks for a stopped (deallocated) VM before an OS disk swap; the exact wording is not documented
    return conflict('OperationNotAllowed', `Operation 'Swap OS Disk' is not allowed on VM '${vm.name}' since the VM is ${vm.powerState}. Stop (deallocate) the VM first.`);
  }
  if (disk.managedBy && !eq(disk.managedBy, vmId)) return conflict('ConflictingUserInput', `Disk '${disk.id}' cannot be attached as the disk is already owned by VM '${disk.managedBy}'.`);
  const vmGen = vm.hyperVGeneration ?? 'V1';
  if (disk.hyperVGeneration !== vmGen) {
    // Azure's answer, as `az vm repair restore` users met it on Gen2 VMs (SupportArticles-docs issue 214)
    return conflict('PropertyChangeNotAllowed', `Swapping OS Disk is not supported since HyperVisor property on the OSDisk and VM do not match. Please make sure the HyperVisor property on the OSDisk is HyperVisor Generation '${vmGen}'`);
  }
  if ((disk.securityType ?? '') !== (vm.securityType ?? '')) {
    return conflict('PropertyChangeNotAllowed', `Swapping OS Disk is not supported since the security type of the OS disk ('${disk.securityType ?? 'Standard'}') and of the VM ('${vm.securityType ?? 'Standard'}') do not match.`);
  }
  if (!eq(disk.resourceGroup, vm.resourceGroup)) return bad('InvalidParameter', 'The simulator swaps OS disks within the VM\'s resource group only.');
  if (faulted(vm, 'swap')) return failWith(ctx, vm, 'swapOsDisk', 'swap', vm.location, vmResourceOf(ctx.fleet, vm, false), 200);
  logOp(ctx, vm, 'swapOsDisk');
  // the old disk keeps the Windows the VM ran until now; the VM runs with the new disk's from here on
  const old = diskById(ctx, osDiskIdOf(ctx.fleet, vm));
  if (old) {
    old.windows = vm.windows;
    old.managedBy = undefined;
  }
  vm.windows = disk.windows;
  disk.windows = undefined;
  disk.managedBy = vmId;
  vm.osDiskName = disk.name;
  w.disks.set(key(disk.id), disk);
  const op = lro(ctx, vm.location, vm.name, 'swapOsDisk', () => ({ result: vmResourceOf(ctx.fleet, vm, false) }));
  return accepted(ctx, op, vmResourceOf(ctx.fleet, vm, false), 200);
}

function deallocate(ctx: RouteContext): SimResponse {
  const mismatch = subscriptionMismatch(ctx);
  if (mismatch) return mismatch;
  const [, rg = '', name = ''] = ctx.params;
  const vm = fleetVmByName(ctx, rg, name);
  if (!vm) return notFound('Microsoft.Compute/virtualMachines', name, rg);
  const fault = ctx.faultFor(vm);
  if (fault) return fault;
  if (faulted(vm, 'deallocate')) return failWith(ctx, vm, 'deallocate', 'deallocate', vm.location);
  logOp(ctx, vm, 'deallocate');
  const op = lro(ctx, vm.location, vm.name, 'deallocate', () => {
    vm.powerState = 'deallocated';
    vm.agentStatus = 'NotReady';
    return {};
  });
  return accepted(ctx, op);
}

function start(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const vm = fleetVmByName(ctx, rg, name);
  if (!vm || !faulted(vm, 'start') || subscriptionMismatch(ctx)) return passOn(ctx);
  return failWith(ctx, vm, 'start', 'start', vm.location);
}

// ---------------------------------------------------------------------------------------------
// Run Command on a rescue VM: the offline scripts work on the copy attached at REPAIR_LUN
// ---------------------------------------------------------------------------------------------
function runCommand(ctx: RouteContext): SimResponse {
  const [, rg = '', name = ''] = ctx.params;
  const vm = fleetVmByName(ctx, rg, name);
  const w = world(ctx);
  const rescue = vm ? w.rescue.get(key(vmIdOf(ctx.fleet, vm))) : undefined;
  const input = parseRunCommandInput(ctx.body);
  if (!vm || !rescue || typeof input === 'string' || subscriptionMismatch(ctx)) return passOn(ctx);
  const scriptId = projectScriptId(input);
  if (!scriptId || !scriptId.startsWith('offline-')) return passOn(ctx);
  if (vm.powerState !== 'running') return conflict('OperationNotAllowed', `Operation 'RunCommand' is not allowed on VM '${vm.name}' since the VM is ${vm.powerState}.`);
  if (ctx.ops.inProgress(vm.name, 'runCommand').length > 0) return conflict('Conflict', 'Run command extension execution is in progress. Please wait for completion before invoking a run command.');
  const attached = (vm.dataDisks ?? []).find((d) => d.lun === REPAIR_LUN);
  const disk = attached ? w.disks.get(key(attached.id)) : undefined;
  if (faulted(rescue.origin, 'runCommand')) return failWith(ctx, vm, 'runCommand', 'runCommand', vm.location);
  const source = input.script.join('\n');
  const engine = ctx.interior.engine;
  ctx.log.add({ method: ctx.method, path: ctx.path, vm: vm.name, kind: 'runCommand', scriptId, engine, scriptSha256: createHash('sha256').update(source, 'utf8').digest('hex') }, ctx.now());
  const drive = REPAIR_DRIVE;
  const run = (): Outcome | Promise<Outcome> => {
    if (vm.agentStatus !== 'Ready') return { error: { code: 'VMAgentStatusCommunicationError', message: 'VM has not reported status for VM agent or extensions.' } };
    const state = disk?.windows;
    if (!disk || !state || !ctx.interior.runOffline) {
      // what the script says when no disk (or no Windows disk) is attached as the drive
      const value = runCommandStatuses('', `${scriptId}.ps1 : No SYSTEM hive at ${drive}:\\Windows\\System32\\config\\SYSTEM: is the disk attached as ${drive}:?\r\n`);
      return { result: { value }, properties: { output: { value } } };
    }
    const settle = (r: { stdout: string; stderr: string; windows: WindowsState; hung?: boolean }): Outcome => {
      if (r.hung) return { error: SCRIPT_TIMEOUT_ERROR };
      // the script's changes land in the attached copy, never in the broken VM's own disk
      disk.windows = r.windows;
      const value = runCommandStatuses(r.stdout, r.stderr);
      return { result: { value }, properties: { output: { value } } };
    };
    const r = ctx.interior.runOffline({ windows: clone(state), drive, hyperVGeneration: disk.hyperVGeneration, scriptId, parameters: input.parameters, script: source, now: ctx.now() });
    return r instanceof Promise ? r.then(settle) : settle(r);
  };
  const op = ctx.ops.start({ provider: 'Microsoft.Compute', location: vm.location, vmName: vm.name, kind: 'runCommand', latencyMs: ctx.runCommandLatencyMs, finish: run });
  return accepted(ctx, op);
}

// ---------------------------------------------------------------------------------------------
// Resource Graph: the tagged resources of one resource group (services/azure's repair query)
// ---------------------------------------------------------------------------------------------
const TAG_QUERY =
  /^Resources\s*\|\s*where subscriptionId =~ '([0-9a-fA-F-]{36})'\s*\|\s*where resourceGroup =~ '([-\w._()]{1,90})'\s*\|\s*where tags\['([A-Za-z0-9][A-Za-z0-9_.-]{0,127})'\] =~ '([A-Za-z0-9][A-Za-z0-9_.:-]{0,255})'\s*\|\s*project id, name, type, tags\s*$/;

function graphTagged(ctx: RouteContext): SimResponse {
  const b = (ctx.body ?? {}) as { query?: unknown };
  const m = typeof b.query === 'string' ? TAG_QUERY.exec(b.query.trim()) : null;
  if (!m) return passOn(ctx);
  const [, sub = '', rg = '', tag = '', value = ''] = m;
  const w = world(ctx);
  const rows: JsonObject[] = [];
  if (eq(sub, ctx.fleet.subscriptionId)) {
    const add = (id: string, name: string, type: string, resourceGroup: string, tags: Record<string, string> | undefined): void => {
      if (!eq(resourceGroup, rg)) return;
      const hit = Object.entries(tags ?? {}).find(([k]) => eq(k, tag));
      if (hit && eq(hit[1], value)) rows.push({ id, name, type: type.toLowerCase(), tags: { ...(tags ?? {}) } });
    };
    for (const v of ctx.fleet.vms) add(vmIdOf(ctx.fleet, v), v.name, 'Microsoft.Compute/virtualMachines', v.resourceGroup, v.tags);
    for (const d of w.disks.values()) add(d.id, d.name, 'Microsoft.Compute/disks', d.resourceGroup, d.tags);
    for (const s of w.snapshots.values()) add(s.id, s.name, 'Microsoft.Compute/snapshots', s.resourceGroup, s.tags);
    for (const n of w.nics.values()) add(n.id, n.name, 'Microsoft.Network/networkInterfaces', n.resourceGroup, n.tags);
  }
  logOp(ctx, null, 'read');
  return { status: 200, body: { totalRecords: rows.length, count: rows.length, resultTruncated: 'false', facets: [], data: rows } };
}

/** Tried before routes.ts's ROUTES (server.ts). */
export const REPAIR_ROUTES: readonly Route[] = [
  { method: 'PUT', pattern: re(SNAPSHOT), action: 'Microsoft.Compute/snapshots/write', handle: (ctx) => subscriptionMismatch(ctx) ?? putSnapshot(ctx) },
  { method: 'GET', pattern: re(SNAPSHOT), action: 'Microsoft.Compute/snapshots/read', handle: (ctx) => {
    const s = world(ctx).snapshots.get(key(`${rgPath(ctx, ctx.params[1] ?? '')}/Microsoft.Compute/snapshots/${ctx.params[2] ?? ''}`));
    if (subscriptionMismatch(ctx) || !s) return subscriptionMismatch(ctx) ?? notFound('Microsoft.Compute/snapshots', ctx.params[2] ?? '', ctx.params[1] ?? '');
    logOp(ctx, s.origin ?? null, 'read');
    return { status: 200, body: snapshotBody(s) };
  } },
  { method: 'DELETE', pattern: re(SNAPSHOT), action: 'Microsoft.Compute/snapshots/delete', handle: (ctx) => subscriptionMismatch(ctx) ?? deleteSnapshot(ctx) },
  { method: 'PUT', pattern: re(DISK), action: 'Microsoft.Compute/disks/write', handle: (ctx) => subscriptionMismatch(ctx) ?? putDisk(ctx) },
  { method: 'GET', pattern: re(DISK), action: 'Microsoft.Compute/disks/read', handle: (ctx) => subscriptionMismatch(ctx) ?? getDisk(ctx) },
  { method: 'PATCH', pattern: re(DISK), action: 'Microsoft.Compute/disks/write', handle: (ctx) => subscriptionMismatch(ctx) ?? patchDisk(ctx) },
  { method: 'DELETE', pattern: re(DISK), action: 'Microsoft.Compute/disks/delete', handle: (ctx) => subscriptionMismatch(ctx) ?? deleteDisk(ctx) },
  { method: 'PUT', pattern: re(NIC), action: 'Microsoft.Network/networkInterfaces/write', handle: (ctx) => subscriptionMismatch(ctx) ?? putNic(ctx) },
  { method: 'GET', pattern: re(NIC), action: 'Microsoft.Network/networkInterfaces/read', handle: getNic },
  { method: 'DELETE', pattern: re(NIC), action: 'Microsoft.Network/networkInterfaces/delete', handle: (ctx) => subscriptionMismatch(ctx) ?? deleteNic(ctx) },
  { method: 'PUT', pattern: re(VM), action: 'Microsoft.Compute/virtualMachines/write', handle: (ctx) => subscriptionMismatch(ctx) ?? putVm(ctx) },
  { method: 'PATCH', pattern: re(VM), action: 'Microsoft.Compute/virtualMachines/write', handle: patchVm },
  { method: 'DELETE', pattern: re(VM), action: 'Microsoft.Compute/virtualMachines/delete', handle: (ctx) => subscriptionMismatch(ctx) ?? deleteVm(ctx) },
  { method: 'POST', pattern: re(`${VM}/deallocate`), action: 'Microsoft.Compute/virtualMachines/deallocate/action', handle: deallocate },
  { method: 'POST', pattern: re(`${VM}/start`), action: 'Microsoft.Compute/virtualMachines/start/action', handle: start },
  { method: 'POST', pattern: re(`${VM}/runCommand`), action: 'Microsoft.Compute/virtualMachines/runCommand/action', handle: runCommand },
  { method: 'POST', pattern: re('^/providers/Microsoft\\.ResourceGraph/resources'), action: 'Microsoft.ResourceGraph/resources/read', handle: graphTagged },
];

/**
 * Linked access checks: besides the route's own action, Azure checks the caller's right on the
 * resources a request refers to (a NIC's subnet, a VM's NIC, a snapshot's source disk, ...).
 * The simulator's RBAC emulation (server.ts `allowedActions`) refuses a request whose linked
 * actions the role lacks, naming the first missing one, as Azure does.
 */
export const REPAIR_LINKED_ACTIONS = [
  'Microsoft.Network/virtualNetworks/subnets/join/action',
  'Microsoft.Network/networkInterfaces/join/action',
  'Microsoft.Compute/disks/write',
  'Microsoft.Compute/disks/read',
  'Microsoft.Compute/snapshots/read',
  'Microsoft.Network/networkInterfaces/delete',
  'Microsoft.Compute/disks/delete',
] as const;

export function linkedActions(method: string, path: string): string[] {
  const p = path.toLowerCase();
  if (method === 'PUT' && /\/microsoft\.network\/networkinterfaces\/[^/]+\/?$/.test(p)) return ['Microsoft.Network/virtualNetworks/subnets/join/action'];
  if (method === 'PUT' && /\/microsoft\.compute\/virtualmachines\/[^/]+\/?$/.test(p)) return ['Microsoft.Network/networkInterfaces/join/action', 'Microsoft.Compute/disks/write'];
  if (method === 'PUT' && /\/microsoft\.compute\/snapshots\/[^/]+\/?$/.test(p)) return ['Microsoft.Compute/disks/read'];
  if (method === 'PUT' && /\/microsoft\.compute\/disks\/[^/]+\/?$/.test(p)) return ['Microsoft.Compute/snapshots/read'];
  if (method === 'PATCH' && /\/microsoft\.compute\/virtualmachines\/[^/]+\/?$/.test(p)) return ['Microsoft.Compute/disks/write'];
  // [S] what a VM's deleteOption 'Delete' removes with it, the caller must be allowed to delete
  if (method === 'DELETE' && /\/microsoft\.compute\/virtualmachines\/[^/]+\/?$/.test(p)) return ['Microsoft.Network/networkInterfaces/delete', 'Microsoft.Compute/disks/delete'];
  return [];
}
