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

/** Sources that are inside Azure (the default rules' tags): they do not make RDP reachable from outside. */
const INTERNAL_TAGS = new Set(['virtualnetwork', 'azureloadbalancer']);
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

function isPublic(s: Source & { kind: 'cidr' }): boolean {
  return !PRIVATE_V4.some(([a, b]) => s.first >= a && s.last <= b);
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

/** Does a Deny for `d` stop every packet an Allow for `a` would let in (from outside Azure)? */
function covers(d: Source, a: Source): boolean {
  if (d.kind === 'any') return true;
  if (d.kind === 'internet') return a.kind !== 'cidr' || isPublic(a);
  if (d.kind === 'cidr') return a.kind === 'cidr' && a.first >= d.first && a.last <= d.last;
  return a.kind === 'tag' && a.name === d.name;
}

/** Common part of two sources; unknown tags are assumed to overlap (never claim "blocked" on a guess). */
function intersect(a: Source, b: Source): Source | null {
  if (a.kind === 'any') return b;
  if (b.kind === 'any') return a;
  if (a.kind === 'internet' && b.kind === 'internet') return a;
  if (a.kind === 'cidr' && b.kind === 'cidr') {
    if (a.last < b.first || b.last < a.first) return null;
    return a.last - a.first <= b.last - b.first ? a : b;
  }
  if (a.kind === 'internet' && b.kind === 'cidr') return isPublic(b) ? b : null;
  if (b.kind === 'internet' && a.kind === 'cidr') return isPublic(a) ? a : null;
  if (a.kind === 'cidr') return a;
  if (b.kind === 'cidr') return b;
  return a;
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
  /** no source outside the virtual network reaches the port */
  blocked: boolean;
  /** why it is blocked: per NSG, the first Deny that covers the port (if any); nsg without allow */
  blockingNsgs: Array<{ nsg: EffectiveNsg; deny: EffectiveSecurityRule | null }>;
  /** allowed sources exist in every NSG, but none is common to all of them */
  noCommonSource: boolean;
  /** the Allow rules that let outside sources reach the port, per NSG */
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

/** Allow rules every source of which is not already denied by a higher-priority rule; internal tags left out. */
function effectiveAllows(nsg: EffectiveNsg, port: number): Array<{ rule: EffectiveSecurityRule; sources: Source[] }> {
  const denied: Source[] = [];
  const out: Array<{ rule: EffectiveSecurityRule; sources: Source[] }> = [];
  for (const r of matchingRules(nsg, port)) {
    const sources = namedSources(r).map(parseSource);
    if (r.access === 'Deny') {
      denied.push(...sources);
      continue;
    }
    const external = sources.filter((s) => !(s.kind === 'tag' && INTERNAL_TAGS.has(s.name)));
    const open = external.filter((s) => !denied.some((d) => covers(d, s)));
    if (open.length > 0) out.push({ rule: r, sources: open });
  }
  return out;
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
  const allows = nsgs.map((nsg) => ({ nsg, allows: effectiveAllows(nsg, port) }));
  for (const a of allows) for (const x of a.allows) verdict.allowingRules.push({ nsg: a.nsg, rule: x.rule });
  const empty = allows.filter((a) => a.allows.length === 0);
  if (empty.length > 0) {
    verdict.blocked = true;
    verdict.blockingNsgs = empty.map((a) => ({
      nsg: a.nsg,
      deny: matchingRules(a.nsg, port).find((r) => r.access === 'Deny') ?? null,
    }));
    return verdict;
  }
  let common: Source[] = allows[0].allows.flatMap((x) => x.sources);
  for (const a of allows.slice(1)) {
    const next = a.allows.flatMap((x) => x.sources);
    common = common.flatMap((c) => next.map((n) => intersect(c, n)).filter((s): s is Source => s !== null));
  }
  if (common.length === 0) {
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
