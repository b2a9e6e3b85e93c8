import { nicNameOf, nsgNameOf, osDiskNameOf } from './arm-shapes';
import { fleetSubscriptions, vmSubscriptionOf, type Fleet, type FleetVm } from './fleet';

/**
 * O(1) lookups of a fleet's VMs by what a request addresses (subscription, resource group and
 * the name of the VM, its NIC, NSG or OS disk), so that a 10,000-VM fleet answers a GET as fast
 * as the nine-VM demo fleet. The fleet stays the truth: the index is rebuilt when `fleet.vms` is
 * replaced or changes length, and a miss is checked against the array before it is a 404
 * (a VM replaced or moved in the array is found all the same).
 */
export type AddressedKind = 'vm' | 'nic' | 'nsg' | 'disk';

const NAME_OF: Record<AddressedKind, (vm: FleetVm) => string> = {
  vm: (vm) => vm.name,
  nic: nicNameOf,
  nsg: nsgNameOf,
  disk: osDiskNameOf,
};

/** The ARM resource type each addressed kind answers 404 for. */
export const KIND_OF_TYPE: Record<string, AddressedKind> = {
  'microsoft.compute/virtualmachines': 'vm',
  'microsoft.network/networkinterfaces': 'nic',
  'microsoft.network/networksecuritygroups': 'nsg',
  'microsoft.compute/disks': 'disk',
};

interface Index {
  vms: FleetVm[];
  length: number;
  /** key -> position in fleet.vms */
  byKey: Map<string, number>;
  subscriptions: Set<string>;
}

const key = (kind: AddressedKind, sub: string, rg: string, name: string): string => `${kind}|${sub}|${rg}|${name}`.toLowerCase();

const indexes = new WeakMap<Fleet, Index>();

function build(fleet: Fleet): Index {
  const byKey = new Map<string, number>();
  for (const [at, vm] of fleet.vms.entries()) {
    const sub = vmSubscriptionOf(fleet, vm);
    for (const kind of Object.keys(NAME_OF) as AddressedKind[]) {
      const k = key(kind, sub, vm.resourceGroup, NAME_OF[kind](vm));
      // the first VM wins, as `Array.find` did
      if (!byKey.has(k)) byKey.set(k, at);
    }
  }
  const index: Index = { vms: fleet.vms, length: fleet.vms.length, byKey, subscriptions: new Set(fleetSubscriptions(fleet).map((s) => s.toLowerCase())) };
  indexes.set(fleet, index);
  return index;
}

function current(fleet: Fleet): Index {
  const i = indexes.get(fleet);
  return i && i.vms === fleet.vms && i.length === fleet.vms.length ? i : build(fleet);
}

/** The VM that owns the addressed resource, or undefined. */
export function findAddressed(fleet: Fleet, kind: AddressedKind, subscriptionId: string, resourceGroup: string, name: string): FleetVm | undefined {
  const at = current(fleet).byKey.get(key(kind, subscriptionId, resourceGroup, name));
  const hit = at === undefined ? undefined : fleet.vms[at];
  const same = (vm: FleetVm): boolean =>
    vmSubscriptionOf(fleet, vm).toLowerCase() === subscriptionId.toLowerCase() &&
    vm.resourceGroup.toLowerCase() === resourceGroup.toLowerCase() &&
    NAME_OF[kind](vm).toLowerCase() === name.toLowerCase();
  if (hit && same(hit)) return hit;
  const found = fleet.vms.find(same);
  if (found) build(fleet);
  return found;
}

/** Whether the fleet holds this subscription (its own or a VM's). */
export function hasSubscription(fleet: Fleet, subscriptionId: string): boolean {
  return current(fleet).subscriptions.has(subscriptionId.toLowerCase());
}
