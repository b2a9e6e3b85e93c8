import { armError, graphRowOf, nicResourceOf, nsgResourceOf, type JsonObject } from './arm-shapes';
import { vmSubscriptionOf, type Fleet, type FleetVm } from './fleet';
import { KqlError, parseKql, runKql } from './resource-graph';

/**
 * Resource Graph's `POST /providers/Microsoft.ResourceGraph/resources` over the fleet: the
 * `Resources` table holds each VM, its NIC and its NSG; `subscriptions` in the body narrows it
 * (several at once); `$top` (at most 1,000, Azure's page limit) and `$skipToken` page it.
 *
 * The first page of a query evaluates it once and keeps the matching rows; the `$skipToken` of
 * the next pages points into that result (as Resource Graph's cursor does), so a page costs what
 * the page holds, not the fleet, and every row comes exactly once even while VMs change.
 */
export interface GraphRequest {
  subscriptions?: unknown;
  query?: unknown;
  options?: { $top?: unknown; $skip?: unknown; $skipToken?: unknown; resultFormat?: unknown };
}

export interface GraphAnswer {
  status: number;
  body: JsonObject;
}

const TYPES = {
  vm: 'microsoft.compute/virtualmachines',
  nic: 'microsoft.network/networkinterfaces',
  nsg: 'microsoft.network/networksecuritygroups',
} as const;

function armRow(fleet: Fleet, vm: FleetVm, arm: JsonObject, type: string): JsonObject {
  return {
    id: arm.id,
    name: arm.name,
    type,
    tenantId: '00000000-0000-0000-0000-0000000000aa',
    kind: '',
    location: vm.location,
    resourceGroup: vm.resourceGroup.toLowerCase(),
    subscriptionId: vmSubscriptionOf(fleet, vm),
    tags: {},
    properties: arm.properties,
  };
}

/** The rows of one resource type (`undefined`: every type), each with the VM it belongs to. */
function rowsOf(fleet: Fleet, vms: FleetVm[], type: string | undefined): { rows: JsonObject[]; owners: FleetVm[] } {
  const rows: JsonObject[] = [];
  const owners: FleetVm[] = [];
  const want = (t: string): boolean => type === undefined || type === t;
  for (const vm of vms) {
    if (want(TYPES.vm)) {
      rows.push(graphRowOf(fleet, vm));
      owners.push(vm);
    }
    if (want(TYPES.nic)) {
      rows.push(armRow(fleet, vm, nicResourceOf(fleet, vm), TYPES.nic));
      owners.push(vm);
    }
    if (want(TYPES.nsg)) {
      rows.push(armRow(fleet, vm, nsgResourceOf(fleet, vm), TYPES.nsg));
      owners.push(vm);
    }
  }
  return { rows, owners };
}

/** `| where type =~ '...'` as the query's first stage decides which rows need building at all. */
function typeOf(query: string): string | undefined {
  const first = parseKql(query)[0];
  if (first && first.kind === 'where' && first.field.toLowerCase() === 'type' && (first.op === '=~' || first.op === '==') && first.values.length === 1) {
    return first.values[0]?.toLowerCase();
  }
  return undefined;
}

interface Cursor {
  id: number;
  key: string;
  rows: JsonObject[];
}

const MAX_CURSORS = 32;
const cursors = new WeakMap<Fleet, { next: number; open: Map<number, Cursor> }>();

function cursorStore(fleet: Fleet): { next: number; open: Map<number, Cursor> } {
  let c = cursors.get(fleet);
  if (!c) {
    c = { next: 1, open: new Map() };
    cursors.set(fleet, c);
  }
  return c;
}

const encode = (cursor: number, offset: number): string => Buffer.from(`${cursor}:${offset}`, 'utf8').toString('base64');

/** `cursor:offset`, or a bare offset (the tokens of an earlier simulator). */
function decode(token: string): { cursor?: number; offset: number } | null {
  const text = Buffer.from(token, 'base64').toString('utf8');
  const m = /^(?:(\d+):)?(\d+)$/.exec(text);
  if (!m) return null;
  return { cursor: m[1] === undefined ? undefined : Number(m[1]), offset: Number(m[2]) };
}

export interface GraphContext {
  fleet: Fleet;
  now: () => Date;
  /** the injected ARM fault of a VM in the result, if one is due (a throttled shard fails the query) */
  faultFor(vm: FleetVm): { status: number; body?: unknown; headers?: Record<string, string> } | null;
}

export function answerGraphQuery(ctx: GraphContext, b: GraphRequest): GraphAnswer | { status: number; body?: unknown; headers?: Record<string, string> } {
  if (typeof b.query !== 'string') return { status: 400, body: armError('BadRequest', 'Please provide a query.') };
  const subs = Array.isArray(b.subscriptions) ? b.subscriptions.filter((s): s is string => typeof s === 'string') : [];
  const wanted = new Set(subs.map((s) => s.toLowerCase()));
  const top = Math.min(Math.max(Number(b.options?.$top ?? 100) || 100, 1), 1000);
  let skip = Math.max(Number(b.options?.$skip ?? 0) || 0, 0);
  const key = JSON.stringify([b.query, [...wanted].sort()]);
  const store = cursorStore(ctx.fleet);
  let cursor: Cursor | undefined;
  if (typeof b.options?.$skipToken === 'string') {
    const t = decode(b.options.$skipToken);
    if (!t) return { status: 400, body: armError('BadRequest', 'The $skipToken is invalid.') };
    skip = t.offset;
    const open = t.cursor === undefined ? undefined : store.open.get(t.cursor);
    if (open && open.key === key) cursor = open;
  }
  if (!cursor) {
    try {
      const visible = subs.length === 0 ? ctx.fleet.vms : ctx.fleet.vms.filter((v) => wanted.has(vmSubscriptionOf(ctx.fleet, v).toLowerCase()));
      const { rows, owners } = rowsOf(ctx.fleet, visible, typeOf(b.query));
      const ownerOf = new Map<unknown, FleetVm>(rows.map((r, i) => [r.id, owners[i] as FleetVm]));
      const matched = runKql(b.query, rows);
      // a throttled or failing VM in the result makes the whole query fail, as a busy shard would
      if (visible.some((v) => v.faults.arm !== 'none')) {
        const faulty = matched.map((r) => ownerOf.get(r.id)).find((v) => v && v.faults.arm !== 'none');
        const fault = faulty ? ctx.faultFor(faulty) : null;
        if (fault) return fault;
      }
      cursor = { id: store.next++, key, rows: matched };
    } catch (e) {
      if (e instanceof KqlError) return { status: 400, body: { error: { code: 'BadRequest', message: 'Please provide below info when asking for support: timestamp = ' + ctx.now().toISOString(), details: [{ code: 'InvalidQuery', message: `Query is invalid. ${e.message}` }] } } };
      throw e;
    }
  }
  const rows = cursor.rows;
  const page = rows.slice(skip, skip + top);
  const body: JsonObject = { totalRecords: rows.length, count: page.length, resultTruncated: 'false', facets: [], data: page };
  if (skip + top < rows.length) {
    if (!store.open.has(cursor.id)) {
      store.open.set(cursor.id, cursor);
      // the oldest cursors go first: a client that never pages on costs nothing for long
      while (store.open.size > MAX_CURSORS) store.open.delete(store.open.keys().next().value as number);
    }
    body.$skipToken = encode(cursor.id, skip + top);
  } else store.open.delete(cursor.id);
  return { status: 200, body };
}
