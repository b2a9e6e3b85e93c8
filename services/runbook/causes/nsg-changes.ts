import type { EffectiveNsg, EffectiveSecurityRule, NsgDetails, SecurityRuleSpec } from '../../azure/gateway';
import type { NsgRuleChange } from '../fixes';
import { evaluateNsgs, internetExposingRule, isInternetWide, matchingRules, portSpecCovers, rulePorts, ruleShortName } from '../nsg';
import { badInput } from './kit';

/**
 * The NSG rule changes of the fixes that touch NSGs (restrict-rdp-source, change-rdp-port),
 * computed from the effective rules and the NSGs as ARM stores them. fixes.ts re-exports
 * validateSourceCidr.
 */

/**
 * A strict IPv4 address or CIDR (canonical: no host bits, no leading zeros), never everything:
 * not `*`, `Internet`, `0.0.0.0/0`, nor a prefix shorter than /8.
 */
export function validateSourceCidr(input: string): string {
  const s = input.trim();
  const m = /^((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})(?:\/(3[0-2]|[12]?\d))?$/.exec(s);
  if (!m) throw badInput('runbook.param.cidrFormat', { value: s.slice(0, 40) });
  const bits = m[2] === undefined ? 32 : Number(m[2]);
  if (bits < 8) throw badInput('runbook.param.cidrTooWide', { value: s });
  const octets = m[1].split('.').map(Number);
  const ip = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  const size = 2 ** (32 - bits);
  if (ip % size !== 0) {
    const base = Math.floor(ip / size) * size;
    const canonical = [base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.');
    throw badInput('runbook.param.cidrHostBits', { value: s, canonical: `${canonical}/${bits}` });
  }
  if (octets[0] === 0) throw badInput('runbook.param.cidrFormat', { value: s });
  return bits === 32 ? m[1] : `${m[1]}/${bits}`;
}

const isDefaultRule = (r: EffectiveSecurityRule): boolean => /^defaultSecurityRules\//i.test(r.name);

/** "3389-3389" -> "3389" (ARM accepts both; the short form is what people write). */
function shortRange(spec: string): string {
  const m = /^(\d+)-(\d+)$/.exec(spec.trim());
  return m && m[1] === m[2] ? m[1] : spec.trim();
}

function specFrom(rule: EffectiveSecurityRule, change: Partial<SecurityRuleSpec>): SecurityRuleSpec {
  const ports = rulePorts(rule).map(shortRange);
  const proto = rule.protocol.toLowerCase();
  const base: SecurityRuleSpec = {
    name: ruleShortName(rule),
    priority: rule.priority,
    direction: rule.direction,
    access: rule.access,
    protocol: proto === 'tcp' ? 'Tcp' : proto === 'udp' ? 'Udp' : '*',
    sourcePortRange: '*',
    destinationAddressPrefix: '*',
    ...(ports.length === 1 ? { destinationPortRange: ports[0] } : { destinationPortRanges: ports }),
    ...(rule.sourceAddressPrefixes && rule.sourceAddressPrefixes.length > 0
      ? { sourceAddressPrefixes: rule.sourceAddressPrefixes }
      : { sourceAddressPrefix: rule.sourceAddressPrefix ?? '*' }),
  };
  return { ...base, ...change };
}

const coversOnly = (rule: EffectiveSecurityRule, port: number): boolean =>
  rulePorts(rule).every((s) => /^\d+(-\d+)?$/.test(s.trim()) && shortRange(s) === String(port));

/** The rule as ARM stores it when the NSG was read (description and all), else rebuilt from the effective rule. */
function storedRule(details: NsgDetails[] | null, nsgId: string, rule: EffectiveSecurityRule): SecurityRuleSpec {
  const name = ruleShortName(rule).toLowerCase();
  const stored = details?.find((d) => d.id.toLowerCase() === nsgId.toLowerCase())?.rules.find((r) => r.name.toLowerCase() === name);
  return stored ? { ...stored } : specFrom(rule, {});
}

const withSources = (rule: SecurityRuleSpec, sources: string[]): SecurityRuleSpec => {
  const out: SecurityRuleSpec = { ...rule };
  delete out.sourceAddressPrefix;
  delete out.sourceAddressPrefixes;
  return sources.length === 1 ? { ...out, sourceAddressPrefix: sources[0] } : { ...out, sourceAddressPrefixes: sources };
};

const sourcesOf = (r: SecurityRuleSpec): string[] => (r.sourceAddressPrefixes && r.sourceAddressPrefixes.length > 0 ? [...r.sourceAddressPrefixes] : [r.sourceAddressPrefix ?? '*']);
const wide = (source: string): boolean => isInternetWide({ name: '', protocol: '*', sourceAddressPrefix: source, access: 'Allow', priority: 0, direction: 'Inbound' });
const portsOf = (r: SecurityRuleSpec): string[] => (r.destinationPortRanges && r.destinationPortRanges.length > 0 ? r.destinationPortRanges : [r.destinationPortRange ?? '*']);

/** A rule name of ours (ARM: 1-80 characters, ending with a letter, digit or _). */
function ourRuleName(kind: 'allow' | 'deny', of: string): string {
  return `rdp-doctor-${kind}-rdp-${of}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 80).replace(/[.-]+$/, '');
}

/**
 * Two free priorities just before `priority` (allow first, then deny) with no rule between them
 * and the broad rule that also matches the port: so nothing else changes for RDP traffic.
 */
function prioritiesBefore(nsg: EffectiveNsg, stored: SecurityRuleSpec[] | undefined, priority: number, port: number, taken: Set<number>): [number, number] | null {
  const inbound = [...(stored ?? []).filter((r) => r.direction === 'Inbound').map((r) => r.priority), ...nsg.rules.filter((r) => r.direction === 'Inbound').map((r) => r.priority)];
  const used = new Set([...inbound, ...taken]);
  const free: number[] = [];
  for (let p = priority - 1; p >= 100 && free.length < 2; p--) if (!used.has(p)) free.push(p);
  if (free.length < 2) return null;
  const [deny, allow] = free;
  const between = matchingRules(nsg, port).filter((r) => r.priority > allow && r.priority < priority);
  return between.length === 0 ? [allow, deny] : null;
}

/**
 * Every non-default Allow that lets Internet-wide sources reach the port before a Deny for them,
 * per NSG. A rule that opens only RDP keeps its name, priority, description and other sources;
 * its Internet-wide source becomes the CIDR. A rule that also opens other ports is not touched:
 * RDP gets its own Allow from the CIDR and a Deny for the rule's Internet-wide sources, just
 * before it, so every other port stays exactly as it was.
 */
export function restrictChanges(nsgs: EffectiveNsg[] | null | undefined, port: number, source: string, details: NsgDetails[] | null): NsgRuleChange[] {
  if (!nsgs) throw badInput('runbook.param.nsgUnknown');
  const changes: NsgRuleChange[] = [];
  for (const nsg of nsgs) {
    if (!internetExposingRule(nsg, port) || !nsg.networkSecurityGroupId) continue;
    const nsgId = nsg.networkSecurityGroupId;
    const taken = new Set<number>();
    for (const r of matchingRules(nsg, port)) {
      if (!isInternetWide(r)) continue;
      if (r.access === 'Deny') break;
      if (isDefaultRule(r)) continue;
      const before = storedRule(details, nsgId, r);
      const kept = sourcesOf(before).filter((x) => !wide(x));
      const otherPorts = portsOf(before).filter((x) => shortRange(x) !== String(port));
      if (coversOnly(r, port)) {
        changes.push({ nsgId, action: 'upsert', before, rule: withSources(before, [...kept, source]), coversOtherPorts: false, otherPorts: [] });
        continue;
      }
      const slots = prioritiesBefore(nsg, details?.find((d) => d.id.toLowerCase() === nsgId.toLowerCase())?.rules, r.priority, port, taken);
      if (!slots) throw badInput('plans.noRoom', { rule: before.name, priority: r.priority });
      const [allowAt, denyAt] = slots;
      taken.add(allowAt).add(denyAt);
      const base = { direction: 'Inbound' as const, protocol: before.protocol, sourcePortRange: '*', destinationAddressPrefix: before.destinationAddressPrefix ?? '*', destinationPortRange: String(port) };
      const allow: SecurityRuleSpec = { ...base, name: ourRuleName('allow', before.name), priority: allowAt, access: 'Allow', sourceAddressPrefix: source, description: `RDP Doctor: RDP only from ${source} (instead of rule ${before.name})` };
      const deny: SecurityRuleSpec = withSources(
        { ...base, name: ourRuleName('deny', before.name), priority: denyAt, access: 'Deny', description: `RDP Doctor: RDP closed for the Internet-wide sources of rule ${before.name}; its other ports unchanged` },
        sourcesOf(before).filter(wide),
      );
      changes.push({ nsgId, action: 'upsert', before: null, rule: allow, coversOtherPorts: true, otherPorts, standsFor: before.name });
      changes.push({ nsgId, action: 'upsert', before: null, rule: deny, coversOtherPorts: true, otherPorts, standsFor: before.name });
    }
  }
  if (changes.length === 0) throw badInput('runbook.param.nothingToRestrict', { port });
  return changes;
}

/** The Allow rules that carry RDP today, extended (or moved) to the new port. */
export function portMoveChanges(nsgs: EffectiveNsg[] | null | undefined, oldPort: number, newPort: number, details: NsgDetails[] | null): NsgRuleChange[] {
  if (!nsgs) return [];
  const verdict = evaluateNsgs(nsgs, oldPort);
  const changes: NsgRuleChange[] = [];
  for (const { nsg, rule } of verdict.allowingRules) {
    if (!nsg.networkSecurityGroupId || isDefaultRule(rule)) continue;
    if (rulePorts(rule).some((s) => portSpecCovers(s, newPort))) continue;
    const before = storedRule(details, nsg.networkSecurityGroupId, rule);
    const moved = coversOnly(rule, oldPort);
    const ports = moved ? [String(newPort)] : [...portsOf(before).map(shortRange), String(newPort)];
    const spec: SecurityRuleSpec = { ...before };
    delete spec.destinationPortRange;
    delete spec.destinationPortRanges;
    if (ports.length === 1) spec.destinationPortRange = ports[0];
    else spec.destinationPortRanges = ports;
    changes.push({ nsgId: nsg.networkSecurityGroupId, action: 'upsert', before, rule: spec, coversOtherPorts: !moved, otherPorts: portsOf(before).filter((x) => shortRange(x) !== String(oldPort)) });
  }
  return changes;
}
