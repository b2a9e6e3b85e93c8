import { z } from 'zod';
import type { EffectiveNsg, EffectiveSecurityRule, ScriptParameter, SecurityRuleSpec, VmDetails } from '../azure/gateway';
import { DomainError } from '../errors';
import { t } from '../i18n';
import { VM_NAME, type DiagnosticFacts } from './diagnostic-output';
import type { Finding, FindingId } from './findings';
import { evaluateNsgs, internetExposingRule, isInternetWide, matchingRules, portSpecCovers, rulePorts, ruleShortName } from './nsg';
import { encodeParam, getScript, type ScriptId } from './scripts';

/** CONTRACTS.md §2: the approved catalogue. */
export const FIX_IDS = [
  'restrict-rdp-source',
  'free-rdp-port',
  'change-rdp-port',
  'start-termservice',
  'fix-firewall-rule',
  'renew-rdp-cert',
  'reset-machinekeys-acl',
  'enable-tls',
  'enable-nla',
  'start-vm',
  'restart-vm',
  'snapshot-os-disk',
] as const;
export type FixId = (typeof FIX_IDS)[number];
export type Risk = 'low' | 'medium' | 'high';

/** An ARM change, described as data; the caller performs it through the AzureGateway. */
export type ArmOp =
  | { op: 'startVm' }
  | { op: 'restartVm' }
  | { op: 'snapshotOsDisk'; snapshotName: string }
  | { op: 'nsgRules'; rules: NsgRuleChange[] };

export interface NsgRuleChange {
  nsgId: string;
  /** the complete rule to PUT (same name and priority as the effective rule it replaces) */
  rule: SecurityRuleSpec;
  /** the rule also covers ports other than RDP: changing its source changes them too */
  coversOtherPorts: boolean;
}

export interface FixDef {
  id: FixId;
  addresses: readonly FindingId[];
  risk: Risk;
  /** the VM must be restarted (through ARM, by the caller) before the change takes effect */
  needsRestart: boolean;
  kind: 'script' | 'arm';
  scriptId?: ScriptId;
  /** strict schema of the parameters the user (or the card) supplies */
  params: z.ZodType;
}

export interface ScriptFixRun {
  kind: 'script';
  fixId: FixId;
  scriptId: ScriptId;
  script: string;
  parameters: ScriptParameter[];
  needsRestart: boolean;
  /** an ARM change to make after the script succeeded (change-rdp-port: the NSG rule for the new port) */
  arm?: ArmOp;
}

export interface ArmFixRun {
  kind: 'arm';
  fixId: FixId;
  arm: ArmOp;
  needsRestart: false;
}

export type FixRun = ScriptFixRun | ArmFixRun;

/** What buildFixRun may need besides the facts. */
export interface FixContext {
  vm?: VmDetails;
  nsgs?: EffectiveNsg[] | null;
  now?: Date;
}

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const portParam = z.union([z.number(), z.string().regex(/^\d{1,5}$/).transform(Number)]).pipe(z.number().int().min(1025).max(65535));
const serviceName = z.string().regex(/^[A-Za-z0-9_.$ -]{1,80}$/);
const snapshotName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$/);
const none = z.strictObject({});

export const FIX_PARAMS = {
  'restrict-rdp-source': z.strictObject({ source: z.string().max(18) }),
  'free-rdp-port': z.strictObject({ service: serviceName, disable: flag.optional() }),
  'change-rdp-port': z.strictObject({ port: portParam }),
  'start-termservice': none,
  'fix-firewall-rule': none,
  'renew-rdp-cert': none,
  'reset-machinekeys-acl': z.strictObject({ scope: z.enum(['rdpkey', 'all']).optional() }),
  'enable-tls': z.strictObject({ tls10: flag.optional(), tls11: flag.optional() }),
  'enable-nla': none,
  'start-vm': none,
  'restart-vm': none,
  'snapshot-os-disk': z.strictObject({ snapshotName: snapshotName.optional() }),
} as const;

export const FIXES: Record<FixId, FixDef> = {
  'restrict-rdp-source': {
    id: 'restrict-rdp-source',
    addresses: ['rdp-exposed-to-internet', 'brute-force-suspected'],
    risk: 'medium',
    needsRestart: false,
    kind: 'arm',
    params: FIX_PARAMS['restrict-rdp-source'],
  },
  'free-rdp-port': {
    id: 'free-rdp-port',
    addresses: ['rdp-port-conflict'],
    risk: 'medium',
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-free-rdp-port',
    params: FIX_PARAMS['free-rdp-port'],
  },
  'change-rdp-port': {
    id: 'change-rdp-port',
    addresses: ['rdp-port-conflict'],
    risk: 'high',
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-change-rdp-port',
    params: FIX_PARAMS['change-rdp-port'],
  },
  'start-termservice': {
    id: 'start-termservice',
    addresses: ['termservice-stopped', 'rdp-not-listening'],
    risk: 'low',
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-start-termservice',
    params: FIX_PARAMS['start-termservice'],
  },
  'fix-firewall-rule': {
    id: 'fix-firewall-rule',
    addresses: ['firewall-rule-mismatch'],
    risk: 'low',
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-fix-firewall-rule',
    params: FIX_PARAMS['fix-firewall-rule'],
  },
  'renew-rdp-cert': {
    id: 'renew-rdp-cert',
    addresses: ['rdp-cert-missing', 'rdp-cert-binding-broken', 'rdp-cert-expired', 'rdp-cert-expiring', 'rdp-cert-no-private-key', 'cert-key-errors-logged'],
    risk: 'low',
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-renew-rdp-cert',
    params: FIX_PARAMS['renew-rdp-cert'],
  },
  'reset-machinekeys-acl': {
    id: 'reset-machinekeys-acl',
    addresses: ['machinekeys-acl-broken', 'cert-key-errors-logged'],
    risk: 'high',
    needsRestart: true,
    kind: 'script',
    scriptId: 'fix-reset-machinekeys-acl',
    params: FIX_PARAMS['reset-machinekeys-acl'],
  },
  'enable-tls': {
    id: 'enable-tls',
    addresses: ['tls-disabled'],
    risk: 'medium',
    needsRestart: true,
    kind: 'script',
    scriptId: 'fix-enable-tls',
    params: FIX_PARAMS['enable-tls'],
  },
  'enable-nla': {
    id: 'enable-nla',
    addresses: ['nla-disabled'],
    risk: 'medium',
    needsRestart: true,
    kind: 'script',
    scriptId: 'fix-enable-nla',
    params: FIX_PARAMS['enable-nla'],
  },
  'start-vm': { id: 'start-vm', addresses: ['vm-not-running'], risk: 'low', needsRestart: false, kind: 'arm', params: FIX_PARAMS['start-vm'] },
  'restart-vm': {
    id: 'restart-vm',
    addresses: ['vm-agent-not-ready'],
    risk: 'medium',
    needsRestart: false,
    kind: 'arm',
    params: FIX_PARAMS['restart-vm'],
  },
  'snapshot-os-disk': {
    id: 'snapshot-os-disk',
    addresses: [],
    risk: 'low',
    needsRestart: false,
    kind: 'arm',
    params: FIX_PARAMS['snapshot-os-disk'],
  },
};

export function isFixId(id: string): id is FixId {
  return (FIX_IDS as readonly string[]).includes(id);
}

export interface FixSuggestion {
  id: FixId;
  /** the findings of this diagnosis the fix addresses */
  addresses: FindingId[];
  risk: Risk;
  needsRestart: boolean;
  kind: 'script' | 'arm';
}

/** Fixes for a diagnosis, the one for the most severe finding first. */
export function fixesFor(findings: readonly Finding[]): FixSuggestion[] {
  const order = findings.map((f) => f.id);
  const present = new Set(order);
  const out: FixSuggestion[] = [];
  for (const id of FIX_IDS) {
    const def = FIXES[id];
    const addresses = def.addresses.filter((a) => present.has(a));
    if (addresses.length === 0) continue;
    out.push({ id, addresses, risk: def.risk, needsRestart: def.needsRestart, kind: def.kind });
  }
  const firstIndex = (s: FixSuggestion) => Math.min(...s.addresses.map((a) => order.indexOf(a)));
  return out.sort((a, b) => firstIndex(a) - firstIndex(b) || FIX_IDS.indexOf(a.id) - FIX_IDS.indexOf(b.id));
}

function badInput(detailKey: string, params: Record<string, string | number> = {}): DomainError {
  return new DomainError('bad-input', t('en', detailKey, params), {
    params: { ...params, detailKey, detail: t('en', detailKey, params) },
  });
}

function parseParams<T extends z.ZodType>(schema: T, params: unknown, fixId: FixId): z.infer<T> {
  const r = schema.safeParse(params ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw badInput('runbook.param.invalid', { fix: fixId, field: issue?.path.join('.') || '-' });
  }
  return r.data;
}

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

/** Ports Windows management uses (WinRM): moving RDP there breaks remote management. */
const RESERVED_PORTS = new Set([5985, 5986, 47001]);

function requireFacts(facts: DiagnosticFacts | null, fixId: FixId): DiagnosticFacts {
  if (!facts) throw badInput('runbook.param.needsDiagnosis', { fix: fixId });
  return facts;
}

/** Services that hold the RDP port according to the diagnosis (the only ones free-rdp-port may stop). */
export function conflictingServices(facts: DiagnosticFacts): string[] {
  const out: string[] = [];
  for (const l of facts.listeners ?? []) {
    if (l.svc.includes('TermService')) continue;
    for (const s of l.svc) if (VM_NAME.test(s) && !out.includes(s)) out.push(s);
  }
  return out;
}

/**
 * Validates the parameters against the fix's schema and the diagnosis, and returns what to run.
 * Throws DomainError('bad-input') with `params.detailKey` (an i18n key) when they do not fit.
 */
export function buildFixRun(fixId: string, params: unknown, facts: DiagnosticFacts | null, ctx: FixContext = {}): FixRun {
  if (!isFixId(fixId)) throw badInput('runbook.param.unknownFix', { fix: String(fixId).slice(0, 40) });
  const def = FIXES[fixId];
  switch (fixId) {
    case 'restrict-rdp-source': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      const source = validateSourceCidr(p.source);
      return { kind: 'arm', fixId, arm: { op: 'nsgRules', rules: restrictChanges(ctx.nsgs, facts?.port ?? 3389, source) }, needsRestart: false };
    }
    case 'free-rdp-port': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      const f = requireFacts(facts, fixId);
      const allowed = conflictingServices(f);
      if (!allowed.includes(p.service) || ['TermService', 'SessionEnv', 'UmRdpService'].includes(p.service)) {
        throw badInput('runbook.param.serviceNotHolding', { service: p.service, port: f.port ?? 3389 });
      }
      return script(def, [
        { name: 'Service', value: encodeParam(p.service) },
        { name: 'Disable', value: p.disable ? '1' : '0' },
      ]);
    }
    case 'change-rdp-port': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      const f = requireFacts(facts, fixId);
      const current = f.port ?? 3389;
      if (p.port === current) throw badInput('runbook.param.portSame', { port: p.port });
      if (RESERVED_PORTS.has(p.port)) throw badInput('runbook.param.portReserved', { port: p.port });
      const run = script(def, [{ name: 'Port', value: String(p.port) }]);
      const rules = portMoveChanges(ctx.nsgs, current, p.port);
      return rules.length > 0 ? { ...run, arm: { op: 'nsgRules', rules } } : run;
    }
    case 'reset-machinekeys-acl': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      return script(def, [{ name: 'Scope', value: p.scope ?? 'rdpkey' }]);
    }
    case 'enable-tls': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      return script(def, [
        { name: 'Tls10', value: p.tls10 ? '1' : '0' },
        { name: 'Tls11', value: p.tls11 ? '1' : '0' },
      ]);
    }
    case 'start-termservice':
    case 'fix-firewall-rule':
    case 'renew-rdp-cert':
    case 'enable-nla':
      parseParams(FIX_PARAMS[fixId], params, fixId);
      return script(def, []);
    case 'start-vm':
      parseParams(FIX_PARAMS[fixId], params, fixId);
      return { kind: 'arm', fixId, arm: { op: 'startVm' }, needsRestart: false };
    case 'restart-vm':
      parseParams(FIX_PARAMS[fixId], params, fixId);
      return { kind: 'arm', fixId, arm: { op: 'restartVm' }, needsRestart: false };
    case 'snapshot-os-disk': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      return { kind: 'arm', fixId, arm: { op: 'snapshotOsDisk', snapshotName: p.snapshotName ?? defaultSnapshotName(ctx) }, needsRestart: false };
    }
  }
}

function script(def: FixDef, parameters: ScriptParameter[]): ScriptFixRun {
  if (!def.scriptId) throw new DomainError('internal', `fix ${def.id} has no script`);
  const s = getScript(def.scriptId);
  return { kind: 'script', fixId: def.id, scriptId: def.scriptId, script: s.source, parameters, needsRestart: def.needsRestart };
}

export function defaultSnapshotName(ctx: FixContext): string {
  const stamp = (ctx.now ?? new Date()).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const vm = (ctx.vm?.name ?? 'vm').replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 50);
  return `${vm}-osdisk-rdpdoctor-${stamp}`.replace(/^[^A-Za-z0-9]+/, 'x').slice(0, 80);
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

/** Every non-default Allow that lets Internet-wide sources reach the port before a Deny for them, per NSG. */
function restrictChanges(nsgs: EffectiveNsg[] | null | undefined, port: number, source: string): NsgRuleChange[] {
  if (!nsgs) throw badInput('runbook.param.nsgUnknown');
  const changes: NsgRuleChange[] = [];
  for (const nsg of nsgs) {
    if (!internetExposingRule(nsg, port) || !nsg.networkSecurityGroupId) continue;
    for (const r of matchingRules(nsg, port)) {
      if (!isInternetWide(r)) continue;
      if (r.access === 'Deny') break;
      if (isDefaultRule(r)) continue;
      const rule = specFrom(r, { sourceAddressPrefix: source, description: 'RDP source restricted by RDP Doctor' });
      delete rule.sourceAddressPrefixes;
      changes.push({ nsgId: nsg.networkSecurityGroupId, rule, coversOtherPorts: !coversOnly(r, port) });
    }
  }
  if (changes.length === 0) throw badInput('runbook.param.nothingToRestrict', { port });
  return changes;
}

/** The Allow rules that carry RDP today, extended (or moved) to the new port. */
function portMoveChanges(nsgs: EffectiveNsg[] | null | undefined, oldPort: number, newPort: number): NsgRuleChange[] {
  if (!nsgs) return [];
  const verdict = evaluateNsgs(nsgs, oldPort);
  const changes: NsgRuleChange[] = [];
  for (const { nsg, rule } of verdict.allowingRules) {
    if (!nsg.networkSecurityGroupId || isDefaultRule(rule)) continue;
    if (rulePorts(rule).some((s) => portSpecCovers(s, newPort))) continue;
    const moved = coversOnly(rule, oldPort);
    const ports = moved ? [String(newPort)] : [...rulePorts(rule).map(shortRange), String(newPort)];
    const spec = specFrom(rule, ports.length === 1 ? { destinationPortRange: ports[0] } : { destinationPortRanges: ports });
    if (ports.length === 1) delete spec.destinationPortRanges;
    else delete spec.destinationPortRange;
    changes.push({ nsgId: nsg.networkSecurityGroupId, rule: spec, coversOtherPorts: !moved });
  }
  return changes;
}

