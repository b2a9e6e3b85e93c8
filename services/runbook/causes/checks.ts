import type { DiagnosticFacts } from '../diagnostic-output';

/**
 * Facts and thresholds more than one cause reads (a leaf module like kit.ts; findings.ts
 * re-exports what it always exported).
 */

export const DEFAULT_RDP_PORT = 3389;
export const EXPIRY_WARNING_DAYS = 14;
export const BRUTE_FORCE_THRESHOLD = 100;
/** SIDs whose read access lets TermService (NETWORK SERVICE) open the key: Network Service, Authenticated Users, Everyone. */
export const KEY_READER_SIDS = ['S-1-5-20', 'S-1-5-11', 'S-1-1-0'] as const;
/** SIDs that must hold Full Control on the MachineKeys folder (one of them): Administrators, SYSTEM. */
export const MACHINEKEYS_OWNER_SIDS = ['S-1-5-32-544', 'S-1-5-18'] as const;
export const READ_RIGHTS = new Set(['F', 'M', 'RX', 'R']);

/** "2000+" when a count reached the script's -MaxEvents cap. */
export function countText(n: number, cap: number): string | number {
  return n >= cap ? `${cap}+` : n;
}

export function eventCount(facts: DiagnosticFacts, id: keyof DiagnosticFacts['events']): number {
  return facts.events[id] ?? 0;
}

export function valueText(v: number | null): string | number {
  return v === null ? '-' : v;
}

export function policyValue(entry: string): string | null {
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

export const sidOf = (e: string): string => e.split(':')[0];
export const rightOf = (e: string): string => e.split(':')[1] ?? '';
export const isDeny = (e: string): boolean => e.endsWith(':deny');

/** NETWORK SERVICE can read: some Allow ACE for it (or a group it is in) includes Read. */
export function grantsRead(acl: readonly string[]): boolean {
  return acl.some((e) => !isDeny(e) && KEY_READER_SIDS.some((s) => s === sidOf(e)) && READ_RIGHTS.has(rightOf(e)));
}

export function grantsFull(acl: readonly string[]): boolean {
  return acl.some((e) => !isDeny(e) && MACHINEKEYS_OWNER_SIDS.some((s) => s === sidOf(e)) && rightOf(e) === 'F');
}

/** A REG_DWORD value a fix script printed, as an undo script's parameter; null when it is not one. */
export const dword = (v: unknown): string | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4294967295 ? String(v) : null);
