import type { EffectiveNsg, EffectiveSecurityRule } from '../azure/gateway';

/**
 * Effective NSG evaluation for inbound TCP to one port. Rules are read the way Azure applies
 * them: inbound only, lowest priority number first, first match wins; when a subnet NSG and a
 * NIC NSG both apply, traffic must be allowed by both.
 */

/** Azure's default inbound rules, as effectiveNetworkSecurityGroups returns them. */
export const AZURE_DEFAULT_INBOUND_RULES: EffectiveSecurityRule[] = [
  {
    name: 'defaultSecurityRules/AllowVnetInBound',
    protocol: 'All',
    sourceAddressPrefix: 'VirtualNetwork',
    destinationPortRange: '0-65535',
    access: 'Allow',
    priority: 65000,
    direction: 'Inbound',
  },
  {
    name: 'defaultSecurityRules/AllowAzureLoadBalancerInBound',
    protocol: 'All',
    sourceAddressPrefix: 'AzureLoadBalancer',
    destinationPortRange: '0-65535',
    access: 'Allow',
    priority: 65001,
    direction: 'Inbound',
  },
  {
    name: 'defaultSecurityRules/DenyAllInBound',
    protocol: 'All',
    sourceAddressPrefix: '0.0.0.0/0',
    destinationPortRange: '0-65535',
    access: 'Deny',
    priority: 65500,
    direction: 'Inbound',
  },
];

type Source =
  | { kind: 'any' } // *, Any, 0.0.0.0/0, ::/0
  | { kind: 'internet' }
  | { kind: 'cidr'; first: number; last: number; text: string }
  | { kind: 'tag'; name: string };

const ANY_TOKENS = new Set(['*', 'any', '0.0.0.0/0', '::/0']);
const PRIVATE_V4: Array<[number, number]> = [
  cidrRange('10.0.0.0', 8),
  cidrRange('172.16.0.0', 12),
  cidrRange('192.168.0.0', 16),
  cidrRange('100.64.0.0', 10),
  cidrRange('127.0.0.0', 8),
];

function ipv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

function cidrRange(ip: string, bits: number): [number, number] {
  const base = ipv4(ip) ?? 0;
  const size = 2 ** (32 - bits);
  const first = Math.floor(base / size) * size;
  return [first, first + size - 1];
}

export function parseSource(token: string): Source {
  const t = token.trim();
  const lower = t.toLowerCase();
  if (ANY_TOKENS.has(lower)) return { kind: 'any' };
  if (lower === 'internet') return { kind: 'internet' };
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(t);
  if (m && ipv4(m[1]) !== null) {
    const bits = m[2] === undefined ? 32 : Number(m[2]);
    if (bits <= 32) {
      if (bits === 0) return { kind: 'any' };
      const [first, last] = cidrRange(m[1], bits);
      return { kind: 'cidr', first, last, text: t };
    }
  }
  return { kind: 'tag', name: lower };
}

/** The named sources of a rule; the expansion is used only when nothing is named. */
function namedSources(rule: EffectiveSecurityRule): string[] {
  const named = [rule.sourceAddressPrefix, ...(rule.sourceAddressPrefixes ?? [])].filter(
    (x): x is string => typeof x === 'string' && x.trim() !== '',
  );
  return named.length > 0 ? named : (rule.expandedSourceAddressPrefix ?? []);
}

/** Every token a rule names or expands to (the expansion of `Internet` may be the only hint). */
function allSources(rule: EffectiveSecurityRule): string[] {
  return [...namedSources(rule), ...(rule.expandedSourceAddressPrefix ?? [])];
}

export function sourceText(rule: EffectiveSecurityRule): string {
  const s = namedSources(rule);
  return s.length > 0 ? s.join(', ') : '*';
}

export function isInternetWide(rule: EffectiveSecurityRule): boolean {
  return allSources(rule).some((x) => {
    const k = parseSource(x).kind;
    return k === 'any' || k === 'internet';
  });
}

/** A port spec: "3389", "3000-4000", "3389-3389", "0-65535", "*"; a comma list is tolerated. */
export function portSpecCovers(spec: string, port: number): boolean {
  return spec.split(',').some((part) => {
    const p = part.trim();
    if (p === '*' || p.toLowerCase() === 'any') return true;
    const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(p);
    if (!m) return false;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    return port >= lo && port <= hi;
  });
}

export function rulePorts(rule: EffectiveSecurityRule): string[] {
  const specs = [rule.destinationPortRange, ...(rule.destinationPortRanges ?? [])].filter(
    (x): x is string => typeof x === 'string' && x.trim() !== '',
  );
  return specs.length > 0 ? specs : ['*'];
}

export function coversTcpPort(rule: EffectiveSecurityRule, port: number): boolean {
  if (rule.direction.toLowerCase() !== 'inbound') return false;
  const proto = rule.protocol.trim().toLowerCase();
  if (proto !== '*' && proto !== 'all' && proto !== 'tcp' && proto !== 'any') return false;
  return rulePorts(rule).some((s) => portSpecCovers(s, port));
}

/** Inbound rules that apply to TCP/port, in the order Azure evaluates them. */
export function matchingRules(nsg: EffectiveNsg, port: number): EffectiveSecurityRule[] {
  return nsg.rules.filter((r) => coversTcpPort(r, port)).sort((a, b) => a.priority - b.priority);
}

// --- who can still reach the port (issue #14 item 4, CONTRACTS §1: rdp-blocked-by-nsg) ---
// A source is modelled as a set of IPv4 ranges plus opaque service tags. `VirtualNetwork` stands
// for the private ranges (the VNet, peered VNets and on-premises over VPN use them), `Internet` for
// the rest, `*` for both and every tag. An allow that only the virtual network can use is still an
// allow: VPN, peering and Bastion users connect through it, so such a VM is not "blocked".

const V4_LAST = 2 ** 32 - 1;
type Ranges = Array<[number, number]>;
interface AddrSet {
  v4: Ranges;
  /** service tags other than VirtualNetwork and Internet (AzureCloud, Storage, ...), lower case */
  tags: Set<string>;
  /** every tag (the source was `*`) */
  allTags: boolean;
}

/** Service tags whose sources are Azure's own probes and control planes, never a person connecting. */
export const NON_USER_TAGS = new Set(['azureloadbalancer', 'gatewaymanager', 'azuretrafficmanager']);

const PRIVATE_RANGES: Ranges = normalize(PRIVATE_V4.map(([a, b]): [number, number] => [a, b]));
const PUBLIC_RANGES: Ranges = subtractRanges([[0, V4_LAST]], PRIVATE_RANGES);

function normalize(r: Ranges): Ranges {
  const sorted = [...r].sort((x, y) => x[0] - y[0]);
  const out: Ranges = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function subtractRanges(from: Ranges, minus: Ranges): Ranges {
  let out = from;
  for (const [c, d] of minus) {
    const next: Ranges = [];
    for (const [a, b] of out) {
      if (d < a || c > b) next.push([a, b]);
      else {
        if (a < c) next.push([a, c - 1]);
        if (d < b) next.push([d + 1, b]);
      }
    }
    out = next;
  }
  return out;
}

function intersectRanges(x: Ranges, y: Ranges): Ranges {
  const out: Ranges = [];
  for (const [a, b] of x) for (const [c, d] of y) if (Math.max(a, c) <= Math.min(b, d)) out.push([Math.max(a, c), Math.min(b, d)]);
  return normalize(out);
}

const EMPTY = (): AddrSet => ({ v4: [], tags: new Set(), allTags: false });
const isEmpty = (s: AddrSet): boolean => s.v4.length === 0 && s.tags.size === 0 && !s.allTags;

/** The addresses a source token stands for; `forAllow` leaves out the tags no user connects from. */
function addrSetOf(src: Source, forAllow: boolean): AddrSet {
  const s = EMPTY();
  if (src.kind === 'any') return { v4: [[0, V4_LAST]], tags: new Set(), allTags: true };
  if (src.kind === 'internet') s.v4 = PUBLIC_RANGES;
  else if (src.kind === 'cidr') s.v4 = [[src.first, src.last]];
  else if (src.name === 'virtualnetwork') s.v4 = PRIVATE_RANGES;
  else if (!(forAllow && NON_USER_TAGS.has(src.name))) s.tags.add(src.name);
  return s;
}

function union(x: AddrSet, y: AddrSet): AddrSet {
  return { v4: normalize([...x.v4, ...y.v4]), tags: new Set([...x.tags, ...y.tags]), allTags: x.allTags || y.allTags };
}

/** What of `x` a Deny for `d` leaves: a deny of `Internet` takes the public service tags too. */
function subtract(x: AddrSet, d: Source): AddrSet {
  if (d.kind === 'any') return EMPTY();
  const ds = addrSetOf(d, false);
  const tagsGone = d.kind === 'internet';
  return {
    v4: subtractRanges(x.v4, ds.v4),
    tags: tagsGone ? new Set() : new Set([...x.tags].filter((t) => !ds.tags.has(t))),
    allTags: x.allTags && !tagsGone,
  };
}

/** Sources both NSGs let through; a service tag is assumed to meet anything non-empty (never claim "blocked" on a guess). */
function intersect(x: AddrSet, y: AddrSet): AddrSet {
  if (isEmpty(x) || isEmpty(y)) return EMPTY();
  return { v4: intersectRanges(x.v4, y.v4), tags: new Set([...x.tags, ...y.tags]), allTags: x.allTags && y.allTags };
}

export interface RuleRef {
  nsg: EffectiveNsg;
  rule: EffectiveSecurityRule;
}

export interface NsgVerdict {
  port: number;
  /** true when no NSG applies at all (every port open wherever the VM is routable) */
  noNsg: boolean;
  /** an Internet-wide source gets through every NSG: the rule that lets it in, per NSG */
  exposed: boolean;
  exposingRules: RuleRef[];
  /** no user's source reaches the port, not even from the virtual network (VPN, peering, Bastion) */
  blocked: boolean;
  /** why it is blocked: per NSG, the first Deny that covers the port (if any); nsg without allow */
  blockingNsgs: Array<{ nsg: EffectiveNsg; deny: EffectiveSecurityRule | null }>;
  /** allowed sources exist in every NSG, but none is common to all of them */
  noCommonSource: boolean;
  /** the Allow rules that let some user's source (the virtual network's included) reach the port, per NSG */
  allowingRules: RuleRef[];
}

/** The rule that lets Internet-wide traffic in, or null when a Deny for it comes first (or nothing matches). */
export function internetExposingRule(nsg: EffectiveNsg, port: number): EffectiveSecurityRule | null {
  for (const r of matchingRules(nsg, port)) {
    if (!isInternetWide(r)) continue;
    return r.access === 'Allow' ? r : null;
  }
  return null;
}

/** Allow rules that still let some user's source in after the higher-priority denies, and the union of those sources. */
function effectiveAllows(nsg: EffectiveNsg, port: number): { rules: EffectiveSecurityRule[]; reach: AddrSet } {
  const denied: Source[] = [];
  const rules: EffectiveSecurityRule[] = [];
  let reach = EMPTY();
  for (const r of matchingRules(nsg, port)) {
    const sources = namedSources(r).map(parseSource);
    if (r.access === 'Deny') {
      denied.push(...sources);
      continue;
    }
    let open = sources.map((x) => addrSetOf(x, true)).reduce(union, EMPTY());
    for (const d of denied) open = subtract(open, d);
    if (isEmpty(open)) continue;
    rules.push(r);
    reach = union(reach, open);
  }
  return { rules, reach };
}

export function evaluateNsgs(nsgs: EffectiveNsg[], port: number): NsgVerdict {
  const verdict: NsgVerdict = {
    port,
    noNsg: nsgs.length === 0,
    exposed: false,
    exposingRules: [],
    blocked: false,
    blockingNsgs: [],
    noCommonSource: false,
    allowingRules: [],
  };
  if (nsgs.length === 0) {
    verdict.exposed = true;
    return verdict;
  }
  const exposing = nsgs.map((nsg) => ({ nsg, rule: internetExposingRule(nsg, port) }));
  if (exposing.every((e) => e.rule !== null)) {
    verdict.exposed = true;
    verdict.exposingRules = exposing.map((e) => ({ nsg: e.nsg, rule: e.rule as EffectiveSecurityRule }));
  }
  const allows = nsgs.map((nsg) => ({ nsg, ...effectiveAllows(nsg, port) }));
  for (const a of allows) for (const rule of a.rules) verdict.allowingRules.push({ nsg: a.nsg, rule });
  const empty = allows.filter((a) => isEmpty(a.reach));
  if (empty.length > 0) {
    verdict.blocked = true;
    verdict.blockingNsgs = empty.map((a) => ({
      nsg: a.nsg,
      deny: matchingRules(a.nsg, port).find((r) => r.access === 'Deny') ?? null,
    }));
    return verdict;
  }
  const common = allows.slice(1).reduce((acc, a) => intersect(acc, a.reach), allows[0].reach);
  if (isEmpty(common)) {
    verdict.blocked = true;
    verdict.noCommonSource = true;
  }
  return verdict;
}

/** Display name of an NSG: its resource name, else what it is associated with. */
export function nsgName(nsg: EffectiveNsg): string {
  const id = nsg.networkSecurityGroupId;
  if (id) return id.split('/').filter(Boolean).pop() ?? id;
  return nsg.associatedWith;
}

/** "securityRules/allow-rdp" -> "allow-rdp" */
export function ruleShortName(rule: EffectiveSecurityRule): string {
  return rule.name.replace(/^(default)?securityRules\//i, '');
}
