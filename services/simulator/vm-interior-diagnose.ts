import { createHash } from 'node:crypto';
import type { ScriptParameter } from '../azure/gateway';
import { CAPS, serializeFacts, type DiagnosticFacts } from '../runbook/diagnostic-output';
import { canonicalWindows, type CanonicalWindows, type WindowsState } from './fleet';
import { hostFactsFromWindows } from './vm-interior-diagnose-host';
import { rdpSwitchFacts } from './vm-interior-diagnose-rdpoff';

/**
 * The emulation of diagnose.ps1: the line the script prints under the modelled Windows
 * (services/simulator/windows-model) for the same state, `now` and parameters. Kept byte-for-byte
 * equal to the real script by test/unit/diagnose-differential.test.ts; where they differ, Windows
 * facts decide (the model names its sources). Each block follows the script's step order.
 */

const TS_POLICY = 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';
const SSL_POLICY = 'SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002';
const RDP_RULE = 'RemoteDesktop-UserMode-In-TCP';
const HR_CIM = '80041013';
const HR_DENIED = '80070005';
const ZERO_HASH = '0'.repeat(40);
const SYSTEM_TOKEN = ['S-1-5-18', 'S-1-5-32-544', 'S-1-1-0', 'S-1-5-11'];
const KNOWN_SIDS = ['S-1-5-20', 'S-1-5-11', 'S-1-1-0', 'S-1-5-18', 'S-1-5-32-544'];
const RIGHT_MASK: Record<string, number> = { F: 0x1f01ff, M: 0x1301bf, RX: 0x1200a9, R: 0x120089, W: 0x100116, special: 0x20183 };
/** RecordId offsets of the model's events (equal times sort by RecordId, descending). */
const EVENT_ORDER = ['1057', '1058', '1006', '36870', '36871', '36872', '7031', '7034', '4625', '140'];

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const clean = (s: string, max: number = CAPS.nameLength): string => s.replace(/[^A-Za-z0-9._$ -]/g, '_').slice(0, max);
const lower = (s: string): string => s.toLowerCase();

export interface DiagnoseOptions {
  parameters?: ScriptParameter[];
}

/** The facts diagnose.ps1 collects on a machine in this state (its output before the size guard). */
export function factsFromWindows(state: WindowsState, now: Date, boot: Date, options: DiagnoseOptions = {}): DiagnosticFacts {
  const w = canonicalWindows(state);
  const err: string[] = [];
  const addErr = (code: string): void => {
    if (err.length < CAPS.err && !err.includes(code)) err.push(code);
  };
  const broken = (cls: string): boolean => w.damage.cimClasses.includes(cls);

  // -Since: yyyyMMddHHmmss UTC, used only inside the last 24 hours
  let from = new Date(now.getTime() - 24 * 3600 * 1000);
  const since = (options.parameters ?? []).find((p) => p.name.toLowerCase() === 'since')?.value ?? '';
  if (/^[0-9]{14}$/.test(since)) {
    const s = parseSince(since);
    if (s === null) addErr('since');
    else if (s.getTime() > from.getTime() && s.getTime() < now.getTime()) from = s;
  }

  const bootText = broken('Win32_OperatingSystem') ? null : isoSeconds(boot);
  if (bootText === null) addErr('boot');

  const port = w.rdpPort;
  const rdpReg = registryValues(w, 'SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp');

  // listeners: PIDs on the port, sorted, first 3; each PID's services, TermService first
  let listeners: DiagnosticFacts['listeners'] = null;
  if (broken('MSFT_NetTCPConnection')) {
    addErr(`listen:${HR_CIM}`);
  } else {
    const pids = [...new Set(w.listeners.filter((l) => l.port === port).map((l) => l.pid))].sort((a, b) => a - b).slice(0, CAPS.listeners);
    listeners = pids.map((pid) => {
      let proc = '?';
      for (const l of w.listeners) if (l.pid === pid) proc = l.process;
      if (proc === '?' && pid === 4) proc = 'System';
      if (proc === '?' && serviceNames(w).some((n) => servicePid(w, n) === pid)) proc = 'svchost';
      let names: string[] = [];
      if (broken('Win32_Service')) addErr('listen:svc');
      else names = serviceNames(w).filter((n) => servicePid(w, n) === pid);
      const others = names.filter((n) => n !== 'TermService').sort((a, b) => (lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0));
      const sorted = [...names.filter((n) => n === 'TermService'), ...others];
      return { pid, proc: clean(proc), svc: sorted.slice(0, CAPS.servicesPerListener).map((n) => clean(n)) };
    });
  }

  // services: Win32_Service state (Windows spelling) and start mode
  let services: DiagnosticFacts['services'] = null;
  if (broken('Win32_Service')) {
    addErr(`svc:${HR_CIM}`);
  } else {
    const one = (name: string): { state: string; start: string } | null => {
      const s = serviceOf(w, name);
      return s ? { state: clean(win32State(s.state), 16), start: clean(s.startMode, 16) } : null;
    };
    services = { TermService: one('TermService'), SessionEnv: one('SessionEnv'), UmRdpService: one('UmRdpService') };
  }

  // certificate: the bound one (Remote Desktop, then My), else the Remote Desktop store's newest
  const sslHash = w.sslCertificateSHA1Hash;
  const c = w.rdpCertificate;
  let want = sslHash;
  if (!want) {
    if (broken('Win32_TSGeneralSetting')) addErr('certwmi');
    else want = c && c.store === 'Remote Desktop' ? c.thumbprint : ZERO_HASH;
  }
  let chosen = false;
  if (c && want && c.thumbprint === want) chosen = true;
  if (c && !chosen && c.store === 'Remote Desktop') chosen = true;
  let cert: DiagnosticFacts['cert'] = null;
  let keyPath = false;
  if (c && chosen) {
    let keyFile = false;
    if (c.hasPrivateKey) {
      const file = keyFileExists(w);
      // NTE_BAD_KEYSET when there is no key file; otherwise the file is found by its container name,
      // whether SYSTEM can open the key or not (A1, A2); Test-Path needs the folder listed or the file's attributes
      keyFile = file && keyFileVisible(w);
    }
    keyPath = keyFile;
    cert = { thumb: c.thumbprint, notAfter: c.notAfter, hasKey: c.hasPrivateKey, store: c.store, keyFile };
  }

  // ACLs (Get-Acl needs READ_CONTROL; the owner always has it)
  let mkAcl: string[] | null = null;
  if (access(w.machineKeysAcl, w.machineKeysOwner, 0x20000)) mkAcl = aclAsScript(w.machineKeysAcl);
  else addErr(`mkacl:${HR_DENIED}`);
  let keyAcl: string[] | null = null;
  if (keyPath && w.rdpKeyFileAcl) {
    if (access(w.rdpKeyFileAcl, w.rdpKeyFileOwner, 0x20000)) keyAcl = aclAsScript(w.rdpKeyFileAcl);
    else addErr(`keyacl:${HR_DENIED}`);
  }

  // SCHANNEL server values (null = absent)
  const tls = {} as NonNullable<DiagnosticFacts['tls']>;
  for (const v of ['TLS 1.0', 'TLS 1.1', 'TLS 1.2'] as const) {
    const reg = registryValues(w, `SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\${v}\\Server`);
    tls[v] = { Enabled: dword(reg?.Enabled), DisabledByDefault: dword(reg?.DisabledByDefault) };
  }
  const rdpTcp = {
    SecurityLayer: dword(rdpReg?.SecurityLayer),
    UserAuthentication: dword(rdpReg?.UserAuthentication),
    fAllowSecProtocolNegotiation: dword(rdpReg?.fAllowSecProtocolNegotiation),
  };

  // firewall rule by Name in the ActiveStore
  let fw: DiagnosticFacts['fw'] = null;
  if (broken('MSFT_NetFirewallRule')) {
    addErr(`fw:${HR_CIM}`);
  } else {
    const rule = w.firewallRdpRule ?? w.firewall.rules.find((r) => r.name === RDP_RULE) ?? null;
    fw = rule
      ? { found: true, enabled: rule.enabled, ports: rule.localPort.slice(0, CAPS.firewallPorts).map((p) => clean(p, 16)) }
      : { found: false, enabled: false, ports: [] };
  }

  let domain: boolean | null = w.domainJoined;
  if (broken('Win32_ComputerSystem')) {
    domain = null;
    addErr('domain');
  }

  // policy: the TS policy key's values, the cipher-order key, SCHANNEL values RSOP reports
  const policy: string[] = [];
  const addPolicy = (entry: string): void => {
    const e = entry.replace(/[^A-Za-z0-9 ._=\\-]/g, '_').slice(0, CAPS.policyLength);
    if (policy.length < CAPS.policy && !policy.includes(e)) policy.push(e);
  };
  const tsPol = registryValues(w, TS_POLICY);
  for (const n of ['UserAuthentication', 'SecurityLayer', 'MinEncryptionLevel', 'fDenyTSConnections']) {
    const x = dword(tsPol?.[n]);
    if (x !== null) addPolicy(`TS\\${n}=${x}`);
  }
  if (Object.keys(w.policyValues).some((p) => lower(parentKey(p)) === lower(SSL_POLICY) || lower(p).startsWith(`${lower(SSL_POLICY)}\\`))) addPolicy('SSL\\00010002');
  let rsop: DiagnosticFacts['rsop'] = 'ok';
  if (broken('RSOP_RegistryPolicySetting')) {
    rsop = 'error';
  } else {
    for (const p of rsopPaths(w)) {
      const key = parentKey(p);
      const name = p.slice(key.length + 1);
      const i = key.indexOf('Protocols\\');
      if (lower(key).includes('schannel') && name && i >= 0) addPolicy(`SCHANNEL\\${key.slice(i + 10)}\\${name}`);
    }
  }

  // events in [from, now]
  const events = {} as DiagnosticFacts['events'];
  const rcm = newest(['1057', '1058', '1006'].flatMap((id) => eventsOf(w, id, now, from)), CAPS.events);
  for (const id of ['1057', '1058', '1006'] as const) events[id] = rcm.filter((e) => e.id === id).length;
  const sch = newest(['36870', '36871', '36872'].flatMap((id) => eventsOf(w, id, now, from)), CAPS.events);
  for (const id of ['36870', '36871', '36872'] as const) events[id] = sch.filter((e) => e.id === id).length;
  const failed = newest(failedLogons(w, now).filter((e) => e.t >= from.getTime() && e.t <= now.getTime()), CAPS.events4625);
  const net = failed.filter((e) => e.type === 3 || e.type === 10);
  events['4625'] = net.length;
  const ips = new Map<string, number>();
  const count = (ip: string): void => {
    if (/^[0-9A-Fa-f:.]{1,45}$/.test(ip)) ips.set(ip, (ips.get(ip) ?? 0) + 1);
  };
  for (const e of net) count(e.ip);
  if (ips.size === 0 && net.length > 0) {
    const rdpcore = newest(failedLogons(w, now).filter((e) => e.rdpcore !== null && e.t >= from.getTime() && e.t <= now.getTime()), CAPS.events4625);
    for (const e of rdpcore) count(e.rdpcore ?? '');
  }
  const ranked = [...ips.entries()].map(([ip, n], rank) => ({ ip, count: n, rank }));
  ranked.sort((a, b) => b.count - a.count || a.rank - b.rank);
  const logons = ranked.slice(0, CAPS.logons).map((x) => ({ ip: x.ip, count: x.count }));

  return {
    v: 1,
    id: 'diagnose',
    ps: '5.1',
    at: isoSeconds(now),
    since: isoSeconds(from),
    boot: bootText,
    port,
    listeners,
    services,
    cert,
    sslHash,
    mkAcl,
    keyAcl,
    tls,
    rdpTcp,
    fw,
    domain,
    policy,
    rsop,
    events,
    logons,
    host: hostFactsFromWindows(w, port, domain, addErr),
    err,
    ...rdpSwitchFacts(w, now, from, addErr), // §1b: remote desktop switched off, TermService config
  };
}

/** The line diagnose.ps1 prints: the facts, with the optional lists dropped when over 3,500 characters. */
export function diagnoseLine(state: WindowsState, now: Date, boot: Date, options: DiagnoseOptions = {}): string {
  const facts = factsFromWindows(state, now, boot, options);
  const json = serializeFacts(facts);
  if (json.length <= 3500) return json;
  return serializeFacts({ ...facts, logons: null, keyAcl: null, mkAcl: null });
}

function parseSince(s: string): Date | null {
  const [y, mo, d, h, mi, se] = [s.slice(0, 4), s.slice(4, 6), s.slice(6, 8), s.slice(8, 10), s.slice(10, 12), s.slice(12, 14)].map(Number);
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) return null;
  return back;
}

function dword(v: number | string | undefined | null): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Math.trunc(v);
  return /^\s*-?\d+\s*$/.test(v) ? Number.parseInt(v, 10) : null;
}

function parentKey(path: string): string {
  const i = path.lastIndexOf('\\');
  return i < 0 ? '' : path.slice(0, i);
}

/** A registry key's values as the model projects them (field values, then Group Policy values over them). */
function registryValues(w: CanonicalWindows, key: string): Record<string, number | string> | null {
  const v: Record<string, number | string> = {};
  const k = lower(key);
  if (k === lower('SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp')) {
    for (const [n, x] of Object.entries(w.rdpTcp)) if (x !== null && x !== undefined) v[n] = x;
  } else {
    const m = /^system\\currentcontrolset\\control\\securityproviders\\schannel\\protocols\\([^\\]+)\\server$/.exec(k);
    if (m) {
      const ver = Object.keys(w.schannelServer).find((x) => lower(x) === m[1]);
      if (ver === undefined) {
        if (!Object.keys(w.policyValues).some((p) => lower(parentKey(p)) === k)) return null;
      } else {
        for (const [n, x] of Object.entries(w.schannelServer[ver])) if (x !== undefined) v[n] = x;
      }
    }
  }
  for (const [p, x] of Object.entries(w.policyValues)) if (lower(parentKey(p)) === k) v[p.slice(p.lastIndexOf('\\') + 1)] = x;
  return v;
}

function rsopPaths(w: CanonicalWindows): string[] {
  const out: string[] = [];
  for (const p of [...w.policyManagedKeys, ...Object.keys(w.policyValues)]) if (p && !out.includes(p)) out.push(p);
  return out;
}

function serviceNames(w: CanonicalWindows): string[] {
  const names = Object.keys(w.services);
  for (const l of w.listeners) for (const s of l.services) if (!names.includes(s)) names.push(s);
  return names;
}

function serviceOf(w: CanonicalWindows, name: string): { state: string; startMode: string } | null {
  const s = w.services[name];
  if (s) return s;
  return w.listeners.some((l) => l.services.includes(name)) ? { state: 'Running', startMode: 'Auto' } : null;
}

function servicePid(w: CanonicalWindows, name: string): number {
  const s = serviceOf(w, name);
  if (!s || s.state === 'Stopped') return 0;
  const l = w.listeners.find((x) => x.services.includes(name));
  if (l) return l.pid;
  if (name === 'TermService') return 1104;
  const sorted = [...serviceNames(w)].sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0));
  return 2000 + 4 * sorted.indexOf(name);
}

function win32State(s: string): string {
  return s === 'StartPending' ? 'Start Pending' : s === 'StopPending' ? 'Stop Pending' : s;
}

function aceParts(e: string): { sid: string; right: string; deny: boolean } {
  const a = e.split(':');
  return { sid: a[0], right: a[1], deny: a[2] === 'deny' };
}

/** Windows access check for SYSTEM's token: Deny wins, the owner always has READ_CONTROL and WRITE_DAC. */
function access(acl: string[], owner: string, mask: number): boolean {
  let granted = 0;
  let denied = 0;
  for (const e of acl) {
    const a = aceParts(e);
    if (!SYSTEM_TOKEN.includes(a.sid)) continue;
    if (a.deny) denied |= RIGHT_MASK[a.right];
    else granted |= RIGHT_MASK[a.right];
  }
  const need = mask & ~(SYSTEM_TOKEN.includes(owner) ? 0x60000 : 0);
  return (need & denied) === 0 && (need & granted) === need;
}

function keyFileExists(w: CanonicalWindows): boolean {
  return w.rdpKeyFileAcl !== null && w.rdpCertificate?.key !== 'missing';
}

function keyFileVisible(w: CanonicalWindows): boolean {
  return access(w.machineKeysAcl, w.machineKeysOwner, 0x1) || (w.rdpKeyFileAcl !== null && access(w.rdpKeyFileAcl, w.rdpKeyFileOwner, 0x80));
}

/** diagnose.ps1's Get-Right: the strongest of F, M, RX, R the mask fully contains; W; else special. */
function rightOf(mask: number): string {
  const m = mask | 0x100000;
  if ((m & 0x1f01ff) === 0x1f01ff) return 'F';
  if ((m & 0x1301bf) === 0x1301bf) return 'M';
  if ((m & 0x1200a9) === 0x1200a9) return 'RX';
  if ((m & 0x120089) === 0x120089) return 'R';
  if ((m & 0x116) === 0x116) return 'W';
  return 'special';
}

/** The script's ACL list: SIDs validated and clipped, Deny with ReadData shown as R, known SIDs and denies first, 5 at most. */
function aclAsScript(acl: string[]): string[] {
  const first: string[] = [];
  const rest: string[] = [];
  for (const e of acl) {
    const a = aceParts(e);
    if (!/^S-1-[0-9-]+$/.test(a.sid)) continue;
    const sid = a.sid.slice(0, 64);
    const mask = RIGHT_MASK[a.right];
    let right = rightOf(mask);
    if (a.deny && (mask & 1) !== 0 && (right === 'W' || right === 'special')) right = 'R';
    const entry = `${sid}:${right}${a.deny ? ':deny' : ''}`;
    if (first.includes(entry) || rest.includes(entry)) continue;
    if (a.deny || KNOWN_SIDS.includes(sid)) first.push(entry);
    else rest.push(entry);
  }
  return [...first, ...rest].slice(0, CAPS.acl);
}

interface EventTime {
  id: string;
  t: number;
  rec: number;
}

/** Times of the model's events of one id: spread over the 24 h before `now`, none after its stop time. */
function eventTimes(w: CanonicalWindows, id: string, n: number, now: Date): number[] {
  const stop = w.eventsStoppedAt[id];
  const end = stop ? Math.min(now.getTime(), Date.parse(stop)) : now.getTime();
  const span = end - (now.getTime() - 24 * 3600 * 1000);
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(span > 0 ? end - Math.floor((k * span) / n) : end - (k + 1) * 1000);
  return out;
}

function recordId(id: string, k: number): number {
  return (EVENT_ORDER.indexOf(id) + 1) * 1_000_000 + 100_000 - k;
}

function eventsOf(w: CanonicalWindows, id: string, now: Date, from: Date): EventTime[] {
  return eventTimes(w, id, w.events24h[id] ?? 0, now)
    .map((t, k) => ({ id, t, rec: recordId(id, k) }))
    .filter((e) => e.t >= from.getTime() && e.t <= now.getTime());
}

function newest<T extends { t: number; rec: number }>(list: T[], cap: number): T[] {
  return [...list].sort((a, b) => b.t - a.t || b.rec - a.rec).slice(0, cap);
}

interface FailedLogon {
  t: number;
  rec: number;
  type: number;
  ip: string;
  /** the RdpCoreTS 140 address logged with it (RDP failures under NLA), else null */
  rdpcore: string | null;
}

/** The model's 4625 events: sources in fleet order (oldest first), then console failures; NLA turns RDP ones into type 3 with "-". */
function failedLogons(w: CanonicalWindows, now: Date): FailedLogon[] {
  const n = w.auditFailedLogons ? (w.events24h['4625'] ?? 0) : 0;
  const seq: Array<{ ip: string; logonType: number | null; console: boolean }> = [];
  for (const s of w.failedLogonSources) for (let i = 0; i < s.count && seq.length < n; i++) seq.push({ ip: s.ip, logonType: s.logonType, console: false });
  while (seq.length < n) seq.push({ ip: '-', logonType: 2, console: true });
  const nla = nlaOn(w);
  const times = eventTimes(w, '4625', n, now);
  return times.map((t, k) => {
    const s = seq[n - 1 - k];
    const rdp = s.logonType === null && !s.console;
    return {
      t,
      rec: recordId('4625', k),
      type: s.logonType ?? (nla ? 3 : 10),
      ip: rdp && nla ? '-' : s.ip,
      rdpcore: rdp && nla ? s.ip : null,
    };
  });
}

function nlaOn(w: CanonicalWindows): boolean {
  const pol = Object.entries(w.policyValues).find(([p]) => lower(p) === lower(`${TS_POLICY}\\UserAuthentication`))?.[1];
  const v = pol !== undefined ? pol : w.rdpTcp.UserAuthentication;
  return v !== undefined && v !== null && Number(v) === 1;
}

/** A deterministic self-signed thumbprint for emulated certificate renewals (kept for callers that need one). */
export function thumbprintOf(seed: string): string {
  return createHash('sha1').update(seed).digest('hex').toUpperCase();
}
