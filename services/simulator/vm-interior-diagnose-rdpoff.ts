import type { DiagnosticFacts } from '../runbook/diagnostic-output';
import { CAPS } from '../runbook/diagnostic-output';
import { canonicalService, type CanonicalWindows } from './fleet';

/**
 * The emulation of diagnose.ps1's block "§1b: remote desktop switched off, TermService config"
 * (`rs`), called from vm-interior-diagnose.ts after the event counts, as the script runs it after
 * its other steps. Same model facts as the modelled Windows: the Terminal Server key's values, the
 * Terminal Services policy value, RDP-Tcp's listener values, Win32_Service's StartName, and the
 * System log's Service Control Manager 7031/7034 events (all naming Remote Desktop Services).
 */
const TS_POLICY_DENY = 'software\\policies\\microsoft\\windows nt\\terminal services\\fdenytsconnections';
/** RecordId order of the model's events (equal times sort by RecordId, descending). */
const EVENT_ORDER = ['1057', '1058', '1006', '36870', '36871', '36872', '7031', '7034', '4625', '140'];

type RdpSwitchFacts = NonNullable<DiagnosticFacts['rs']>;

function dword(v: number | string | null | undefined): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Math.trunc(v);
  return /^\s*-?\d+\s*$/.test(v) ? Number.parseInt(v, 10) : null;
}

/** TermService as Win32_Service shows it: a fleet service, or one seen only as a listener's host (running, automatic). */
function termService(w: CanonicalWindows): { startName: string } | null {
  if (w.services.TermService) return w.services.TermService;
  return w.listeners.some((l) => l.services.includes('TermService')) ? canonicalService('TermService', { state: 'Running', startMode: 'Auto' }) : null;
}

/** Events of one id in [from, now]: the model spreads events24h[id] over the 24 h before now, none after eventsStoppedAt. */
function eventsIn(w: CanonicalWindows, id: string, now: Date, from: Date): Array<{ t: number; rec: number }> {
  const n = w.events24h[id] ?? 0;
  const stop = w.eventsStoppedAt[id];
  const end = stop ? Math.min(now.getTime(), Date.parse(stop)) : now.getTime();
  const span = end - (now.getTime() - 24 * 3600 * 1000);
  const out: Array<{ t: number; rec: number }> = [];
  for (let k = 0; k < n; k++) {
    const t = span > 0 ? end - Math.floor((k * span) / n) : end - (k + 1) * 1000;
    if (t >= from.getTime() && t <= now.getTime()) out.push({ t, rec: (EVENT_ORDER.indexOf(id) + 1) * 1_000_000 + 100_000 - k });
  }
  return out;
}

export function rdpSwitchFacts(w: CanonicalWindows, now: Date, from: Date, addErr: (code: string) => void): { rs: RdpSwitchFacts } {
  const policy = Object.entries(w.policyValues).find(([p]) => p.toLowerCase() === TS_POLICY_DENY)?.[1];
  const rs: RdpSwitchFacts = {
    dn: w.terminalServer.fDenyTSConnections,
    gdn: dword(policy),
    en: w.terminalServer.TSEnabled,
    dr: w.terminalServer.TSServerDrainMode,
    ws: w.rdpTcp.fEnableWinStation,
    ld: w.rdpTcp.fLogonDisabled,
    acct: null,
    crash: null,
  };
  if (w.damage.cimClasses.includes('Win32_Service')) {
    addErr('rsacct');
  } else {
    const s = termService(w);
    if (s && s.startName) rs.acct = s.startName.replace(/[^A-Za-z0-9 ._$@\\-]/g, '_').slice(0, 40);
  }
  // every modelled 7031/7034 names Remote Desktop Services; -MaxEvents keeps the newest 2,000
  const scm = [...eventsIn(w, '7031', now, from), ...eventsIn(w, '7034', now, from)];
  rs.crash = Math.min(scm.length, CAPS.events);
  return { rs };
}
