import type { ScriptParameter } from '../azure/gateway';
import { eqi, int32, param, unsigned, validDword } from './ps-binding';
import type { FleetVm, WindowsState } from './fleet';
import type { InteriorResult } from './interior';
import { toPsJson } from '../runbook/diagnostic-output';
import { access, aclOwner, aclPrint, aclItem, backupNames, BACKUP_DIR, Box, itemAcl, RSA, sha256, svcFailure, SYSTEM_TOKEN, type FixEmulation } from './vm-interior-fixes';
import { undoAllowRdpThroughFirewall } from './vm-interior-fixes-host';
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

export const UNDO_EMULATED = ['undo-enable-tls', 'undo-enable-nla', 'undo-fix-firewall-rule', 'undo-change-rdp-port', 'undo-reset-machinekeys-acl', 'undo-allow-rdp-through-firewall'] as const;


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

// ---- undo-change-rdp-port.ps1 (PowerShell's -eq and -match are case-insensitive) ----
const UNDO_PORTS = /^(Any|[0-9]{1,5}(-[0-9]{1,5})?)(\.(Any|[0-9]{1,5}(-[0-9]{1,5})?)){0,9}$/i;
function validPorts(v: string): boolean {
  if (!UNDO_PORTS.test(v)) return false;
  return v.split('.').every((p) => p.split('-').every((n) => eqi(n, 'Any') || (Number(n) >= 1 && Number(n) <= 65535)));
}
const samePorts = (state: Status | null, want: string): boolean => state !== null && eqi((state.localPort as string[]).join('.'), want);

function undoChangeRdpPort(b: Box, ps: ScriptParameter[]): Status {
  const w = b.w;
  const st: Status = { id: 'undo-change-rdp-port', ok: false, status: 'failed', port: null, fromPort: null, firewall: [], listening: false, step: null };
  const raw = param(ps, 'Port', '');
  const ruleExists = param(ps, 'RuleExists', 'keep');
  const ruleEnabled = param(ps, 'RuleEnabled', 'True');
  const ruleLocalPort = param(ps, 'RuleLocalPort', '');
  const udpLocalPort = param(ps, 'UdpLocalPort', 'keep');
  const old = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : 0;
  const okRule = eqi(ruleExists, 'keep') || ruleExists === '0' || (ruleExists === '1' && (eqi(ruleEnabled, 'True') || eqi(ruleEnabled, 'False')) && validPorts(ruleLocalPort));
  const okUdp = eqi(udpLocalPort, 'keep') || validPorts(udpLocalPort);
  if (old < 1 || old > 65535 || [5985, 5986, 47001].includes(old) || !okRule || !okUdp) return { ...st, status: 'bad-param', step: 'port' };
  st.port = old;
  st.step = 'check';
  const builtin = 'RemoteDesktop-UserMode-In-TCP';
  const udp = 'RemoteDesktop-UserMode-In-UDP';
  const now = w.rdpPort;
  st.fromPort = now;
  const term = b.service('TermService');
  if (!term) return { ...st, status: 'failed', error: '80131501' };
  const tcpNow = b.ruleState(builtin);
  const udpNow = b.ruleState(udp);
  const tcpSame =
    eqi(ruleExists, 'keep') || (ruleExists === '0' && tcpNow === null) || (ruleExists === '1' && samePorts(tcpNow, ruleLocalPort) && eqi(tcpNow?.enabled ? 'True' : 'False', ruleEnabled));
  const udpSame = eqi(udpLocalPort, 'keep') || udpNow === null || samePorts(udpNow, udpLocalPort);
  const termPid = b.pid('TermService', term);
  if (b.listeningPids(old).some((p) => p !== termPid)) return { ...st, status: 'port-in-use' };
  if (now === old && tcpSame && udpSame && b.rdpListening(old)) return { ...st, status: 'noop', ok: true, listening: true, step: null };
  st.step = 'firewall';
  const fw: string[] = [];
  if (!tcpSame) {
    if (ruleExists === '0') {
      w.firewallRdpRule = null;
      fw.push('tcp-removed');
    } else if (tcpNow === null) {
      return { ...st, status: 'rule-missing', error: '80131501' };
    } else {
      w.firewallRdpRule = { enabled: eqi(ruleEnabled, 'True'), localPort: ruleLocalPort.split('.') };
      fw.push('tcp');
    }
  }
  if (!udpSame) {
    const r = (w.firewall?.rules ?? []).find((x) => x.name === udp && x.source !== 'GroupPolicy');
    if (r) r.localPort = udpLocalPort.split('.');
    fw.push('udp');
  }
  st.firewall = fw;
  st.step = 'registry';
  if (now !== old) w.rdpPort = old;
  st.step = 'termservice';
  let r = 'ok';
  if (now !== old || !b.rdpListening(old)) r = b.restartRdp(st, term.state === 'Running');
  if (r !== 'ok') {
    svcFailure(st, r);
    return st;
  }
  st.step = 'verify';
  st.listening = b.waitListening(old);
  st.ok = st.listening;
  st.status = st.listening ? 'done' : 'not-listening';
  st.step = null;
  return st;
}

// ---- undo-reset-machinekeys-acl.ps1 ----
const SID = /^S-1-[0-9]{1,13}(-[0-9]{1,10}){1,15}$/i;
const KEY_NAME = /^[0-9a-f]{32}_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function decodeParam(v: string): string {
  if (!v.startsWith('b64.')) return v;
  const body = v.slice(4);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) return '';
  return Buffer.from(body, 'base64').toString('utf8');
}

function undoResetMachineKeysAcl(b: Box, ps: ScriptParameter[]): Status {
  const w = b.w;
  const st: Status = { id: 'undo-reset-machinekeys-acl', ok: false, status: 'failed', restored: 0, owners: 0, needsRestart: false, step: null };
  const stamp = param(ps, 'Stamp', '');
  const hash = param(ps, 'BackupHash', '');
  const after = param(ps, 'After', '');
  const folderOwner = param(ps, 'FolderOwner', 'keep');
  const keyOwner = param(ps, 'KeyOwner', 'keep');
  const keyName = decodeParam(param(ps, 'KeyFile', ''));
  const sidOk = (v: string): boolean => eqi(v, 'keep') || SID.test(v);
  const okKey = keyName === '' || KEY_NAME.test(keyName);
  if (!/^[0-9]{14}$/.test(stamp) || !/^[0-9a-f]{64}$/i.test(hash) || !/^[0-9a-f]{16}$/i.test(after) || !sidOk(folderOwner) || !sidOk(keyOwner) || !okKey || (!eqi(keyOwner, 'keep') && keyName === '')) {
    return { ...st, status: 'bad-param' };
  }
  const mk = `${RSA}\\MachineKeys`;
  const bk = `${BACKUP_DIR}\\machinekeys-acl-${stamp}.txt`;
  st.step = 'read';
  const files = w.files ?? {};
  const bkKey = Object.keys(files).find((k) => k.toLowerCase() === bk.toLowerCase());
  if (bkKey === undefined) return { ...st, status: 'backup-missing' };
  const text = files[bkKey];
  const names = backupNames(text);
  if (!eqi(sha256(text), hash) || names.length === 0 || names.some((n) => !eqi(n, 'MachineKeys') && !n.toLowerCase().startsWith('machinekeys\\'))) return { ...st, status: 'backup-changed' };
  if (!eqi(aclPrint(b, names), after)) return { ...st, status: 'changed-since' };
  st.step = 'restore';
  // icacls RSA /restore <file> /c /q: each entry needs WRITE_DAC; a missing item or a refusal sets the exit code and the rest go on
  let rc = 0;
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  for (let j = 0; j + 1 < lines.length; j += 2) {
    const item = aclItem(b, `${RSA}\\${lines[j]}`);
    if (!item) {
      rc = 2;
      continue;
    }
    const cur = itemAcl(b, item);
    if (!access(cur.acl, cur.owner, SYSTEM_TOKEN, 0x40000)) {
      rc = 5;
      continue;
    }
    const entries = lines[j + 1].replace(/^D:/, '').split(';').filter((e) => e !== '');
    if (item === 'mk') w.machineKeysAcl = entries;
    else w.rdpKeyFileAcl = entries;
  }
  if (rc !== 0) return { ...st, status: 'restore-failed', error: rc };
  st.restored = names.length;
  st.step = 'owner';
  const pairs: Array<[string, string]> = [[mk, folderOwner]];
  if (keyName !== '') pairs.push([`${mk}\\${keyName}`, keyOwner]);
  let bad = 0;
  let owners = 0;
  for (const [path, sid] of pairs) {
    if (eqi(sid, 'keep') || eqi(aclOwner(b, path) ?? '', sid)) continue;
    const item = aclItem(b, path);
    if (!item) {
      bad++;
      continue;
    }
    if (item === 'mk') w.machineKeysOwner = sid;
    else w.rdpKeyFileOwner = sid;
    owners++;
  }
  st.owners = owners;
  if (bad > 0) return { ...st, status: 'owner-failed' };
  st.step = 'cleanup';
  const rest = { ...files };
  delete rest[bkKey];
  w.files = rest;
  st.ok = true;
  st.status = 'done';
  st.step = null;
  return st;
}

/** What an undo script prints and changes, exactly as under the modelled Windows. */
export function emulateUndo(w: WindowsState, scriptId: string, ps: ScriptParameter[], now: Date = new Date(0)): FixEmulation {
  const rdpOff = emulateRdpOff(w, scriptId, ps); // §1b: remote desktop switched off, TermService config
  if (rdpOff) return rdpOff;
  const before = JSON.stringify(w);
  let st: Status;
  let seconds = 0;
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
    case 'undo-change-rdp-port': {
      const b = new Box(w, now);
      st = undoChangeRdpPort(b, ps);
      seconds = b.t;
      break;
    }
    case 'undo-reset-machinekeys-acl':
      st = undoResetMachineKeysAcl(new Box(w, now), ps);
      break;
    case 'undo-allow-rdp-through-firewall': // §1b (famhost)
      st = undoAllowRdpThroughFirewall(w, ps);
      break;
    default:
      throw new Error(`unknown undo script ${scriptId}`);
  }
  return { stdout: line(st), virtualSeconds: seconds, changed: JSON.stringify(w) !== before };
}

/** The undo script run inside a simulated VM: its line, its change, and whether it waits for a restart. */
export function runUndoInside(_vm: FleetVm, w: WindowsState, scriptId: string, ps: ScriptParameter[], now: Date = new Date()): InteriorResult {
  let r: FixEmulation;
  try {
    r = emulateUndo(w, scriptId, ps, now);
  } catch {
    return { stdout: '', stderr: `unknown script id ${scriptId}`, changed: false };
  }
  const status = JSON.parse(r.stdout) as Record<string, unknown>;
  // SCHANNEL and the RDP-Tcp security values are read at start: the change takes effect after the VM restart
  const restartPending = status.status === 'done' && status.needsRestart === true;
  return { stdout: r.stdout, stderr: '', changed: r.changed, restartPending: restartPending || undefined };
}
