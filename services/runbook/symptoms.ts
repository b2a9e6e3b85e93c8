/**
 * What the user sees, as a small typed classification (issue #14 item 5), and the findings each
 * symptom points at. A symptom orders the explanation, never the checks: every diagnosis runs
 * every check; the findings card names the first finding the symptom points at as the likely
 * cause and lists the pointed-at findings first within their severity.
 *
 * The finding ids are plain strings on purpose: several of CONTRACTS §1b's are added by other
 * cause modules, and a symptom may point at a finding this build does not report (it never
 * matches then).
 */

export const SYMPTOM_IDS = [
  'internal-error', // "An internal error has occurred" (0x4, 0x3)
  'configuring-session', // hangs at "Configuring remote session"
  'cannot-connect', // "Remote Desktop can't connect to the remote computer" (0x204)
  'auth-error', // "An authentication error has occurred" (0x907: the server's certificate)
  'credssp', // "... CredSSP encryption oracle remediation"
  'licensing', // "... no Remote Desktop License Servers available"
  'access-denied', // "Access is denied", "the user account is not authorized for remote login"
  'protocol-error', // "... because of a protocol error" (0x112f)
  'black-screen', // connects, then a black screen
  'credentials-rejected', // "Your credentials did not work"
  'nla-required', // "The remote computer requires Network Level Authentication"
  'generic', // "I can't RDP", "не могу подключиться": says only that it fails
  'other', // the user chose "something else"
  'not-stated', // the user named only the VM (`diagnose <vm>`, "check vm-x")
] as const;

export type Symptom = (typeof SYMPTOM_IDS)[number];

export function isSymptom(value: unknown): value is Symptom {
  return typeof value === 'string' && (SYMPTOM_IDS as readonly string[]).includes(value);
}

const CERT_AND_KEYS = ['rdp-cert-expired', 'rdp-cert-no-private-key', 'rdp-cert-binding-broken', 'rdp-cert-missing', 'machinekeys-acl-broken', 'cert-key-errors-logged', 'rdp-cert-expiring'];
const SERVICE_AND_LISTENER = ['rdp-connections-denied', 'rdp-listener-disabled', 'termservice-disabled', 'termservice-stopped', 'termservice-wrong-account', 'termservice-crashing', 'rdp-port-conflict', 'rdp-not-listening'];
const NETWORK = ['rdp-blocked-by-nsg', 'guest-firewall-blocks-rdp', 'firewall-rule-mismatch', 'rdp-no-public-ip'];

/** The findings each symptom points at, the likeliest first. */
export const SYMPTOM_FINDINGS: Record<Symptom, readonly string[]> = {
  // Microsoft's "internal error" article: TLS, the certificate and its key, the port
  'internal-error': ['tls-disabled', ...CERT_AND_KEYS, 'rdp-port-conflict', 'tls-managed-by-policy'],
  'configuring-session': ['rdsh-licensing-expired', 'system-disk-full', 'termservice-crashing', 'termservice-wrong-account', ...CERT_AND_KEYS],
  'cannot-connect': [...NETWORK.slice(0, 1), ...SERVICE_AND_LISTENER, ...NETWORK.slice(1)],
  'auth-error': ['credssp-oracle-strict', 'secure-channel-broken', ...CERT_AND_KEYS, 'tls-disabled', 'nla-disabled'],
  credssp: ['credssp-oracle-strict', 'nla-disabled'],
  licensing: ['rdsh-licensing-expired'],
  'access-denied': ['secure-channel-broken', 'termservice-wrong-account', 'machinekeys-acl-broken', 'brute-force-suspected'],
  'protocol-error': [...CERT_AND_KEYS, 'tls-disabled', 'system-disk-full'],
  'black-screen': ['system-disk-full', 'termservice-crashing', 'rdsh-licensing-expired'],
  'credentials-rejected': ['secure-channel-broken', 'brute-force-suspected', 'credssp-oracle-strict'],
  'nla-required': ['secure-channel-broken', 'credssp-oracle-strict', 'nla-disabled'],
  generic: [],
  other: [],
  'not-stated': [],
};

const SEVERITY_RANK: Record<string, number> = { blocker: 0, critical: 1, warning: 2, info: 3 };

/**
 * The findings in the card's order: severity first (as the diagnosis sorted them), and within one
 * severity the ones the symptom points at first, in the symptom's order; the rest keep theirs.
 */
export function orderBySymptom<F extends { id: string; severity: string }>(findings: readonly F[], symptom: string | null | undefined): F[] {
  const pointed = isSymptom(symptom) ? SYMPTOM_FINDINGS[symptom] : [];
  const at = (f: F) => {
    const i = pointed.indexOf(f.id);
    return i < 0 ? pointed.length : i;
  };
  return findings
    .map((f, i) => ({ f, i }))
    .sort((a, b) => (SEVERITY_RANK[a.f.severity] ?? 9) - (SEVERITY_RANK[b.f.severity] ?? 9) || at(a.f) - at(b.f) || a.i - b.i)
    .map((x) => x.f);
}

/** The finding the symptom points at first among those found, or null (then severity speaks alone). */
export function likelyCause<F extends { id: string }>(findings: readonly F[], symptom: string | null | undefined): F | null {
  if (!isSymptom(symptom)) return null;
  for (const id of SYMPTOM_FINDINGS[symptom]) {
    const found = findings.find((f) => f.id === id);
    if (found) return found;
  }
  return null;
}
