import type { EffectiveNsg, VmDetails } from '../azure/gateway';
import { t, type Lang } from '../i18n';
import type { DiagnosticFacts } from './diagnostic-output';
import { REGISTRY, type RegistryFindingId } from './causes';

export {
  BRUTE_FORCE_THRESHOLD,
  DEFAULT_RDP_PORT,
  effectiveUserAuthentication,
  EXPIRY_WARNING_DAYS,
  firewallPortCovers,
  grantsFull,
  grantsRead,
  KEY_READER_SIDS,
  MACHINEKEYS_OWNER_SIDS,
} from './causes/checks';

/** CONTRACTS.md §1 and §1b: every finding id, each declared by one cause module (services/runbook/causes). */
export type FindingId = RegistryFindingId;
export type Severity = 'blocker' | 'critical' | 'warning' | 'info';

const RANK: Record<Severity, number> = { blocker: 0, critical: 1, warning: 2, info: 3 };

/**
 * Every finding id, in the order a report lists them: by severity, and within one severity in
 * the order of the registry (CAUSES, then each module's `findings`).
 */
export const FINDING_IDS: readonly FindingId[] = REGISTRY.flatMap((c) => c.findings)
  .map((f, i) => ({ f, i }))
  .sort((a, b) => RANK[a.f.severity] - RANK[b.f.severity] || a.i - b.i)
  .map(({ f }) => f.id as FindingId);

export const SEVERITY = Object.fromEntries(REGISTRY.flatMap((c) => c.findings.map((f) => [f.id, f.severity]))) as Record<FindingId, Severity>;

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

export function evidenceText(lang: Lang, e: Evidence): string {
  return t(lang, e.key, e.params);
}

/** What stops the runbook before any Run Command: the most fundamental one only (the first cause that reports one). */
export function blockers(vm: VmDetails): Finding[] {
  for (const cause of REGISTRY) {
    const found = cause.blockers?.(vm) ?? [];
    if (found.length > 0) return found;
  }
  return [];
}

/** Findings from the Azure-side network view and the script's facts, each cause's check (blockers are not repeated here). */
export function evaluate(input: EvaluateInput): Finding[] {
  const out = REGISTRY.flatMap((cause) => cause.check(input));
  // §1b: a VM the guest firewall blocks is reported once, by guest-firewall-blocks-rdp (which shows the built-in rule's state)
  if (out.some((f) => f.id === 'guest-firewall-blocks-rdp')) return sortFindings(out.filter((f) => f.id !== 'firewall-rule-mismatch'));
  return sortFindings(out);
}

export function sortFindings(findings: Finding[]): Finding[] {
  return [...findings].sort((a, b) => RANK[a.severity] - RANK[b.severity] || FINDING_IDS.indexOf(a.id) - FINDING_IDS.indexOf(b.id));
}
