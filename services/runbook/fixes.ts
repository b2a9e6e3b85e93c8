import { z } from 'zod';
import type { EffectiveNsg, EffectiveSecurityRule, NsgDetails, ScriptParameter, SecurityRuleSpec, VmDetails } from '../azure/gateway';
import { DomainError } from '../errors';
import { t } from '../i18n';
import { VM_NAME, type DiagnosticFacts } from './diagnostic-output';
import type { Finding, FindingId } from './findings';
import { registryFix, REGISTRY, type RegistryFixId } from './causes';
import { evaluateNsgs, internetExposingRule, isInternetWide, matchingRules, portSpecCovers, rulePorts, ruleShortName } from './nsg';
import { encodeParam, getScript, type ScriptId } from './scripts';

/** CONTRACTS.md §2 (the fixes not yet moved into services/runbook/causes/). */
const LEGACY_FIX_IDS = [
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
type LegacyFixId = (typeof LEGACY_FIX_IDS)[number];
export type FixId = LegacyFixId | RegistryFixId;
/** CONTRACTS.md §2: the approved catalogue, the legacy fixes and then the registry's. */
export const FIX_IDS: readonly FixId[] = [...LEGACY_FIX_IDS, ...REGISTRY.flatMap((c) => (c.fixes ?? []).map((f) => f.id as RegistryFixId))];
export type Risk = 'low' | 'medium' | 'high';

/** An ARM change, described as data; the caller performs it through the AzureGateway. */
export type ArmOp =
  | { op: 'startVm' }
  | { op: 'restartVm' }
  | { op: 'snapshotOsDisk'; snapshotName: string }
  | { op: 'nsgRules'; rules: NsgRuleChange[] };

export interface NsgRuleChange {
  nsgId: string;
  /** `upsert`: PUT `rule`; `delete`: remove the rule named `rule.name` (it is `before`) */
  action?: 'upsert' | 'delete';
  /** the complete rule to PUT (same name and priority as the effective rule it replaces), or the rule to delete */
  rule: SecurityRuleSpec;
  /** the rule as it is now, as ARM stores it; null when the change creates it */
  before?: SecurityRuleSpec | null;
  /** the rule also covers ports other than RDP: changing its source changes them too */
  coversOtherPorts: boolean;
  /** the ports other than RDP that the touched rule opens: they stay exactly as they are */
  otherPorts?: string[];
  /** a new rule that takes over RDP from this broader rule (which is left as it is) */
  standsFor?: string;
}

export interface FixDef {
  id: FixId;
  addresses: readonly FindingId[];
  risk: Risk;
  /** the VM must be restarted (through ARM, by the caller) before the change takes effect */
  needsRestart: boolean;
  /** the fix changes what is on the OS disk (or may): the runner takes an OS disk snapshot first */
  changesDisk: boolean;
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
  /** the NSGs as ARM stores them (descriptions, exact spelling): the "before" of a rule change */
  nsgDetails?: NsgDetails[] | null;
  now?: Date;
}

const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const portParam = z.union([z.number(), z.string().regex(/^\d{1,5}$/).transform(Number)]).pipe(z.number().int().min(1025).max(65535));
const serviceName = z.string().regex(/^[A-Za-z0-9_.$ -]{1,80}$/);
/** One service name, or several separated by commas: every service the listening process hosts (SCRIPT-REVIEW A13). */
const serviceNames = z.string().regex(/^[A-Za-z0-9_.$ -]{1,80}(,[A-Za-z0-9_.$ -]{1,80}){0,7}$/);
const snapshotName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$/);
const none = z.strictObject({});

const LEGACY_FIX_PARAMS = {
  'restrict-rdp-source': z.strictObject({ source: z.string().max(18) }),
  'free-rdp-port': z.strictObject({ service: serviceNames, disable: flag.optional() }),
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

export const FIX_PARAMS = {
  ...LEGACY_FIX_PARAMS,
  ...(Object.fromEntries(REGISTRY.flatMap((c) => (c.fixes ?? []).map((f) => [f.id, f.params]))) as Record<RegistryFixId, z.ZodType>),
};

const LEGACY_FIXES: Record<LegacyFixId, FixDef> = {
  'restrict-rdp-source': {
    id: 'restrict-rdp-source',
    addresses: ['rdp-exposed-to-internet', 'brute-force-suspected'],
    risk: 'medium',
    changesDisk: true,
    needsRestart: false,
    kind: 'arm',
    params: FIX_PARAMS['restrict-rdp-source'],
  },
  'free-rdp-port': {
    id: 'free-rdp-port',
    addresses: ['rdp-port-conflict'],
    risk: 'medium',
    changesDisk: true,
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-free-rdp-port',
    params: FIX_PARAMS['free-rdp-port'],
  },
  'change-rdp-port': {
    id: 'change-rdp-port',
    addresses: ['rdp-port-conflict'],
    risk: 'high',
    changesDisk: true,
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-change-rdp-port',
    params: FIX_PARAMS['change-rdp-port'],
  },
  'start-termservice': {
    id: 'start-termservice',
    addresses: ['termservice-stopped', 'rdp-not-listening'],
    risk: 'low',
    changesDisk: true,
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-start-termservice',
    params: FIX_PARAMS['start-termservice'],
  },
  'fix-firewall-rule': {
    id: 'fix-firewall-rule',
    addresses: ['firewall-rule-mismatch'],
    risk: 'low',
    changesDisk: true,
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-fix-firewall-rule',
    params: FIX_PARAMS['fix-firewall-rule'],
  },
  'renew-rdp-cert': {
    id: 'renew-rdp-cert',
    addresses: ['rdp-cert-missing', 'rdp-cert-binding-broken', 'rdp-cert-expired', 'rdp-cert-expiring', 'rdp-cert-no-private-key', 'cert-key-errors-logged'],
    risk: 'low',
    changesDisk: true,
    needsRestart: false,
    kind: 'script',
    scriptId: 'fix-renew-rdp-cert',
    params: FIX_PARAMS['renew-rdp-cert'],
  },
  'reset-machinekeys-acl': {
    id: 'reset-machinekeys-acl',
    addresses: ['machinekeys-acl-broken', 'cert-key-errors-logged'],
    risk: 'high',
    changesDisk: true,
    needsRestart: true,
    kind: 'script',
    scriptId: 'fix-reset-machinekeys-acl',
    params: FIX_PARAMS['reset-machinekeys-acl'],
  },
  'enable-tls': {
    id: 'enable-tls',
    addresses: ['tls-disabled'],
    risk: 'medium',
    changesDisk: true,
    needsRestart: true,
    kind: 'script',
    scriptId: 'fix-enable-tls',
    params: FIX_PARAMS['enable-tls'],
  },
  'enable-nla': {
    id: 'enable-nla',
    addresses: ['nla-disabled'],
    risk: 'medium',
    changesDisk: true,
    needsRestart: true,
    kind: 'script',
    scriptId: 'fix-enable-nla',
    params: FIX_PARAMS['enable-nla'],
  },
  'start-vm': { id: 'start-vm', addresses: ['vm-not-running'], risk: 'low', changesDisk: false, needsRestart: false, kind: 'arm', params: FIX_PARAMS['start-vm'] },
  'restart-vm': {
    id: 'restart-vm',
    addresses: ['vm-agent-not-ready'],
    risk: 'medium',
    changesDisk: false,
    needsRestart: false,
    kind: 'arm',
    params: FIX_PARAMS['restart-vm'],
  },
  'snapshot-os-disk': {
    id: 'snapshot-os-disk',
    addresses: [],
    risk: 'low',
    changesDisk: false,
    needsRestart: false,
    kind: 'arm',
    params: FIX_PARAMS['snapshot-os-disk'],
  },
};

export const FIXES = {
  ...LEGACY_FIXES,
  ...Object.fromEntries(
    REGISTRY.flatMap((c) => c.fixes ?? []).map((f) => [f.id, { id: f.id, addresses: f.addresses, risk: f.risk, needsRestart: f.needsRestart, changesDisk: f.changesDisk, kind: f.kind, scriptId: f.scriptId, params: f.params }]),
  ),
} as Record<FixId, FixDef>;

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
  const sorted = out.sort((a, b) => firstIndex(a) - firstIndex(b) || FIX_IDS.indexOf(a.id) - FIX_IDS.indexOf(b.id));
  return applyPlanOrder(sorted);
}

/**
 * Fixes that must run before another when both are offered (SCRIPT-REVIEW A17): Microsoft's
 * event-ID article grants the MachineKeys rights first and renews the certificate only if the
 * problem persists; a renewal while the folder blocks key creation deletes the certificate and
 * gets no new one.
 */
export const RUN_BEFORE: ReadonlyArray<readonly [FixId, FixId]> = [['reset-machinekeys-acl', 'renew-rdp-cert']];

function applyPlanOrder(list: FixSuggestion[]): FixSuggestion[] {
  const out = [...list];
  for (const [first, then] of RUN_BEFORE) {
    const i = out.findIndex((s) => s.id === first);
    const j = out.findIndex((s) => s.id === then);
    if (i > j && j >= 0) {
      const [moved] = out.splice(i, 1);
      out.splice(j, 0, moved);
    }
  }
  return out;
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
  const cause = registryFix(fixId);
  if (cause) return cause.build(params, facts, ctx);
  const def = FIXES[fixId];
  switch (fixId) {
    case 'restrict-rdp-source': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      const source = validateSourceCidr(p.source);
      return { kind: 'arm', fixId, arm: { op: 'nsgRules', rules: restrictChanges(ctx.nsgs, facts?.port ?? 3389, source, ctx.nsgDetails ?? null) }, needsRestart: false };
    }
    case 'free-rdp-port': {
      const p = parseParams(FIX_PARAMS[fixId], params, fixId);
      const f = requireFacts(facts, fixId);
      const allowed = conflictingServices(f);
      const names = p.service.split(',').map((n) => n.trim());
      for (const name of names) {
        if (!serviceName.safeParse(name).success || !allowed.includes(name) || ['TermService', 'SessionEnv', 'UmRdpService'].includes(name)) {
          throw badInput('runbook.param.serviceNotHolding', { service: name.slice(0, 80), port: f.port ?? 3389 });
        }
      }
      return script(def, [
        { name: 'Service', value: encodeParam(names.join(',')) },
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
      const rules = portMoveChanges(ctx.nsgs, current, p.port, ctx.nsgDetails ?? null);
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
  throw badInput('runbook.param.unknownFix', { fix: String(fixId).slice(0, 40) });
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
function restrictChanges(nsgs: EffectiveNsg[] | null | undefined, port: number, source: string, details: NsgDetails[] | null): NsgRuleChange[] {
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
function portMoveChanges(nsgs: EffectiveNsg[] | null | undefined, oldPort: number, newPort: number, details: NsgDetails[] | null): NsgRuleChange[] {
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
