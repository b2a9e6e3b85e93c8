import { instanceViewOf, stableGuid, vmIdOf, vmResourceOf, type JsonObject } from './arm-shapes';
import { vmSubscriptionOf } from './fleet';
import type { RouteContext, SimResponse } from './routes';

/**
 * `GET /subscriptions/{s}/providers/Microsoft.Compute/virtualMachines` (Virtual Machines - List
 * All): the subscription's VMs, in pages of `listPageSize` with ARM's `nextLink` (a `$skiptoken`
 * offset). With `statusOnly=true` each VM carries only its run-time status: the instance view
 * with the power state and, for a running VM, the VM agent's status.
 */
export const VM_LIST_PAGE_SIZE = 1000;

export function listVmsPaged(ctx: RouteContext): SimResponse {
  const sub = ctx.params[0] ?? '';
  const size = ctx.listPageSize ?? VM_LIST_PAGE_SIZE;
  const vms = ctx.fleet.vms.filter((v) => vmSubscriptionOf(ctx.fleet, v).toLowerCase() === sub.toLowerCase());
  const token = ctx.query.get('$skiptoken');
  const skip = token === null ? 0 : Number(token);
  if (!Number.isInteger(skip) || skip < 0) return { status: 400, body: { error: { code: 'InvalidParameter', message: 'The $skiptoken is invalid.' } } };
  const statusOnly = (ctx.query.get('statusOnly') ?? '').toLowerCase() === 'true';
  const page = vms.slice(skip, skip + size);
  const value = page.map((vm): JsonObject =>
    statusOnly
      ? { name: vm.name, id: vmIdOf(ctx.fleet, vm), type: 'Microsoft.Compute/virtualMachines', location: vm.location, properties: { vmId: stableGuid(vmIdOf(ctx.fleet, vm)), instanceView: instanceViewOf(vm) } }
      : vmResourceOf(ctx.fleet, vm, false),
  );
  const body: JsonObject = { value };
  if (skip + size < vms.length) {
    const next = new URLSearchParams(ctx.query);
    next.set('$skiptoken', String(skip + size));
    body.nextLink = `${ctx.baseUrl}${ctx.path}?${next.toString()}`;
  }
  return { status: 200, body };
}
