import type { EffectiveNsg, VmDetails } from '../azure/gateway';
import { t, type Lang } from '../i18n';
import { CAPS, policyEntryPath, stepFailed, type DiagnosticFacts } from './diagnostic-output';
import { REGISTRY, type RegistryFindingId } from './causes';
import { evaluateNsgs, nsgName, ruleShortName, sourceText } from './nsg';

/** CONTRACTS.md §1 (the causes not yet moved into services/runbook/causes/), in report order within one severity. */
const LEGACY_FINDING_IDS = [
  'vm-not-windows',
  'vm-not-running',
  'vm-agent-not-ready',
  'rdp-exposed-to-internet',
  'brute-force-suspected',
  'termservice-stopped',
  'rdp-port-conflict',
  'rdp-not-listening',
  'rdp-cert-missing',
  'rdp-cert-binding-broken',
  'rdp-cert-expired',
  'rdp-cert-no-private-key',
  'machinekeys-acl-broken',
  'cert-key-errors-logged',
  'tls-disabled',
  'rdp-blocked-by-nsg',
  'firewall-rule-mismatch',
  'rdp-cert-expiring',
  'nla-disabled',
  'tls-managed-by-policy',
] as const;
export type FindingId = (typeof LEGACY_FINDING_IDS)[number] | RegistryFindingId;
export type Severity = 'blocker' | 'critical' | 'warning' | 'info';

/** Every finding id (CONTRACTS.md §1 and §1b), in the order a report lists them within one severity. */
export const FINDING_IDS: readonly FindingId[] = [...LEGACY_FINDING_IDS, ...REGISTRY.flatMap((c) => c.findings.map((f) => f.id as RegistryFindingId))];

const LEGACY_SEVERITY: Record<(typeof LEGACY_FINDING_IDS)[number], Severity> = {
  'vm-not-windows': 'blocker',
  'vm-not-running': 'blocker',
  'vm-agent-not-ready': 'blocker',
  'rdp-exposed-to-internet': 'critical',
  'rdp-blocked-by-nsg': 'warning',
  'brute-force-suspected': 'critical',
  'termservice-stopped': 'critical',
  'rdp-port-conflict': 'critical',
  'rdp-not-listening': 'critical',
  'firewall-rule-mismatch': 'warning',
  'rdp-cert-missing': 'critical',
  'rdp-cert-binding-broken': 'critical',
  'rdp-cert-expired': 'critical',
  'rdp-cert-expiring': 'warning',
  'rdp-cert-no-private-key': 'critical',
  'machinekeys-acl-broken': 'critical',
  'cert-key-errors-logged': 'critical',
  'tls-disabled': 'critical',
  'tls-managed-by-policy': 'info',
  'nla-disabled': 'warning',
};

export const SEVERITY = {
  ...LEGACY_SEVERITY,
  ...Object.fromEntries(REGISTRY.flatMap((c) => c.findings.map((f) => [f.id, f.severity]))),
} as Record<FindingId, Severity>;

export interface Evidence {
  /** i18n key (locales/{en,ru}/runbook.json) describing one checkable fact */
  key: string;
  params: Record<string, string | number>;
}

export interface Finding {
  id: FindingId;
  severity: Severity;
  evidence: Evidence[];
}

export interface EvaluateInput {
  vm: VmDetails;
  /** effective NSGs of the primary NIC; null = could not be read (no network findings) */
  nsgs: EffectiveNsg[] | null;
  /** the diagnostic script's facts; null = the script did not run */
  facts: DiagnosticFacts | null;
  now: Date;
}

export const DEFAULT_RDP_PORT = 3389;
export const EXPIRY_WARNING_DAYS = 14;
export const BRUTE_FORCE_THRESHOLD = 100;
/** SIDs whose read access lets TermService (NETWORK SERVICE) open the key: Network Service, Authenticated Users, Everyone. */
export const KEY_READER_SIDS = ['S-1-5-20', 'S-1-5-11', 'S-1-1-0'] as const;
/** SIDs that must hold Full Control on the MachineKeys folder (one of them): Administrators, SYSTEM. */
export const MACHINEKEYS_OWNER_SIDS = ['S-1-5-32-544', 'S-1-5-18'] as const;
const READ_RIGHTS = new Set(['F', 'M', 'RX', 'R']);

const ev = (key: string, params: Record<string, string | number> = {}): Evidence => ({ key: `runbook.evidence.${key}`, params });

export function evidenceText(lang: Lang, e: Evidence): string {
  return t(lang, e.key, e.params);
}

/** What stops the runbook before any Run Command: the most fundamental one only. */
export function blockers(vm: VmDetails): Finding[] {
  if (vm.osType !== 'Windows') {
    return [finding('vm-not-windows', [ev('osType', { os: vm.osType })])];
  }
  if (vm.powerState !== 'running') {
    return [finding('vm-not-running', [ev('powerState', { state: vm.powerState })])];
  }
  if (vm.agentStatus !== 'Ready') {
    return [finding('vm-agent-not-ready', [ev('agentStatus', { status: vm.agentStatus, version: vm.agentVersion ?? '-' })])];
  }
  return [];
}

/** Findings from the Azure-side network view and the script's facts (blockers are not repeated here). */
export function evaluate(input: EvaluateInput): Finding[] {
  const { facts, nsgs, now } = input;
  const out: Finding[] = [];
  const port = facts?.port ?? DEFAULT_RDP_PORT;
  if (nsgs) out.push(...nsgFindings(nsgs, port));
  if (facts) out.push(...factFindings(facts, now));
  for (const cause of REGISTRY) out.push(...cause.check(input));
  return sortFindings(out);
}

export function sortFindings(findings: Finding[]): Finding[] {
  const rank: Record<Severity, number> = { blocker: 0, critical: 1, warning: 2, info: 3 };
  return [...findings].sort(
    (a, b) => rank[a.severity] - rank[b.severity] || FINDING_IDS.indexOf(a.id) - FINDING_IDS.indexOf(b.id),
  );
}

function finding(id: FindingId, evidence: Evidence[]): Finding {
  return { id, severity: SEVERITY[id], evidence };
}

function nsgFindings(nsgs: EffectiveNsg[], port: number): Finding[] {
  const v = evaluateNsgs(nsgs, port);
  const out: Finding[] = [];
  if (v.noNsg) {
    out.push(finding('rdp-exposed-to-internet', [ev('nsgNone', { port })]));
    return out;
  }
  if (v.exposed) {
    out.push(
      finding(
        'rdp-exposed-to-internet',
        v.exposingRules.map(({ nsg, rule }) =>
          ev('nsgExposed', { nsg: nsgName(nsg), rule: ruleShortName(rule), priority: rule.priority, source: sourceText(rule), port }),
        ),
      ),
    );
  }
  if (v.blocked) {
    const evidence = v.noCommonSource
      ? [ev('nsgNoCommonSource', { port })]
      : v.blockingNsgs.map(({ nsg, deny }) =>
          deny
            ? ev('nsgDenied', { nsg: nsgName(nsg), rule: ruleShortName(deny), priority: deny.priority, port })
            : ev('nsgNoAllow', { nsg: nsgName(nsg), port }),
        );
    out.push(finding('rdp-blocked-by-nsg', evidence));
  }
  return out;
}

/** "2000+" when a count reached the script's -MaxEvents cap. */
function countText(n: number, cap: number): string | number {
  return n >= cap ? `${cap}+` : n;
}

function eventCount(facts: DiagnosticFacts, id: keyof DiagnosticFacts['events']): number {
  return facts.events[id] ?? 0;
}

function factFindings(f: DiagnosticFacts, now: Date): Finding[] {
  const out: Finding[] = [];
  const port = f.port ?? DEFAULT_RDP_PORT;
  const since = f.since;

  // brute force
  const failed = eventCount(f, '4625');
  const incomplete = eventCount(f, '1006');
  if (failed >= BRUTE_FORCE_THRESHOLD || incomplete > 0) {
    const e: Evidence[] = [];
    if (failed > 0) e.push(ev('failedLogons', { count: countText(failed, CAPS.events4625), since }));
    if (incomplete > 0) e.push(ev('incompleteConnections', { count: countText(incomplete, CAPS.events), since }));
    for (const s of (f.logons ?? []).slice(0, 3)) e.push(ev('failedLogonSource', { ip: s.ip, count: s.count }));
    out.push(finding('brute-force-suspected', e));
  }

  // TermService and the listener on the RDP port
  const term = f.services?.TermService;
  const termRunning = term?.state === 'Running';
  if (f.services && !stepFailed(f, 'svc') && !termRunning && term?.start !== 'Disabled') {
    out.push(
      finding('termservice-stopped', [
        term ? ev('serviceState', { service: 'TermService', state: term.state, start: term.start }) : ev('serviceAbsent', { service: 'TermService' }),
      ]),
    );
  }
  if (f.listeners && !stepFailed(f, 'listen')) {
    const others = f.listeners.filter((l) => !l.svc.includes('TermService'));
    if (others.length > 0) {
      out.push(
        finding(
          'rdp-port-conflict',
          others.map((l) => ev('portHeldBy', { port, pid: l.pid, process: l.proc, services: l.svc.length > 0 ? l.svc.join(', ') : '-' })),
        ),
      );
    } else if (f.listeners.length === 0 && termRunning) {
      out.push(finding('rdp-not-listening', [ev('notListening', { port })]));
    }
  }

  // Windows Firewall
  if (f.fw && !stepFailed(f, 'fw')) {
    if (!f.fw.found) out.push(finding('firewall-rule-mismatch', [ev('fwRuleMissing', { rule: 'RemoteDesktop-UserMode-In-TCP' })]));
    else if (!f.fw.enabled) out.push(finding('firewall-rule-mismatch', [ev('fwRuleDisabled', { rule: 'RemoteDesktop-UserMode-In-TCP' })]));
    else if (!f.fw.ports.some((p) => firewallPortCovers(p, port))) {
      out.push(
        finding('firewall-rule-mismatch', [
          ev('fwRulePort', { rule: 'RemoteDesktop-UserMode-In-TCP', ports: f.fw.ports.join(', ') || '-', port }),
        ]),
      );
    }
  }

  out.push(...certFindings(f, now));
  out.push(...tlsFindings(f));

  // NLA: a policy value overrides the listener's; absent = Windows default (1, required)
  const ua = effectiveUserAuthentication(f);
  if (ua && ua.value === 0) out.push(finding('nla-disabled', [ev(ua.fromPolicy ? 'nlaPolicy' : 'nlaRegistry', { value: 0 })]));
  return out;
}

function certFindings(f: DiagnosticFacts, now: Date): Finding[] {
  const out: Finding[] = [];
  if (stepFailed(f, 'cert')) return out;
  const c = f.cert;
  if (!c && !f.sslHash) out.push(finding('rdp-cert-missing', [ev('certNone')]));
  if (f.sslHash && c?.thumb !== f.sslHash) out.push(finding('rdp-cert-binding-broken', [ev('certBindingMissing', { hash: f.sslHash })]));
  if (c) {
    const notAfter = Date.parse(c.notAfter);
    const days = Math.floor((notAfter - now.getTime()) / 86_400_000);
    if (notAfter < now.getTime()) {
      out.push(finding('rdp-cert-expired', [ev('certExpired', { thumb: c.thumb, notAfter: c.notAfter })]));
    } else if (notAfter - now.getTime() <= EXPIRY_WARNING_DAYS * 86_400_000) {
      out.push(finding('rdp-cert-expiring', [ev('certExpiring', { thumb: c.thumb, notAfter: c.notAfter, days })]));
    }
    if (!c.hasKey) out.push(finding('rdp-cert-no-private-key', [ev('certNoKey', { thumb: c.thumb })]));
    else if (c.keyFile === false) out.push(finding('rdp-cert-no-private-key', [ev('certKeyFileMissing', { thumb: c.thumb })]));
  }

  const acl: Evidence[] = [];
  if (c?.keyFile === true && f.keyAcl && !stepFailed(f, 'keyacl')) {
    const denied = f.keyAcl.find((e) => isDeny(e) && KEY_READER_SIDS.some((s) => sidOf(e) === s) && READ_RIGHTS.has(rightOf(e)));
    if (denied) acl.push(ev('keyFileDenied', { ace: denied }));
    else if (!grantsRead(f.keyAcl)) acl.push(ev('keyFileNoRead', { acl: f.keyAcl.join(', ') || '-' }));
  }
  if (f.mkAcl && !stepFailed(f, 'mkacl') && !grantsFull(f.mkAcl)) acl.push(ev('machineKeysNoFull', { acl: f.mkAcl.join(', ') || '-' }));
  if (acl.length > 0) out.push(finding('machinekeys-acl-broken', acl));

  const logged: Evidence[] = [];
  for (const id of ['1057', '1058', '36870', '36872'] as const) {
    const n = eventCount(f, id);
    if (n > 0) logged.push(ev(`event${id}`, { count: countText(n, CAPS.events), since: f.since }));
  }
  if (logged.length > 0) out.push(finding('cert-key-errors-logged', logged));
  return out;
}

function tlsFindings(f: DiagnosticFacts): Finding[] {
  const out: Finding[] = [];
  const e: Evidence[] = [];
  const tls12 = f.tls?.['TLS 1.2'];
  if (tls12 && !stepFailed(f, 'tls')) {
    const off = tls12.Enabled === 0 || (tls12.DisabledByDefault !== null && tls12.DisabledByDefault !== 0);
    // the "-" = not set note only where a value is not set
    const key = tls12.Enabled === null || tls12.DisabledByDefault === null ? 'tlsRegistryNotSet' : 'tlsRegistry';
    if (off) e.push(ev(key, { version: 'TLS 1.2', enabled: valueText(tls12.Enabled), disabledByDefault: valueText(tls12.DisabledByDefault) }));
  }
  const n36871 = eventCount(f, '36871');
  if (n36871 > 0) e.push(ev('event36871', { count: countText(n36871, CAPS.events), since: f.since }));
  if (e.length > 0) {
    if (f.domain && f.rsop !== 'ok') e.push(ev('policyUnknown'));
    out.push(finding('tls-disabled', e));
  }
  const policy = (f.policy ?? []).filter((p) => /^(SCHANNEL|TS|SSL)\\/.test(p));
  if (policy.length > 0) {
    out.push(finding('tls-managed-by-policy', policy.map((p) => ev('policyValue', { path: `HKLM\\${policyEntryPath(p)}`, value: policyValue(p) ?? '-' }))));
  }
  return out;
}

function valueText(v: number | null): string | number {
  return v === null ? '-' : v;
}

function policyValue(entry: string): string | null {
  const i = entry.indexOf('=');
  return i >= 0 ? entry.slice(i + 1) : null;
}

export function effectiveUserAuthentication(f: DiagnosticFacts): { value: number; fromPolicy: boolean } | null {
  const p = (f.policy ?? []).find((x) => /^TS\\UserAuthentication=/i.test(x));
  if (p) {
    const n = Number(policyValue(p));
    if (Number.isInteger(n)) return { value: n, fromPolicy: true };
  }
  if (!f.rdpTcp) return null;
  return { value: f.rdpTcp.UserAuthentication ?? 1, fromPolicy: false };
}

export function firewallPortCovers(spec: string, port: number): boolean {
  const s = spec.trim();
  if (s === '*' || s.toLowerCase() === 'any') return true;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) return false;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return port >= lo && port <= hi;
}

const sidOf = (e: string): string => e.split(':')[0];
const rightOf = (e: string): string => e.split(':')[1] ?? '';
const isDeny = (e: string): boolean => e.endsWith(':deny');

/** NETWORK SERVICE can read: some Allow ACE for it (or a group it is in) includes Read. */
export function grantsRead(acl: readonly string[]): boolean {
  return acl.some((e) => !isDeny(e) && KEY_READER_SIDS.some((s) => s === sidOf(e)) && READ_RIGHTS.has(rightOf(e)));
}

export function grantsFull(acl: readonly string[]): boolean {
  return acl.some((e) => !isDeny(e) && MACHINEKEYS_OWNER_SIDS.some((s) => s === sidOf(e)) && rightOf(e) === 'F');
}
