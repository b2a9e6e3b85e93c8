import type { ScriptParameter } from '../azure/gateway';
import { eqi, int32, param, unsigned, validDword } from './ps-binding';
import { toPsJson } from '../runbook/diagnostic-output';
import { canonicalService, canonicalWindows, type CanonicalService, type WindowsState } from './fleet';

/**
 * The emulation of the §1b fix and undo scripts for Remote Desktop switched off and TermService's
 * configuration (fix-allow-rdp-connections, fix-reset-rdp-listener, fix-reset-termservice-config and
 * their undo-* scripts): the change each makes in the fleet `windows` state and the line it prints, as
 * under the modelled Windows. vm-interior-fixes.ts and vm-interior-undo.ts delegate these ids here;
 * test/unit/rdpoff-fixes.test.ts keeps the emulation equal to the scripts.
 *
 * Registry values: in the fleet state `undefined` is the Windows default (present), `null` absent.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Status = { [k: string]: Json };

export const RDPOFF_FIX_SCRIPTS = ['fix-allow-rdp-connections', 'fix-reset-rdp-listener', 'fix-reset-termservice-config'] as const;
export const RDPOFF_UNDO_SCRIPTS = ['undo-allow-rdp-connections', 'undo-reset-rdp-listener', 'undo-reset-termservice-config'] as const;

const TS_POLICY_DENY = 'software\\policies\\microsoft\\windows nt\\terminal services\\fdenytsconnections';
const HR_CIM = '80041013';
const NETWORK_SERVICE = 'NT Authority\\NetworkService';

const line = (st: Status): string => `${toPsJson(st)}\r\n`;


type TsName = 'fDenyTSConnections' | 'TSEnabled' | 'TSServerDrainMode';
type ListenerName = 'fEnableWinStation' | 'fLogonDisabled';
type Value = { key: 'ts'; name: TsName } | { key: 'rdp'; name: ListenerName };

function read(w: WindowsState, v: Value): number | null {
  const c = canonicalWindows(w);
  return v.key === 'ts' ? c.terminalServer[v.name] : c.rdpTcp[v.name];
}

/** Set-ItemProperty (a number) or Remove-ItemProperty (null) on the value. */
function write(w: WindowsState, v: Value, value: number | null): void {
  if (v.key === 'ts') w.terminalServer = { ...(w.terminalServer ?? {}), [v.name]: value };
  else w.rdpTcp = { ...w.rdpTcp, [v.name]: value };
}

function allowRdpConnections(w: WindowsState): Status {
  const st: Status = { id: 'fix-allow-rdp-connections', ok: false, status: 'failed', changed: [], policy: null, needsRestart: false, before: null, step: 'policy' };
  const gp = Object.entries(w.policyValues ?? {}).find(([p]) => p.toLowerCase() === TS_POLICY_DENY)?.[1];
  const p = gp === undefined ? null : Math.trunc(Number(gp));
  if (p !== null) st.policy = `TS\\fDenyTSConnections=${p}`;
  st.step = 'read';
  const v: Value = { key: 'ts', name: 'fDenyTSConnections' };
  const before = read(w, v);
  st.before = { fDenyTSConnections: before };
  if (p !== null && p !== 0) return { ...st, status: 'policy-denies', step: null };
  if (before === null || before === 0) return { ...st, ok: true, status: 'noop', step: null };
  write(w, v, 0);
  return { ...st, changed: ['fDenyTSConnections'], ok: true, status: 'done', step: null };
}

const LISTENER: Array<[Value, (x: number | null) => boolean, number]> = [
  [{ key: 'rdp', name: 'fEnableWinStation' }, (x) => x === 0, 1],
  [{ key: 'rdp', name: 'fLogonDisabled' }, (x) => x !== null && x !== 0, 0],
  [{ key: 'ts', name: 'TSEnabled' }, (x) => x === 0, 1],
  [{ key: 'ts', name: 'TSServerDrainMode' }, (x) => x !== null && x !== 0, 0],
];

function resetRdpListener(w: WindowsState): Status {
  const st: Status = { id: 'fix-reset-rdp-listener', ok: false, status: 'failed', changed: [], needsRestart: false, before: null, step: 'read' };
  const before: { [k: string]: Json } = {};
  for (const [v] of LISTENER) before[v.name] = read(w, v);
  st.before = before;
  const changed: string[] = [];
  for (const [v, wrong, want] of LISTENER) {
    if (!wrong(before[v.name] as number | null)) continue;
    write(w, v, want);
    changed.push(v.name);
  }
  return { ...st, changed, needsRestart: changed.length > 0, ok: true, status: changed.length > 0 ? 'done' : 'noop', step: null };
}

/** TermService as Win32_Service shows it (a listener-only service is running, automatic); null when not installed. */
function termService(w: WindowsState): CanonicalService | null {
  const s = w.services.TermService;
  if (s !== undefined) return canonicalService('TermService', s);
  return w.listeners.some((l) => l.services.includes('TermService')) ? canonicalService('TermService', { state: 'Running', startMode: 'Auto' }) : null;
}

const cleanAccount = (a: string): string => a.replace(/[^A-Za-z0-9 ._$@\\-]/g, '_').slice(0, 40);
const isNetworkService = (a: string): boolean => a.replace(/\s/g, '').toLowerCase() === 'ntauthority\\networkservice';

/** sc.exe config TermService ...: the SCM database entry (a listener-only service joins `services`). */
function scConfig(w: WindowsState, change: Partial<Pick<CanonicalService, 'startMode' | 'startName' | 'ownProcess'>>): void {
  const cur = termService(w) as CanonicalService;
  w.services.TermService = { ...cur, ...change };
}

function resetTermServiceConfig(w: WindowsState): Status {
  const st: Status = { id: 'fix-reset-termservice-config', ok: false, status: 'failed', changed: [], needsRestart: false, before: null, step: 'read' };
  if ((w.damage?.cimClasses ?? []).includes('Win32_Service')) return { ...st, error: HR_CIM };
  const s = termService(w);
  if (!s) return { ...st, status: 'not-found' };
  const before = { start: s.startMode, account: cleanAccount(s.startName), type: s.ownProcess ? 'own' : 'share' };
  st.before = before;
  const changed: string[] = [];
  if (before.start === 'Disabled') {
    scConfig(w, { startMode: 'Manual' });
    changed.push('start');
  }
  if (!isNetworkService(before.account)) {
    scConfig(w, { startName: NETWORK_SERVICE });
    changed.push('account');
  }
  if (before.type !== 'own') {
    scConfig(w, { ownProcess: true });
    changed.push('type');
  }
  return { ...st, changed, needsRestart: changed.length > 0, ok: true, status: changed.length > 0 ? 'done' : 'noop', step: null };
}

function undoValues(id: string, w: WindowsState, wanted: Array<[Value, string]>, restart: boolean): Status {
  const st: Status = { id, ok: false, status: 'failed', changed: [], needsRestart: false, step: null };
  if (wanted.some(([, v]) => !validDword(v))) return { ...st, status: 'bad-param' };
  const changed: string[] = [];
  for (const [v, want] of wanted) {
    if (eqi(want, 'keep')) continue;
    const now = unsigned(read(w, v));
    if (eqi(want, 'absent')) {
      if (now === null) continue;
      write(w, v, null);
    } else {
      if (now === String(Number(want))) continue;
      write(w, v, int32(want));
    }
    changed.push(v.name);
  }
  return { ...st, changed, ...(restart ? { needsRestart: changed.length > 0 } : {}), ok: true, status: changed.length > 0 ? 'done' : 'noop' };
}

function decodeAccount(v: string): string | null {
  if (!v.startsWith('b64.')) return v;
  const body = v.slice(4);
  if (body.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return null;
  return Buffer.from(body, 'base64').toString('utf8');
}

function undoTermServiceConfig(w: WindowsState, ps: ScriptParameter[]): Status {
  const st: Status = { id: 'undo-reset-termservice-config', ok: false, status: 'failed', changed: [], needsRestart: false, step: null };
  const start = param(ps, 'StartMode', 'keep');
  const type = param(ps, 'Type', 'keep');
  const acct = decodeAccount(param(ps, 'Account', 'keep'));
  const okStart = ['keep', 'auto', 'manual', 'disabled'].includes(start.toLowerCase());
  const okType = ['keep', 'own', 'share'].includes(type.toLowerCase());
  const okAcct = acct !== null && (eqi(acct, 'keep') || /^(LocalSystem|NT Authority\\(Local ?Service|Network ?Service))$/i.test(acct));
  if (!(okStart && okType && okAcct)) return { ...st, status: 'bad-param' };
  st.step = 'read';
  if ((w.damage?.cimClasses ?? []).includes('Win32_Service')) return { ...st, error: HR_CIM };
  const s = termService(w);
  if (!s) return { ...st, status: 'not-found' };
  const modes: Record<string, 'Auto' | 'Manual' | 'Disabled'> = { auto: 'Auto', manual: 'Manual', disabled: 'Disabled' };
  const changed: string[] = [];
  if (!eqi(start, 'keep') && !eqi(s.startMode, start)) {
    scConfig(w, { startMode: modes[start.toLowerCase()] });
    changed.push('start');
  }
  if (!eqi(acct, 'keep') && !eqi(s.startName.replace(/\s/g, ''), acct.replace(/\s/g, ''))) {
    scConfig(w, { startName: acct });
    changed.push('account');
  }
  if (!eqi(type, 'keep') && !eqi(s.ownProcess ? 'own' : 'share', type)) {
    scConfig(w, { ownProcess: eqi(type, 'own') });
    changed.push('type');
  }
  return { ...st, changed, needsRestart: changed.length > 0, ok: true, status: changed.length > 0 ? 'done' : 'noop', step: null };
}

/** The line a §1b fix or undo script prints, its change made in `w`; null for another script id. */
export function emulateRdpOffScript(w: WindowsState, scriptId: string, ps: ScriptParameter[]): string | null {
  switch (scriptId) {
    case 'fix-allow-rdp-connections':
      return line(allowRdpConnections(w));
    case 'fix-reset-rdp-listener':
      return line(resetRdpListener(w));
    case 'fix-reset-termservice-config':
      return line(resetTermServiceConfig(w));
    case 'undo-allow-rdp-connections':
      return line(undoValues(scriptId, w, [[{ key: 'ts', name: 'fDenyTSConnections' }, param(ps, 'DenyTSConnections', 'keep')]], false));
    case 'undo-reset-rdp-listener':
      return line(
        undoValues(
          scriptId,
          w,
          [
            [{ key: 'rdp', name: 'fEnableWinStation' }, param(ps, 'EnableWinStation', 'keep')],
            [{ key: 'rdp', name: 'fLogonDisabled' }, param(ps, 'LogonDisabled', 'keep')],
            [{ key: 'ts', name: 'TSEnabled' }, param(ps, 'TSEnabled', 'keep')],
            [{ key: 'ts', name: 'TSServerDrainMode' }, param(ps, 'TSServerDrainMode', 'keep')],
          ],
          true,
        ),
      );
    case 'undo-reset-termservice-config':
      return line(undoTermServiceConfig(w, ps));
    default:
      return null;
  }
}

/** emulateFix/emulateUndo's answer for the §1b scripts; null for another script id. */
export function emulateRdpOff(w: WindowsState, scriptId: string, ps: ScriptParameter[]): { stdout: string; virtualSeconds: number; changed: boolean } | null {
  const before = JSON.stringify(canonicalWindows(w));
  const stdout = emulateRdpOffScript(w, scriptId, ps);
  if (stdout === null) return null;
  return { stdout, virtualSeconds: 0, changed: JSON.stringify(canonicalWindows(w)) !== before };
}
