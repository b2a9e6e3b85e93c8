import { createHash } from 'node:crypto';
import {
  armError,
  diskResourceOf,
  effectiveNsgListOf,
  instanceViewOf,
  nicNameOf,
  nicResourceOf,
  nsgNameOf,
  nsgResourceOf,
  osDiskNameOf,
  securityRuleResourceOf,
  vmResourceOf,
  type Json,
  type JsonObject,
} from './arm-shapes';
import type { AsyncOperation, AsyncOperations, Outcome, Provider } from './async-operations';
import { nsgRuleSchema, vmSubscriptionOf, type Fleet, type FleetNsgRule, type FleetVm } from './fleet';
import { bootsUnattended } from './fleet-repair';
import type { ScriptEngine, VmInterior } from './interior';
import type { OperationKind, OperationLog } from './operation-log';
import { findAddressed, hasSubscription, KIND_OF_TYPE } from './fleet-index';
import { answerGraphQuery, type GraphRequest } from './graph-service';
import { listVmsPaged } from './vm-list';
import { AGENT_ERROR, CONFLICT_ERROR, executeRunCommand, parseRunCommandInput, projectScriptId, type ScriptOutcome } from './run-command';

export interface SimResponse {
  status: number;
  body?: Json;
  headers?: Record<string, string>;
}

export interface RouteContext {
  fleet: Fleet;
  interior: VmInterior;
  ops: AsyncOperations;
  log: OperationLog;
  now: () => Date;
  runCommandLatencyMs: number;
  armLatencyMs: number;
  agentReadyDelayMs: number;
  later(fn: () => void, ms: number): void;
  params: string[];
  query: URLSearchParams;
  body: unknown;
  method: string;
  path: string;
  baseUrl: string;
  /** the injected ARM fault response for this request, if the VM has one due */
  faultFor(vm: FleetVm): SimResponse | null;
  /** sweep-sim: page size of the subscription-wide VM list (default 1,000) */
  listPageSize?: number;
}

export interface Route {
  method: string;
  pattern: RegExp;
  /** the RBAC action Azure checks for this request */
  action: string;
  handle(ctx: RouteContext): SimResponse;
}

const SUB = '^/subscriptions/([^/]+)';
const RG = '/resourceGroups/([^/]+)';
const VM = `${SUB}${RG}/providers/Microsoft\\.Compute/virtualMachines/([^/]+)`;
const re = (s: string): RegExp => new RegExp(`${s}/?$`, 'i');
export const eq = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

const COMPUTE_OP_API = '2024-11-01';
const NETWORK_OP_API = '2025-07-01';

export function notFound(type: string, name: string, rg: string): SimResponse {
  return {
    status: 404,
    body: armError('ResourceNotFound', `The Resource '${type}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  };
}

export function subscriptionMismatch(ctx: RouteContext): SimResponse | null {
  const sub = ctx.params[0] ?? '';
  if (hasSubscription(ctx.fleet, sub)) return null;
  return { status: 404, body: armError('SubscriptionNotFound', `The subscription '${sub}' could not be found.`) };
}

/** Finds the VM that owns the addressed resource, answering 404 / injected faults on the way. */
function withVm(ctx: RouteContext, type: string, pick: (vm: FleetVm) => boolean, fn: (vm: FleetVm) => SimResponse): SimResponse {
  const mismatch = subscriptionMismatch(ctx);
  if (mismatch) return mismatch;
  const rg = ctx.params[1] ?? '';
  const name = ctx.params[2] ?? '';
  // sweep-sim: O(1) by subscription, resource group and name (fleet-index.ts)
  const kind = KIND_OF_TYPE[type.toLowerCase()];
  const found = kind ? findAddressed(ctx.fleet, kind, ctx.params[0] ?? '', rg, name) : ctx.fleet.vms.find((v) => eq(v.resourceGroup, rg));
  const vm = found && pick(found) ? found : undefined;
  if (!vm) return notFound(type, name, rg);
  return ctx.faultFor(vm) ?? fn(vm);
}

export function logOp(ctx: RouteContext, vm: FleetVm | null, kind: OperationKind, scriptId: string | null = null, engine: ScriptEngine | null = null, scriptSha256?: string): void {
  ctx.log.add({ method: ctx.method, path: ctx.path, vm: vm ? vm.name : null, kind, scriptId, engine, ...(scriptSha256 ? { scriptSha256 } : {}) }, ctx.now());
}

function asyncHeaders(ctx: RouteContext, op: AsyncOperation): Record<string, string> {
  const sub = ctx.params[0] && hasSubscription(ctx.fleet, ctx.params[0]) ? ctx.params[0] : ctx.fleet.subscriptionId;
  const base = `${ctx.baseUrl}/subscriptions/${sub}/providers/${op.provider}/locations/${op.location}`;
  if (op.provider === 'Microsoft.Compute') {
    return {
      'azure-asyncoperation': `${base}/operations/${op.id}?p=${encodeURIComponent(op.kind)}&api-version=${COMPUTE_OP_API}`,
      location: `${base}/operations/${op.id}?p=${encodeURIComponent(op.kind)}&monitor=true&api-version=${COMPUTE_OP_API}`,
    };
  }
  return {
    'azure-asyncoperation': `${base}/operations/${op.id}?api-version=${NETWORK_OP_API}`,
    location: `${base}/operationResults/${op.id}?api-version=${NETWORK_OP_API}`,
  };
}

export function accepted(ctx: RouteContext, op: AsyncOperation, body?: Json, status = 202): SimResponse {
  return { status, body, headers: asyncHeaders(ctx, op) };
}

export function startLro(ctx: RouteContext, vm: FleetVm, provider: Provider, kind: string, latencyMs: number, finish: () => Outcome | Promise<Outcome>, stuck?: () => boolean): AsyncOperation {
  return ctx.ops.start({ provider, location: vm.location, vmName: vm.name, kind, latencyMs, finish, stuck });
}

function listVms(ctx: RouteContext, vms: FleetVm[]): SimResponse {
  return { status: 200, body: { value: vms.map((v) => vmResourceOf(ctx.fleet, v, false)) } };
}

/** Power transitions: the VM is "starting" with its agent not ready until the operation ends. */
function powerOperation(ctx: RouteContext, vm: FleetVm, kind: 'start' | 'restart'): SimResponse {
  if (kind === 'restart' && vm.powerState !== 'running' && vm.powerState !== 'starting') {
    return { status: 409, body: armError('OperationNotAllowed', `Operation 'restart' is not allowed on VM '${vm.name}' since the VM is ${vm.powerState === 'deallocated' ? 'deallocated' : 'stopped'}.`) };
  }
  logOp(ctx, vm, kind);
  const wasRunning = vm.powerState === 'running';
  if (kind === 'restart' || !wasRunning) {
    vm.powerState = 'starting';
    vm.agentStatus = 'NotReady';
  }
  const op = startLro(ctx, vm, 'Microsoft.Compute', kind, ctx.armLatencyMs, () => {
    if (kind === 'restart' || !wasRunning) {
      if (kind === 'restart') ctx.interior.onRestart?.(vm);
      vm.powerState = 'running';
      ctx.later(() => {
        // issue #15 (repair-sim): the agent reports only once Windows gets past the boot manager
        if (vm.powerState === 'running' && bootsUnattended(vm.windows?.boot)) vm.agentStatus = 'Ready';
      }, ctx.agentReadyDelayMs);
    }
    return {};
  });
  return accepted(ctx, op);
}

function runCommand(ctx: RouteContext, vm: FleetVm): SimResponse {
  const input = parseRunCommandInput(ctx.body);
  if (typeof input === 'string') return { status: 400, body: armError('InvalidParameter', input) };
  if (input.commandId === 'RunPowerShellScript' && vm.osType !== 'Windows') {
    return { status: 409, body: armError('OperationNotAllowed', `Run command 'RunPowerShellScript' is not supported for OS type '${vm.osType}'.`) };
  }
  if (vm.powerState !== 'running') {
    return { status: 409, body: armError('OperationNotAllowed', `Operation 'RunCommand' is not allowed on VM '${vm.name}' since the VM is ${vm.powerState}.`) };
  }
  if (vm.faults.runCommand === 'conflict' || ctx.ops.inProgress(vm.name, 'runCommand').length > 0) {
    return { status: 409, body: armError(CONFLICT_ERROR.code, CONFLICT_ERROR.message) };
  }
  const scriptId = projectScriptId(input);
  const received = input.script.join('\n');
  logOp(ctx, vm, 'runCommand', scriptId, scriptId ? ctx.interior.engine : null, createHash('sha256').update(received, 'utf8').digest('hex'));
  // a real script (pwsh) starts at once and runs during the latency, as on a VM; the emulation answers at the end
  const early = ctx.interior.engine === 'pwsh' && vm.faults.runCommand === 'none' && vm.agentStatus === 'Ready' ? executeRunCommand(vm, input, ctx.interior, ctx.now()) : null;
  const outcomeOf = (out: ScriptOutcome): Outcome => ('error' in out ? { error: out.error } : { result: { value: out.value }, properties: { output: { value: out.value } } });
  const op = startLro(
    ctx,
    vm,
    'Microsoft.Compute',
    'runCommand',
    ctx.runCommandLatencyMs,
    () => {
      if (vm.faults.runCommand === 'agent-error' || vm.agentStatus !== 'Ready' || vm.powerState !== 'running') return { error: AGENT_ERROR };
      if (vm.faults.runCommand === 'timeout') return { result: { value: [] } };
      const out = early ?? executeRunCommand(vm, input, ctx.interior, ctx.now());
      return out instanceof Promise ? out.then(outcomeOf) : outcomeOf(out);
    },
    vm.faults.runCommand === 'timeout' ? () => vm.faults.runCommand === 'timeout' : undefined,
  );
  return accepted(ctx, op);
}

const snapshots = new WeakMap<Fleet, Map<string, JsonObject>>();
function snapshotStore(fleet: Fleet): Map<string, JsonObject> {
  let s = snapshots.get(fleet);
  if (!s) {
    s = new Map();
    snapshots.set(fleet, s);
  }
  return s;
}

function putSnapshot(ctx: RouteContext): SimResponse {
  const mismatch = subscriptionMismatch(ctx);
  if (mismatch) return mismatch;
  const [, rg = '', name = ''] = ctx.params;
  const b = (ctx.body ?? {}) as { location?: unknown; properties?: { creationData?: { createOption?: unknown; sourceResourceId?: unknown } } };
  const source = b.properties?.creationData?.sourceResourceId;
  if (typeof b.location !== 'string' || typeof source !== 'string' || b.properties?.creationData?.createOption !== 'Copy') {
    return { status: 400, body: armError('InvalidParameter', "A snapshot needs 'location' and 'properties.creationData' with createOption 'Copy' and a sourceResourceId.") };
  }
  const disk = /^\/?subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/disks\/([^/]+)$/i.exec(source);
  const vm = disk ? findAddressed(ctx.fleet, 'disk', disk[1] ?? '', disk[2] ?? '', disk[3] ?? '') : undefined;
  if (!vm) return { status: 404, body: armError('NotFound', `Source disk '${source}' was not found.`) };
  const fault = ctx.faultFor(vm);
  if (fault) return fault;
  logOp(ctx, vm, 'snapshot');
  const id = `/subscriptions/${ctx.params[0] ?? ctx.fleet.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Compute/snapshots/${name}`;
  const resource: JsonObject = {
    name,
    id,
    type: 'Microsoft.Compute/snapshots',
    location: b.location,
    sku: { name: 'Standard_LRS', tier: 'Standard' },
    properties: {
      osType: vm.osType,
      creationData: { createOption: 'Copy', sourceResourceId: source },
      diskSizeGB: 127,
      incremental: false,
      timeCreated: ctx.now().toISOString(),
      provisioningState: 'Updating',
    },
  };
  const store = snapshotStore(ctx.fleet);
  store.set(`${rg}/${name}`.toLowerCase(), resource);
  const op = startLro(ctx, vm, 'Microsoft.Compute', 'snapshot', ctx.armLatencyMs, () => {
    (resource.properties as JsonObject).provisioningState = 'Succeeded';
    return { result: resource };
  });
  return accepted(ctx, op, resource);
}

function putSecurityRule(ctx: RouteContext, vm: FleetVm): SimResponse {
  const ruleName = ctx.params[3] ?? '';
  const props = ((ctx.body ?? {}) as { properties?: Record<string, unknown> }).properties ?? {};
  const parsed = nsgRuleSchema.safeParse({ ...props, name: ruleName });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { status: 400, body: armError('InvalidRequestFormat', `Cannot parse the request: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim()) };
  }
  const rule: FleetNsgRule = parsed.data;
  if (rule.priority > 4096) return { status: 400, body: armError('SecurityRuleInvalidPriority', `Security rule has invalid Priority. Value provided: ${rule.priority}. Allowed range 100-4096.`) };
  const clash = vm.nsgRules.find((r) => !eq(r.name, rule.name) && r.priority === rule.priority && r.direction === rule.direction);
  if (clash) return { status: 400, body: armError('SecurityRuleConflict', `Security rule ${clash.name} conflicts with rule ${rule.name}. Rules cannot have the same Priority and Direction.`) };
  logOp(ctx, vm, 'nsgRuleWrite');
  const existing = vm.nsgRules.findIndex((r) => eq(r.name, rule.name));
  if (existing >= 0) vm.nsgRules[existing] = rule;
  else vm.nsgRules.push(rule);
  const resource = securityRuleResourceOf(ctx.fleet, vm, rule);
  const op = startLro(ctx, vm, 'Microsoft.Network', 'nsgRuleWrite', ctx.armLatencyMs, () => ({}));
  const pending: JsonObject = { ...resource, properties: { ...(resource.properties as JsonObject), provisioningState: 'Updating' } };
  return accepted(ctx, op, pending, existing >= 0 ? 200 : 201);
}

function deleteSecurityRule(ctx: RouteContext, vm: FleetVm): SimResponse {
  const at = vm.nsgRules.findIndex((r) => eq(r.name, ctx.params[3] ?? ''));
  if (at < 0) return { status: 204 };
  logOp(ctx, vm, 'nsgRuleWrite');
  vm.nsgRules.splice(at, 1);
  const op = startLro(ctx, vm, 'Microsoft.Network', 'nsgRuleDelete', ctx.armLatencyMs, () => ({}));
  return accepted(ctx, op);
}

// --- sweep-sim: Resource Graph (graph-service.ts) and the subscription-wide VM list (vm-list.ts) ---
function graphQuery(ctx: RouteContext): SimResponse {
  const answer = answerGraphQuery(ctx, (ctx.body ?? {}) as GraphRequest) as SimResponse;
  if (answer.status === 200) logOp(ctx, null, 'read');
  return answer;
}
// --- end sweep-sim ---

function operationStatus(ctx: RouteContext, provider: Provider, result: boolean): SimResponse {
  const mismatch = subscriptionMismatch(ctx);
  if (mismatch) return mismatch;
  const op = ctx.ops.get(ctx.params[2] ?? '');
  if (!op || op.provider !== provider) return { status: 404, body: armError('NotFound', 'The operation was not found.') };
  if (!result) {
    const body: JsonObject = { name: op.id, status: op.status, startTime: op.startTime };
    if (op.endTime) body.endTime = op.endTime;
    if (op.error) body.error = op.error;
    if (op.properties !== undefined) body.properties = op.properties;
    return { status: 200, body };
  }
  if (op.status === 'InProgress') return { status: 202, headers: { location: `${ctx.baseUrl}${ctx.path}?${ctx.query.toString()}` } };
  if (op.status === 'Failed') return { status: 400, body: { error: op.error ?? { code: 'Failed', message: 'The operation failed.' } } };
  return { status: 200, body: op.result };
}

export const ROUTES: readonly Route[] = [
  {
    method: 'GET', pattern: re(`${SUB}/providers/Microsoft\\.Compute/virtualMachines`), action: 'Microsoft.Compute/virtualMachines/read',
    handle: (ctx) => subscriptionMismatch(ctx) ?? (logOp(ctx, null, 'read'), listVmsPaged(ctx)),
  },
  {
    method: 'GET', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Compute/virtualMachines`), action: 'Microsoft.Compute/virtualMachines/read',
    handle: (ctx) => subscriptionMismatch(ctx) ?? (logOp(ctx, null, 'read'), listVms(ctx, ctx.fleet.vms.filter((v) => eq(v.resourceGroup, ctx.params[1] ?? '') && eq(vmSubscriptionOf(ctx.fleet, v), ctx.params[0] ?? '')))),
  },
  {
    method: 'GET', pattern: re(VM), action: 'Microsoft.Compute/virtualMachines/read',
    handle: (ctx) => withVm(ctx, 'Microsoft.Compute/virtualMachines', (v) => eq(v.name, ctx.params[2] ?? ''), (vm) => {
      logOp(ctx, vm, 'read');
      const expand = (ctx.query.get('$expand') ?? '').toLowerCase() === 'instanceview';
      return { status: 200, body: vmResourceOf(ctx.fleet, vm, expand) };
    }),
  },
  {
    method: 'GET', pattern: re(`${VM}/instanceView`), action: 'Microsoft.Compute/virtualMachines/instanceView/read',
    handle: (ctx) => withVm(ctx, 'Microsoft.Compute/virtualMachines', (v) => eq(v.name, ctx.params[2] ?? ''), (vm) => {
      logOp(ctx, vm, 'read');
      return { status: 200, body: instanceViewOf(vm) };
    }),
  },
  {
    method: 'POST', pattern: re(`${VM}/start`), action: 'Microsoft.Compute/virtualMachines/start/action',
    handle: (ctx) => withVm(ctx, 'Microsoft.Compute/virtualMachines', (v) => eq(v.name, ctx.params[2] ?? ''), (vm) => powerOperation(ctx, vm, 'start')),
  },
  {
    method: 'POST', pattern: re(`${VM}/restart`), action: 'Microsoft.Compute/virtualMachines/restart/action',
    handle: (ctx) => withVm(ctx, 'Microsoft.Compute/virtualMachines', (v) => eq(v.name, ctx.params[2] ?? ''), (vm) => powerOperation(ctx, vm, 'restart')),
  },
  {
    method: 'POST', pattern: re(`${VM}/runCommand`), action: 'Microsoft.Compute/virtualMachines/runCommand/action',
    handle: (ctx) => withVm(ctx, 'Microsoft.Compute/virtualMachines', (v) => eq(v.name, ctx.params[2] ?? ''), (vm) => runCommand(ctx, vm)),
  },
  {
    method: 'GET', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Compute/disks/([^/]+)`), action: 'Microsoft.Compute/disks/read',
    handle: (ctx) => withVm(ctx, 'Microsoft.Compute/disks', (v) => eq(osDiskNameOf(v), ctx.params[2] ?? ''), (vm) => {
      logOp(ctx, vm, 'read');
      return { status: 200, body: diskResourceOf(ctx.fleet, vm) };
    }),
  },
  {
    method: 'PUT', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Compute/snapshots/([^/]+)`), action: 'Microsoft.Compute/snapshots/write',
    handle: putSnapshot,
  },
  {
    method: 'GET', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Compute/snapshots/([^/]+)`), action: 'Microsoft.Compute/snapshots/read',
    handle: (ctx) => {
      const mismatch = subscriptionMismatch(ctx);
      if (mismatch) return mismatch;
      const s = snapshotStore(ctx.fleet).get(`${ctx.params[1]}/${ctx.params[2]}`.toLowerCase());
      if (!s) return notFound('Microsoft.Compute/snapshots', ctx.params[2] ?? '', ctx.params[1] ?? '');
      logOp(ctx, null, 'read');
      return { status: 200, body: s };
    },
  },
  {
    method: 'GET', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Network/networkInterfaces/([^/]+)`), action: 'Microsoft.Network/networkInterfaces/read',
    handle: (ctx) => withVm(ctx, 'Microsoft.Network/networkInterfaces', (v) => eq(nicNameOf(v), ctx.params[2] ?? ''), (vm) => {
      logOp(ctx, vm, 'read');
      return { status: 200, body: nicResourceOf(ctx.fleet, vm) };
    }),
  },
  {
    method: 'POST', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Network/networkInterfaces/([^/]+)/effectiveNetworkSecurityGroups`),
    action: 'Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action',
    handle: (ctx) => withVm(ctx, 'Microsoft.Network/networkInterfaces', (v) => eq(nicNameOf(v), ctx.params[2] ?? ''), (vm) => {
      logOp(ctx, vm, 'read');
      const op = startLro(ctx, vm, 'Microsoft.Network', 'effectiveNsg', ctx.armLatencyMs, () => ({ result: effectiveNsgListOf(ctx.fleet, vm) }));
      return accepted(ctx, op);
    }),
  },
  {
    method: 'GET', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Network/networkSecurityGroups/([^/]+)`), action: 'Microsoft.Network/networkSecurityGroups/read',
    handle: (ctx) => withVm(ctx, 'Microsoft.Network/networkSecurityGroups', (v) => eq(nsgNameOf(v), ctx.params[2] ?? ''), (vm) => {
      logOp(ctx, vm, 'read');
      return { status: 200, body: nsgResourceOf(ctx.fleet, vm) };
    }),
  },
  {
    method: 'GET', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Network/networkSecurityGroups/([^/]+)/securityRules/([^/]+)`),
    action: 'Microsoft.Network/networkSecurityGroups/securityRules/read',
    handle: (ctx) => withVm(ctx, 'Microsoft.Network/networkSecurityGroups', (v) => eq(nsgNameOf(v), ctx.params[2] ?? ''), (vm) => {
      const rule = vm.nsgRules.find((r) => eq(r.name, ctx.params[3] ?? ''));
      if (!rule) return notFound(`Microsoft.Network/networkSecurityGroups/${nsgNameOf(vm)}/securityRules`, ctx.params[3] ?? '', vm.resourceGroup);
      logOp(ctx, vm, 'read');
      return { status: 200, body: securityRuleResourceOf(ctx.fleet, vm, rule) };
    }),
  },
  {
    method: 'PUT', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Network/networkSecurityGroups/([^/]+)/securityRules/([^/]+)`),
    action: 'Microsoft.Network/networkSecurityGroups/securityRules/write',
    handle: (ctx) => withVm(ctx, 'Microsoft.Network/networkSecurityGroups', (v) => eq(nsgNameOf(v), ctx.params[2] ?? ''), (vm) => putSecurityRule(ctx, vm)),
  },
  {
    method: 'DELETE', pattern: re(`${SUB}${RG}/providers/Microsoft\\.Network/networkSecurityGroups/([^/]+)/securityRules/([^/]+)`),
    action: 'Microsoft.Network/networkSecurityGroups/securityRules/delete',
    handle: (ctx) => withVm(ctx, 'Microsoft.Network/networkSecurityGroups', (v) => eq(nsgNameOf(v), ctx.params[2] ?? ''), (vm) => deleteSecurityRule(ctx, vm)),
  },
  {
    method: 'GET', pattern: re(`${SUB}/providers/Microsoft\\.Compute/locations/([^/]+)/operations/([^/]+)`), action: 'Microsoft.Compute/locations/operations/read',
    handle: (ctx) => operationStatus(ctx, 'Microsoft.Compute', ctx.query.get('monitor') === 'true'),
  },
  {
    method: 'GET', pattern: re(`${SUB}/providers/Microsoft\\.Network/locations/([^/]+)/operations/([^/]+)`), action: 'Microsoft.Network/locations/operations/read',
    handle: (ctx) => operationStatus(ctx, 'Microsoft.Network', false),
  },
  {
    method: 'GET', pattern: re(`${SUB}/providers/Microsoft\\.Network/locations/([^/]+)/operationResults/([^/]+)`), action: 'Microsoft.Network/locations/operationResults/read',
    handle: (ctx) => operationStatus(ctx, 'Microsoft.Network', true),
  },
  {
    method: 'POST', pattern: re('^/providers/Microsoft\\.ResourceGraph/resources'), action: 'Microsoft.ResourceGraph/resources/read',
    handle: graphQuery,
  },
];
