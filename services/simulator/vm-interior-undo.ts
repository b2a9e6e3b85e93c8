import type { ScriptParameter } from '../azure/gateway';
import type { FleetVm, WindowsState } from './fleet';
import type { InteriorResult } from './interior';
import { toPsJson } from '../runbook/diagnostic-output';
import type { FixEmulation } from './vm-interior-fixes';
import { emulateRdpOff } from './vm-interior-fixes-rdpoff';

/**
 * The emulation of the undo scripts (services/runbook/scripts/undo-*.ps1): the change each makes
 * inside the VM's fleet `windows` state and the JSON status line it prints, as the script does under
 * the modelled Windows (services/simulator/windows-model). test/unit/undo-differential.test.ts keeps
 * the two equal: same stdout, same canonicalWindows().
 *
 * Kept apart from vm-interior-fixes.ts (the fix scripts' emulation), which delegates `undo-*` ids here.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Status = { [k: string]: Json };

export const UNDO_EMULATED = ['undo-enable-tls', 'undo-enable-nla', 'undo-fix-firewall-rule'] as const;

/** PowerShell's `[string]$x` parameter binding: an absent parameter takes the script's default. */
function param(ps: ScriptParameter[], name: string, fallback: string): string {
  const p = ps.find((x) => x.name.toLowerCase() === name.toLowerCase());
  return p === undefined ? fallback : p.value;
}

/** PowerShell's -eq on strings: case-insensitive. */
const eqi = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** Test-Value of the scripts: keep, absent (any case) or a DWORD in decimal (1..10 digits, <= 4294967295). */
function validDword(v: string): boolean {
  if (eqi(v, 'keep') || eqi(v, 'absent')) return true;
  return /^[0-9]{1,10}$/.test(v) && Number(v) <= 4294967295;
}

/** A REG_DWORD as the scripts compare it: unsigned decimal (the registry provider returns Int32, 0xFFFFFFFF as -1). */
const unsigned = (n: number | null | undefined): string | null => (n === undefined || n === null ? null : String(n < 0 ? n + 4294967296 : n));
/** What a DWORD write of the unsigned decimal leaves in the registry, as the provider reads it back (Int32). */
const int32 = (want: string): number => {
  const n = Number(want);
  return n > 2147483647 ? n - 4294967296 : n;
};

const line = (st: Status): string => `${toPsJson(st)}\r\n`;

const TLS_PARAMS: Array<[string, 'Enabled' | 'DisabledByDefault', string]> = [
  ['TLS 1.0', 'Enabled', 'Tls10Enabled'],
  ['TLS 1.0', 'DisabledByDefault', 'Tls10DisabledByDefault'],
  ['TLS 1.1', 'Enabled', 'Tls11Enabled'],
  ['TLS 1.1', 'DisabledByDefault', 'Tls11DisabledByDefault'],
  ['TLS 1.2', 'Enabled', 'Tls12Enabled'],
  ['TLS 1.2', 'DisabledByDefault', 'Tls12DisabledByDefault'],
];

function undoEnableTls(w: WindowsState, ps: ScriptParameter[]): Status {
  const st: Status = { id: 'undo-enable-tls', ok: false, status: 'failed', changed: [], needsRestart: false, step: null };
  const wanted = TLS_PARAMS.map(([proto, name, p]) => [proto, name, param(ps, p, 'keep')] as const);
  if (wanted.some(([, , v]) => !validDword(v))) return { ...st, status: 'bad-param' };
  const changed: string[] = [];
  for (const [proto, name, want] of wanted) {
    if (eqi(want, 'keep')) continue;
    const key = w.schannelServer[proto];
    const now = unsigned(key?.[name]);
    if (eqi(want, 'absent')) {
      if (now === null || !key) continue;
      delete key[name];
    } else {
      if (now === String(Number(want))) continue;
      w.schannelServer[proto] = { ...(key ?? {}), [name]: int32(want) };
    }
    changed.push(`${proto}\\${name}`);
  }
  st.changed = changed;
  st.needsRestart = changed.length > 0;
  st.ok = true;
  st.status = changed.length > 0 ? 'done' : 'noop';
  return st;
}

const NLA_PARAMS: Array<['UserAuthentication' | 'fAllowSecProtocolNegotiation' | 'SecurityLayer', string]> = [
  ['UserAuthentication', 'UserAuthentication'],
  ['fAllowSecProtocolNegotiation', 'AllowSecProtocolNegotiation'],
  ['SecurityLayer', 'SecurityLayer'],
];

function undoEnableNla(w: WindowsState, ps: ScriptParameter[]): Status {
  const st: Status = { id: 'undo-enable-nla', ok: false, status: 'failed', changed: [], needsRestart: false, step: null };
  const wanted = NLA_PARAMS.map(([name, p]) => [name, param(ps, p, 'keep')] as const);
  if (wanted.some(([, v]) => !validDword(v))) return { ...st, status: 'bad-param' };
  const changed: string[] = [];
  for (const [name, want] of wanted) {
    if (eqi(want, 'keep')) continue;
    const now = unsigned(w.rdpTcp[name]);
    if (eqi(want, 'absent')) {
      if (now === null) continue;
      delete w.rdpTcp[name];
    } else {
      if (now === String(Number(want))) continue;
      w.rdpTcp[name] = int32(want);
    }
    changed.push(name);
  }
  st.changed = changed;
  st.needsRestart = changed.length > 0;
  st.ok = true;
  st.status = changed.length > 0 ? 'done' : 'noop';
  return st;
}

const portList = (p: number | string | string[]): string[] => (Array.isArray(p) ? p.map(String) : [String(p)]);

function undoFirewallRule(w: WindowsState, ps: ScriptParameter[]): Status {
  const st: Status = { id: 'undo-fix-firewall-rule', ok: false, status: 'failed', action: 'none', step: null };
  const exists = param(ps, 'Exists', '1');
  const enabled = param(ps, 'Enabled', 'True');
  const localPort = param(ps, 'LocalPort', '');
  const okExists = exists === '0' || exists === '1';
  const okEnabled = eqi(enabled, 'True') || eqi(enabled, 'False');
  const okPorts = /^[0-9]{1,5}(\.[0-9]{1,5}){0,9}$/.test(localPort) && localPort.split('.').every((p) => Number(p) >= 1 && Number(p) <= 65535);
  if (!okExists || (exists === '1' && (!okEnabled || !okPorts))) return { ...st, status: 'bad-param' };
  st.step = 'read';
  // a damaged firewall CIM provider: Get-NetFirewallRule -ErrorAction SilentlyContinue finds nothing
  const readable = !(w.damage?.cimClasses ?? []).includes('MSFT_NetFirewallRule');
  const rule = readable ? w.firewallRdpRule : null;
  if (exists === '0') {
    if (rule) {
      st.step = 'remove';
      w.firewallRdpRule = null;
      st.action = 'removed';
    }
  } else if (rule) {
    const want = localPort.split('.');
    const same = portList(rule.localPort).join('.') === want.join('.');
    if (!eqi(rule.enabled ? 'True' : 'False', enabled) || !same) {
      st.step = 'update';
      w.firewallRdpRule = { enabled: eqi(enabled, 'True'), localPort: want };
      st.action = 'updated';
    }
  } else {
    st.step = 'missing';
    st.action = 'missing';
  }
  st.ok = st.action !== 'missing';
  st.status = st.action === 'none' ? 'noop' : st.ok ? 'done' : 'rule-missing';
  if (st.ok) st.step = null;
  return st;
}

/** What an undo script prints and changes, exactly as under the modelled Windows. */
export function emulateUndo(w: WindowsState, scriptId: string, ps: ScriptParameter[]): FixEmulation {
  const rdpOff = emulateRdpOff(w, scriptId, ps); // §1b: remote desktop switched off, TermService config
  if (rdpOff) return rdpOff;
  const before = JSON.stringify(w);
  let st: Status;
  switch (scriptId) {
    case 'undo-enable-tls':
      st = undoEnableTls(w, ps);
      break;
    case 'undo-enable-nla':
      st = undoEnableNla(w, ps);
      break;
    case 'undo-fix-firewall-rule':
      st = undoFirewallRule(w, ps);
      break;
    default:
      throw new Error(`unknown undo script ${scriptId}`);
  }
  return { stdout: line(st), virtualSeconds: 0, changed: JSON.stringify(w) !== before };
}

/** The undo script run inside a simulated VM: its line, its change, and whether it waits for a restart. */
export function runUndoInside(_vm: FleetVm, w: WindowsState, scriptId: string, ps: ScriptParameter[]): InteriorResult {
  let r: FixEmulation;
  try {
    r = emulateUndo(w, scriptId, ps);
  } catch {
    return { stdout: '', stderr: `unknown script id ${scriptId}`, changed: false };
  }
  const status = JSON.parse(r.stdout) as Record<string, unknown>;
  // SCHANNEL and the RDP-Tcp security values are read at start: the change takes effect after the VM restart
  const restartPending = status.status === 'done' && status.needsRestart === true;
  return { stdout: r.stdout, stderr: '', changed: r.changed, restartPending: restartPending || undefined };
}
