import { createHash } from 'node:crypto';
import type { ScriptParameter } from '../azure/gateway';
import { param } from './ps-binding';
import { canonicalService, normaliseThumb, type CanonicalService, type FleetVm, type WindowsState } from './fleet';
import type { InteriorResult } from './interior';
import { toPsJson } from '../runbook/diagnostic-output';
import { onNextRestart } from './vm-interior';
import { runUndoInside } from './vm-interior-undo';
import { allowRdpThroughFirewall } from './vm-interior-fixes-host';
import { emulateRdpOff } from './vm-interior-fixes-rdpoff';

/**
 * The emulation of the fix scripts (services/runbook/scripts/fix-*.ps1): the change each makes
 * inside the VM's fleet `windows` state and the JSON status line it prints, step by step as the
 * script runs under the modelled Windows (services/simulator/windows-model), virtual clock included.
 * test/unit/fix-differential.test.ts keeps the two equal: same stdout, same canonicalWindows().
 *
 * `emulateFix` is that pure emulation. `runFixInside` adds what the simulator needs beyond one run:
 * effects that wait for the VM restart and the errors that stop being logged after a fix.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Status = { [k: string]: Json };

export interface FixEmulation {
  stdout: string;
  /** virtual seconds the script spent (sleeps, service waits) */
  virtualSeconds: number;
  changed: boolean;
}

const MK = 'C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys';
const CNG_KEYS = 'C:\\ProgramData\\Microsoft\\Crypto\\Keys';
const DEFAULT_GUID = '6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7';
const RDP_KEY_CONTAINER = 'TSSecKeySet1';
const TS_POLICY = 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';
export const SYSTEM_TOKEN = ['S-1-5-18', 'S-1-5-32-544', 'S-1-1-0', 'S-1-5-11'];
const RIGHT_MASK: Record<string, number> = { F: 0x1f01ff, M: 0x1301bf, RX: 0x1200a9, R: 0x120089, W: 0x100116, special: 0x20183 };
const NEED_SIDS = ['S-1-5-18', 'S-1-5-32-544', 'S-1-5-20', 'S-1-1-0', 'S-1-5-11'];
const FOLDER_GRANTS: Array<[string, string]> = [['S-1-5-18', 'F'], ['S-1-5-32-544', 'F']];
const KEY_GRANTS: Array<[string, string]> = [['S-1-5-18', 'F'], ['S-1-5-32-544', 'F'], ['S-1-5-20', 'R']];
const SERVICE_DEPS: Record<string, string[]> = { UmRdpService: ['TermService'] };
/** the scripts' bounded wait ($WaitSeconds) and the model's completion time of a pending state */
const WAIT_SECONDS = 60;
const PENDING_SECONDS = 3;
const SERVICE_NAME = /^[A-Za-z0-9_.$ -]{1,80}$/;
const RDP_SERVICES = ['TermService', 'SessionEnv', 'UmRdpService'];

/** The scripts' Write-Status: one ASCII JSON line (ConvertTo-AsciiJson), `before` cut past 3,400 characters. */
export function statusLine(status: Status): string {
  let j = toPsJson(status);
  if (j.length > 3400) j = toPsJson({ ...status, before: 'cut' });
  return `${j}\r\n`;
}

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const DOTNET_EPOCH_TICKS = 621355968000000000n;

/** CAPI machine key file name: MD5 of the lower-case container name and its NUL, as four little-endian DWORDs, then _MachineGuid. */
export function capiKeyFileName(container: string, guid: string): string {
  const h = createHash('md5').update(Buffer.from(`${container.toLowerCase()}\0`, 'ascii')).digest();
  let s = '';
  for (let i = 0; i < 16; i += 4) for (let j = 3; j >= 0; j--) s += h[i + j].toString(16).padStart(2, '0');
  return `${s}_${guid}`;
}

function ace(e: string): { sid: string; right: string; deny: boolean } {
  const a = e.split(':');
  return { sid: a[0], right: a[1], deny: a.length > 2 && a[2] === 'deny' };
}

/** Windows access check as the model simplifies it: Deny first, the owner always has READ_CONTROL and WRITE_DAC. */
export function access(acl: readonly string[] | null, owner: string, token: readonly string[], mask: number): boolean {
  let granted = 0;
  let denied = 0;
  for (const e of acl ?? []) {
    const a = ace(e);
    if (!token.includes(a.sid)) continue;
    const m = RIGHT_MASK[a.right] ?? 0;
    if (a.deny) denied |= m;
    else granted |= m;
  }
  const need = mask & ~(token.includes(owner) ? 0x60000 : 0);
  if ((need & denied) !== 0) return false;
  return (need & granted) === need;
}

function rightLetter(m: number): string {
  for (const r of ['F', 'M', 'RX', 'R']) if ((m & RIGHT_MASK[r]) === RIGHT_MASK[r]) return r;
  if ((m & 0x116) === 0x116) return 'W';
  return 'special';
}

/** icacls /grant: merges into the SID's first entry of the same kind, appends a new Allow, puts a new Deny first. */
function aclGrant(acl: string[], sid: string, right: string): string[] {
  const out: string[] = [];
  let merged = false;
  for (const e of acl) {
    const a = ace(e);
    if (a.sid === sid && !a.deny) {
      if (merged) continue;
      out.push(`${sid}:${rightLetter((RIGHT_MASK[a.right] ?? 0) | RIGHT_MASK[right])}`);
      merged = true;
    } else out.push(e);
  }
  if (!merged) out.push(`${sid}:${rightLetter(RIGHT_MASK[right])}`);
  return out;
}

/** The modelled Windows the scripts run on, over the fleet state, with the virtual clock (also the undo scripts', vm-interior-undo.ts). */
export class Box {
  t = 0;
  changed = false;
  constructor(
    readonly w: WindowsState,
    readonly start: Date,
  ) {}

  now(): Date {
    return new Date(this.start.getTime() + this.t * 1000);
  }

  sleep(s: number): void {
    this.t += s;
  }

  // ---- services ----
  serviceNames(): string[] {
    const names = Object.keys(this.w.services);
    for (const l of this.w.listeners) for (const s of l.services) if (!names.includes(s)) names.push(s);
    return names;
  }

  service(name: string): CanonicalService | null {
    const s = this.w.services[name];
    if (s !== undefined) return canonicalService(name, s);
    if (this.w.listeners.some((l) => l.services.includes(name))) return { ...canonicalService(name, { state: 'Running', startMode: 'Auto' }) };
    return null;
  }

  setService(name: string, s: CanonicalService): void {
    this.w.services[name] = { ...s };
    this.changed = true;
  }

  pid(name: string, s: CanonicalService): number {
    if (s.state === 'Stopped') return 0;
    const l = this.w.listeners.find((x) => x.services.includes(name));
    if (l) return l.pid;
    if (name === 'TermService') return 1104;
    const names = this.serviceNames().sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
    return 2000 + 4 * names.indexOf(name);
  }

  stateText(s: CanonicalService): string {
    return s.state === 'StartPending' ? 'Start Pending' : s.state === 'StopPending' ? 'Stop Pending' : s.state;
  }

  started(name: string): void {
    const w = this.w;
    if (name === 'TermService') {
      w.listeners = w.listeners.filter((l) => !l.services.includes('TermService'));
      const held = w.listeners.some((l) => l.port === w.rdpPort);
      if (!held && w.rdpTcp.fEnableWinStation !== 0) w.listeners.push({ port: w.rdpPort, pid: 1104, process: 'svchost', services: ['TermService'] });
    } else if (name === 'SessionEnv') {
      this.sessionEnvStarted();
    }
  }

  stopped(name: string): void {
    this.w.listeners = this.w.listeners.filter((l) => !l.services.includes(name));
  }

  /** Wait-RdSvc: 2-second polls up to $WaitSeconds; a transition completes at the first poll PENDING_SECONDS after it began. */
  waitTransition(name: string, s: CanonicalService): boolean {
    if (s.hangs) {
      this.sleep(WAIT_SECONDS);
      return false;
    }
    this.sleep(2 * Math.ceil(PENDING_SECONDS / 2));
    const done: CanonicalService = { ...s, state: s.state === 'StartPending' ? 'Running' : 'Stopped' };
    this.setService(name, done);
    if (done.state === 'Running') this.started(name);
    else this.stopped(name);
    return true;
  }

  /** Stop-RdSvc: 'ok' | 'not-found' | 'dependents-running' | 'timeout' */
  stopSvc(name: string): string {
    const s = this.service(name);
    if (!s) return 'not-found';
    if (s.state === 'Stopped') return 'ok';
    if (s.state === 'Running') {
      const deps = Object.keys(SERVICE_DEPS).filter((k) => SERVICE_DEPS[k].includes(name) && (this.service(k)?.state ?? 'Stopped') !== 'Stopped');
      if (deps.length > 0) return 'dependents-running';
      const p: CanonicalService = { ...s, state: 'StopPending' };
      this.setService(name, p);
      return this.waitTransition(name, p) ? 'ok' : 'timeout';
    }
    // pending: sc answers 1061 and the poll waits; only hanging services are pending here
    if (s.state === 'StopPending' && !s.hangs) return this.waitTransition(name, s) ? 'ok' : 'timeout';
    this.sleep(WAIT_SECONDS);
    return 'timeout';
  }

  /** Start-RdSvc: 'ok' | 'not-found' | 'disabled' | 'timeout' */
  startSvc(name: string): string {
    const s = this.service(name);
    if (!s) return 'not-found';
    if (s.state === 'Running') return 'ok';
    if (s.startMode === 'Disabled') return 'disabled';
    if (s.state === 'Stopped') {
      const p: CanonicalService = { ...s, state: 'StartPending' };
      this.setService(name, p);
      return this.waitTransition(name, p) ? 'ok' : 'timeout';
    }
    if (s.state === 'StartPending' && !s.hangs) return this.waitTransition(name, s) ? 'ok' : 'timeout';
    this.sleep(WAIT_SECONDS);
    return 'timeout';
  }

  scConfig(name: string, change: Partial<CanonicalService>): void {
    const s = this.service(name);
    if (s) this.setService(name, { ...s, ...change });
  }

  stuck(st: Status, name: string, r: string): string {
    if (r === 'timeout' && name === 'TermService') {
      this.scConfig('TermService', { ownProcess: true });
      st.isolated = true;
    }
    return `${name}:${r}`;
  }

  /** Restart-Rdp */
  restartRdp(st: Status, stopFirst: boolean): string {
    if (stopFirst) {
      const u = this.stopSvc('UmRdpService');
      if (u !== 'ok' && u !== 'not-found') return `UmRdpService:${u}`;
      const r = this.stopSvc('TermService');
      if (r !== 'ok') return this.stuck(st, 'TermService', r);
    }
    const r = this.startSvc('TermService');
    if (r !== 'ok') return this.stuck(st, 'TermService', r);
    const um = this.service('UmRdpService');
    if (um && um.startMode !== 'Disabled') {
      const u = this.startSvc('UmRdpService');
      if (u !== 'ok') return `UmRdpService:${u}`;
    }
    return 'ok';
  }

  listeningPids(port: number): number[] {
    return this.w.listeners.filter((l) => l.port === port).map((l) => l.pid);
  }

  rdpListening(port: number): boolean {
    const ts = this.service('TermService');
    if (!ts) return false;
    const pid = this.pid('TermService', ts);
    return pid !== 0 && this.listeningPids(port).includes(pid);
  }

  /** Wait-RdpListening: nothing changes while it polls, so it either holds at once or after 10 polls. */
  waitListening(port: number): boolean {
    if (this.rdpListening(port)) return true;
    this.sleep(20);
    return this.rdpListening(port);
  }

  // ---- certificates and keys ----
  guid(): string {
    return this.w.machineGuid ?? DEFAULT_GUID;
  }

  keyFilePath(): string | null {
    const w = this.w;
    if (w.rdpKeyFileAcl === null) return null;
    if (w.rdpCertificate && (w.rdpCertificate.key ?? 'ok') === 'missing') return null;
    return `${MK}\\${capiKeyFileName(w.rdpCertificate?.keyContainer ?? RDP_KEY_CONTAINER, this.guid())}`;
  }

  mkOwner(): string {
    return this.w.machineKeysOwner ?? 'S-1-5-32-544';
  }

  keyOwner(): string {
    return this.w.rdpKeyFileOwner ?? 'S-1-5-32-544';
  }

  keyOpens(): boolean {
    const c = this.w.rdpCertificate;
    if (!c) return true;
    if ((c.key ?? 'ok') === 'missing' || !this.keyFilePath()) return false;
    if ((c.key ?? 'ok') === 'unreadable') return false;
    return access(this.w.rdpKeyFileAcl, this.keyOwner(), SYSTEM_TOKEN, 0x1);
  }

  keyReadable(): boolean {
    const c = this.w.rdpCertificate;
    return !!c && c.hasPrivateKey && this.keyOpens();
  }

  fileExists(path: string): boolean {
    if (path !== this.keyFilePath()) return false;
    return access(this.w.machineKeysAcl, this.mkOwner(), SYSTEM_TOKEN, 0x1) || access(this.w.rdpKeyFileAcl, this.keyOwner(), SYSTEM_TOKEN, 0x80);
  }

  hash(): string | null {
    return this.w.sslCertificateSHA1Hash ? normaliseThumb(this.w.sslCertificateSHA1Hash) : null;
  }

  certStore(): string {
    return this.w.rdpCertificate?.store ?? 'Remote Desktop';
  }

  thumb(): string | null {
    return this.w.rdpCertificate ? normaliseThumb(this.w.rdpCertificate.thumbprint) : null;
  }

  /** Get-RdpKeyFile of fix-reset-machinekeys-acl.ps1 */
  rdpKeyFile(): string | null {
    const c = this.w.rdpCertificate;
    if (!c) return null;
    // the bound certificate (either store), else the Remote Desktop store's
    const want = this.hash();
    if (!(want !== null && this.thumb() === want) && this.certStore() !== 'Remote Desktop') return null;
    const names: string[] = [];
    if (c.hasPrivateKey && this.keyOpens()) names.push(capiKeyFileName(c.keyContainer ?? RDP_KEY_CONTAINER, this.guid()));
    if (names.length === 0 && this.certStore() === 'Remote Desktop') names.push(`f686aace6942fb7f7ceb231212eef4a4_${this.guid()}`);
    for (const n of names) for (const d of [MK, CNG_KEYS]) if (this.fileExists(`${d}\\${n}`)) return `${d}\\${n}`;
    return null;
  }

  /** SessionEnv started: a new self-signed certificate when there is none and SYSTEM may create files in MachineKeys; else event 1057. */
  sessionEnvStarted(): void {
    const w = this.w;
    if (w.rdpCertificate !== null) return;
    if (access(w.machineKeysAcl, this.mkOwner(), SYSTEM_TOKEN, 0x2)) {
      const n = this.now();
      const ticks = BigInt(n.getTime()) * 10000n + DOTNET_EPOCH_TICKS;
      const thumb = createHash('sha1').update(`rdp-selfsigned-${ticks}`, 'ascii').digest('hex').toUpperCase();
      w.rdpCertificate = {
        thumbprint: thumb,
        notAfter: isoSeconds(new Date(n.getTime() + 182 * 86_400_000)),
        hasPrivateKey: true,
        store: 'Remote Desktop',
        key: 'ok',
        keyContainer: RDP_KEY_CONTAINER,
      };
      w.rdpKeyFileAcl = ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'];
      w.rdpKeyFileOwner = 'S-1-5-18';
    } else {
      w.events24h['1057'] = (w.events24h['1057'] ?? 0) + 1;
    }
    this.changed = true;
  }

  // ---- firewall ----
  ruleState(name: string): Status | null {
    if (name === 'RemoteDesktop-UserMode-In-TCP') {
      const r = this.w.firewallRdpRule;
      return r ? { enabled: r.enabled, localPort: portStrings(r.localPort) } : null;
    }
    const r = (this.w.firewall?.rules ?? []).find((x) => x.name === name && x.source !== 'GroupPolicy');
    return r ? { enabled: r.enabled ?? true, localPort: portStrings(r.localPort) } : null;
  }

  extraRules(): NonNullable<NonNullable<WindowsState['firewall']>['rules']> {
    this.w.firewall = this.w.firewall ?? {};
    this.w.firewall.rules = this.w.firewall.rules ?? [];
    return this.w.firewall.rules;
  }

  // ---- registry ----
  policyValue(name: string): number | string | undefined {
    const pv = this.w.policyValues ?? {};
    const k = Object.keys(pv).find((p) => p.toLowerCase() === `${TS_POLICY}\\${name}`.toLowerCase());
    return k === undefined ? undefined : pv[k];
  }
}

function portStrings(p: number | string | string[] | undefined): string[] {
  if (p === undefined) return ['Any'];
  return Array.isArray(p) ? [...p] : [String(p)];
}

export function svcFailure(st: Status, r: string): void {
  st.svcError = r;
  st.status = r.endsWith(':timeout') ? 'timeout' : 'service-error';
}

const dwordOrNull = (v: number | null | undefined, absentDefault: number | null): number | null => (v === undefined ? absentDefault : v);

function startTermService(b: Box): Status {
  const w = b.w;
  const st: Status = { id: 'fix-start-termservice', ok: false, status: 'failed', action: 'none', port: null, listening: false, causes: [], before: null, step: 'read' };
  const port = w.rdpPort;
  st.port = port;
  const term = b.service('TermService');
  if (!term) return { ...st, status: 'failed', error: '80131501' };
  st.before = { state: b.stateText(term), startMode: term.startMode };
  const causes: string[] = [];
  const gp = b.policyValue('fDenyTSConnections');
  if (gp !== undefined) {
    if (Number(gp) === 1) causes.push('policy:fDenyTSConnections');
  } else if (dwordOrNull(w.terminalServer?.fDenyTSConnections, 0) === 1) causes.push('fDenyTSConnections');
  if (dwordOrNull(w.rdpTcp.fEnableWinStation, 1) === 0) causes.push('fEnableWinStation');
  const lan = dwordOrNull(w.rdpTcp.LanAdapter, 0);
  if (lan !== null && lan !== 0) causes.push('LanAdapter');
  st.causes = causes;
  if (causes.length > 0) return { ...st, status: 'blocked-by-config', step: null };
  if (term.startMode === 'Disabled') {
    st.step = 'enable';
    b.scConfig('TermService', { startMode: 'Manual' });
    st.action = 'enabled';
  }
  st.step = 'start';
  let r = 'ok';
  if (term.state !== 'Running') {
    r = b.restartRdp(st, false);
    st.action = 'started';
  } else if (!b.rdpListening(port)) {
    r = b.restartRdp(st, true);
    st.action = 'restarted';
  }
  if (r !== 'ok') {
    svcFailure(st, r);
    return st;
  }
  st.step = 'verify';
  st.listening = b.waitListening(port);
  st.ok = st.listening;
  st.status = !st.listening ? 'not-listening' : st.action === 'none' ? 'noop' : 'done';
  st.step = null;
  return st;
}

function decodeB64(v: string): string | null {
  if (!v.startsWith('b64.')) return v;
  const body = v.slice(4);
  // Convert.FromBase64String: length a multiple of 4 (whitespace aside), only the Base64 alphabet
  const compact = body.replace(/[ \t\r\n]/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  return Buffer.from(compact, 'base64').toString('utf8');
}

function freeRdpPort(b: Box, ps: ScriptParameter[]): Status {
  const w = b.w;
  const st: Status = { id: 'fix-free-rdp-port', ok: false, status: 'failed', service: null, stopped: [], disabled: [], hosted: [], returnsAtBoot: [], listening: false, before: null, step: null };
  const disable = param(ps, 'Disable', '0');
  const decoded = decodeB64(param(ps, 'Service', ''));
  const names = decoded === null ? [''] : decoded.split(',').map((n) => n.trim());
  let bad = names.length < 1 || names.length > 8 || (disable !== '0' && disable !== '1');
  for (const n of names) if (!SERVICE_NAME.test(n) || RDP_SERVICES.includes(n)) bad = true;
  if (bad) return { ...st, status: 'bad-param', step: 'service' };
  st.service = names.join(',');
  st.step = 'lookup';
  const port = w.rdpPort;
  const term = b.service('TermService');
  if (!term) return { ...st, status: 'failed', error: '80131501' };
  const svcs: Array<[string, CanonicalService]> = [];
  let missing = false;
  for (const n of names) {
    const s = b.service(n);
    if (s) svcs.push([n, s]);
    else missing = true;
  }
  st.before = {
    services: svcs.map(([n, s]) => ({ name: n, state: b.stateText(s), startMode: s.startMode })),
    termService: { state: b.stateText(term), startMode: term.startMode },
  };
  const termPid = b.pid('TermService', term);
  const hosted: string[] = [];
  const pids = [...new Set(b.listeningPids(port))];
  for (const p of pids) {
    if (termPid && p === termPid) continue;
    for (const n of b.serviceNames()) {
      const s = b.service(n);
      if (s && b.pid(n, s) === p && !hosted.includes(n)) hosted.push(n);
    }
  }
  hosted.sort((a, c) => a.localeCompare(c, 'en', { sensitivity: 'base' }));
  st.hosted = hosted.slice(0, 12);
  const extra = hosted.filter((h) => !names.includes(h));
  const named = names.filter((n) => hosted.includes(n));
  if (missing) return { ...st, status: 'service-not-found' };
  if (hosted.length > 0 && named.length > 0 && extra.length > 0) return { ...st, status: 'co-hosted' };
  if (hosted.length > 0 && named.length === 0) return { ...st, status: 'not-holding' };
  let changed = false;
  st.step = 'stop';
  let r = 'ok';
  const stopped: string[] = [];
  for (const [n, s] of svcs) {
    if (s.state === 'Stopped') continue;
    r = b.stopSvc(n);
    if (r !== 'ok') {
      r = `${n}:${r}`;
      break;
    }
    stopped.push(n);
    changed = true;
  }
  st.stopped = stopped;
  if (r === 'ok') {
    const disabled: string[] = [];
    const returns: string[] = [];
    for (const [n, s] of svcs) {
      if (disable === '1' && s.startMode !== 'Disabled') {
        st.step = 'disable';
        b.scConfig(n, { startMode: 'Disabled' });
        disabled.push(n);
        changed = true;
      } else if (disable !== '1' && s.startMode === 'Auto') {
        returns.push(n);
      }
    }
    st.disabled = disabled;
    st.returnsAtBoot = returns;
    st.step = 'termservice';
    if (term.startMode === 'Disabled') {
      b.scConfig('TermService', { startMode: 'Manual' });
      changed = true;
    }
    if (term.state !== 'Running') {
      r = b.restartRdp(st, false);
      changed = true;
    } else if (changed || !b.rdpListening(port)) {
      r = b.restartRdp(st, true);
      changed = true;
    }
  }
  if (r !== 'ok') {
    svcFailure(st, r);
    return st;
  }
  st.step = 'verify';
  st.listening = b.waitListening(port);
  st.ok = st.listening;
  st.status = !st.listening ? 'not-listening' : changed ? 'done' : 'noop';
  st.step = null;
  return st;
}

function changeRdpPort(b: Box, ps: ScriptParameter[]): Status {
  const w = b.w;
  const st: Status = { id: 'fix-change-rdp-port', ok: false, status: 'failed', oldPort: null, port: null, firewall: null, listening: false, rolledBack: false, before: null, step: null };
  const raw = param(ps, 'Port', '');
  const n = /^[0-9]{4,5}$/.test(raw) ? Number(raw) : 0;
  if (n < 1025 || n > 65535 || [5985, 5986, 47001].includes(n)) return { ...st, status: 'bad-param', step: 'port' };
  if (n >= 49152) return { ...st, status: 'dynamic-range', step: 'port', port: n };
  st.port = n;
  st.step = 'check';
  const builtin = 'RemoteDesktop-UserMode-In-TCP';
  const mine = 'RDPDoctor-RDP-In-TCP';
  const old = w.rdpPort;
  st.oldPort = old;
  const term = b.service('TermService');
  if (!term) return { ...st, status: 'failed', error: '80131501' };
  const ruleBefore = b.ruleState(builtin);
  st.before = { port: old, rule: ruleBefore, udp: b.ruleState('RemoteDesktop-UserMode-In-UDP') };
  const termPid = b.pid('TermService', term);
  const busy = b.listeningPids(n).some((p) => p !== termPid);
  const covers = ruleBefore !== null && ruleBefore.enabled === true && (ruleBefore.localPort as string[]).includes(String(n));
  const mineExists = b.ruleState(mine) !== null;
  if (busy) return { ...st, status: 'port-in-use' };
  if (old === n && covers && !mineExists && b.rdpListening(n)) return { ...st, status: 'noop', ok: true, listening: true, step: null };
  st.step = 'firewall';
  if (ruleBefore === null) {
    w.firewallRdpRule = { enabled: true, localPort: [String(n)] };
    st.firewall = 'created';
  } else if (!covers) {
    const rules = b.extraRules();
    if (mineExists) rules.splice(rules.findIndex((r) => r.name === mine && r.source !== 'GroupPolicy'), 1);
    rules.push({ name: mine, enabled: true, action: 'Allow', protocol: 'TCP', localPort: [String(n)], profile: 'Any', direction: 'Inbound', source: 'Local' });
    st.firewall = 'added';
  }
  st.step = 'registry';
  if (old !== n) w.rdpPort = n;
  st.step = 'termservice';
  let r = 'ok';
  if (old !== n || !b.rdpListening(n)) r = b.restartRdp(st, term.state === 'Running');
  if (r !== 'ok') {
    svcFailure(st, r);
    return st;
  }
  st.step = 'verify';
  st.listening = b.waitListening(n);
  if (st.listening) {
    st.step = 'firewall-move';
    if (st.firewall === 'added' && w.firewallRdpRule) {
      w.firewallRdpRule = { enabled: true, localPort: [String(n)] };
      st.firewall = 'moved';
    }
    const rules = w.firewall?.rules ?? [];
    const i = rules.findIndex((x) => x.name === mine && x.source !== 'GroupPolicy');
    if (i >= 0) rules.splice(i, 1);
    const udp = rules.find((x) => x.name === 'RemoteDesktop-UserMode-In-UDP' && x.source !== 'GroupPolicy');
    if (udp) udp.localPort = [String(n)];
    st.ok = true;
    st.status = 'done';
  } else {
    st.status = 'not-listening';
  }
  st.step = null;
  return st;
}

function fixFirewallRule(b: Box): Status {
  const w = b.w;
  const st: Status = { id: 'fix-fix-firewall-rule', ok: false, status: 'failed', port: w.rdpPort, action: 'none', policyRule: false, before: null, step: 'read' };
  const port = String(w.rdpPort);
  const before = b.ruleState('RemoteDesktop-UserMode-In-TCP');
  st.before = before;
  if (before) {
    if (before.enabled !== true || !(before.localPort as string[]).includes(port)) {
      w.firewallRdpRule = { enabled: true, localPort: [port] };
      st.action = 'updated';
    }
  } else {
    w.firewallRdpRule = { enabled: true, localPort: [port] };
    st.action = 'created';
  }
  st.policyRule = (w.firewall?.rules ?? []).some((r) => r.name === 'RemoteDesktop-UserMode-In-TCP' && r.source === 'GroupPolicy');
  st.ok = true;
  st.status = st.action === 'none' ? 'noop' : 'done';
  st.step = null;
  return st;
}

function renewRdpCert(b: Box): Status {
  const w = b.w;
  const st: Status = { id: 'fix-renew-rdp-cert', ok: false, status: 'failed', hashRemoved: false, removed: 0, keyErrors: 0, notRemoved: 0, customBound: false, thumb: null, key: null, bound: null, before: null, step: 'read' };
  const hash = b.hash();
  const c = w.rdpCertificate;
  const inRd = !!c && b.certStore() === 'Remote Desktop';
  st.before = { hash, certs: inRd && c ? [{ thumb: normaliseThumb(c.thumbprint), notAfter: isoSeconds(new Date(c.notAfter)) }] : [] };
  const hashInRd = !!hash && inRd && b.thumb() === hash;
  const hashInMy = !!hash && !!c && b.certStore() === 'My' && b.thumb() === hash;
  const cur = hashInRd || (!hash && inRd);
  if (hashInMy && !hashInRd) return { ...st, customBound: true, status: 'custom-cert-bound', step: null };
  if (cur && c && new Date(c.notAfter).getTime() > b.now().getTime() + 14 * 86_400_000 && b.keyReadable()) {
    return { ...st, thumb: b.thumb(), key: 'ok', ok: true, status: 'noop', step: null };
  }
  st.step = 'binding';
  if (hash) {
    w.sslCertificateSHA1Hash = null;
    st.hashRemoved = true;
    b.changed = true;
  }
  st.step = 'delete';
  const old: string[] = [];
  if (inRd && c) {
    old.push(normaliseThumb(c.thumbprint));
    const opens = b.keyOpens();
    w.rdpCertificate = null;
    b.changed = true;
    if (opens) {
      w.rdpKeyFileAcl = null;
      st.removed = 1;
    } else {
      st.removed = 1;
      st.keyErrors = 1;
    }
  }
  st.step = 'restart';
  let r = b.stopSvc('SessionEnv');
  if (r === 'ok') r = b.startSvc('SessionEnv');
  if (r !== 'ok') r = `SessionEnv:${r}`;
  else {
    const term = b.service('TermService');
    r = b.restartRdp(st, !!term && term.state === 'Running');
  }
  if (r !== 'ok') {
    svcFailure(st, r);
    return st;
  }
  st.step = 'verify';
  const nc = w.rdpCertificate;
  const fresh = nc && (nc.store ?? 'Remote Desktop') === 'Remote Desktop' && !old.includes(normaliseThumb(nc.thumbprint)) ? nc : null;
  if (!fresh) {
    b.sleep(30);
    return { ...st, status: 'no-new-cert', step: null };
  }
  st.thumb = normaliseThumb(fresh.thumbprint);
  st.key = b.keyReadable() ? 'ok' : 'unreadable';
  const wmi = w.sslCertificateSHA1Hash ? normaliseThumb(w.sslCertificateSHA1Hash) : st.thumb;
  st.bound = wmi === st.thumb;
  if (st.key !== 'ok') st.status = 'key-unreadable';
  else if (st.bound === false) st.status = 'not-bound';
  else {
    st.ok = true;
    st.status = 'done';
  }
  st.step = null;
  return st;
}

export function aclEntries(acl: string[] | null, owner: string): string[] | null {
  return access(acl, owner, SYSTEM_TOKEN, 0x20000) ? [...(acl ?? [])] : null;
}

function denySids(entries: string[] | null): string[] {
  const out: string[] = [];
  for (const e of entries ?? []) {
    const a = ace(e);
    if (a.deny && NEED_SIDS.includes(a.sid) && !out.includes(a.sid)) out.push(a.sid);
  }
  return out;
}

function grantsOk(entries: string[] | null, key: boolean): boolean {
  if (entries === null || denySids(entries).length > 0) return false;
  if (!entries.includes('S-1-5-18:F') || !entries.includes('S-1-5-32-544:F')) return false;
  return !key || entries.some((e) => ['S-1-5-20:R', 'S-1-5-20:RX', 'S-1-5-20:M', 'S-1-5-20:F'].includes(e));
}

// ---- the ACL backup of fix-reset-machinekeys-acl and its undo (files kept in the fleet state, windows.files) ----
export const RSA = 'C:\\ProgramData\\Microsoft\\Crypto\\RSA';
export const BACKUP_DIR = 'C:\\ProgramData\\RDP Doctor\\backups';
export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The item an ACL path names (the model's Get-AclItem: MachineKeys or the RDP key file, compared case-insensitively). */
export function aclItem(b: Box, path: string): 'mk' | 'key' | null {
  if (path.toLowerCase() === MK.toLowerCase()) return 'mk';
  const k = b.keyFilePath();
  return k !== null && path.toLowerCase() === k.toLowerCase() ? 'key' : null;
}

export function itemAcl(b: Box, item: 'mk' | 'key'): { acl: string[] | null; owner: string } {
  return item === 'mk' ? { acl: b.w.machineKeysAcl, owner: b.mkOwner() } : { acl: b.w.rdpKeyFileAcl, owner: b.keyOwner() };
}

/** Get-AclOwner of the scripts: the owner's SID, null when Get-Acl fails (no such item, no READ_CONTROL). */
export function aclOwner(b: Box, path: string): string | null {
  const item = aclItem(b, path);
  if (!item) return null;
  const a = itemAcl(b, item);
  return access(a.acl, a.owner, SYSTEM_TOKEN, 0x20000) ? a.owner : null;
}

/** `icacls MachineKeys /save <file> /t /c /q`: the folder, then the RDP key file, each readable one as "name\r\nD:acl\r\n". */
function icaclsSave(b: Box): string {
  let text = '';
  const k = b.keyFilePath();
  for (const [item, name] of [['mk', 'MachineKeys'], ...(k ? [['key', `MachineKeys\\${k.slice(MK.length + 1)}`]] : [])] as Array<['mk' | 'key', string]>) {
    const a = itemAcl(b, item);
    if (!access(a.acl, a.owner, SYSTEM_TOKEN, 0x20000)) continue;
    text += `${name}\r\nD:${(a.acl ?? []).join(';')}\r\n`;
  }
  return text;
}

export function backupNames(text: string): string[] {
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const out: string[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) out.push(lines[i]);
  return out;
}

/** Get-AclPrint of the scripts: 16 hex digits of SHA-256 over "name=owner=acl" of each item in the backup. */
export function aclPrint(b: Box, names: string[]): string {
  const parts = names.map((n) => {
    const path = `${RSA}\\${n}`;
    const item = aclItem(b, path);
    const entries = item ? aclEntries(itemAcl(b, item).acl, itemAcl(b, item).owner) : null;
    return `${n}=${aclOwner(b, path) ?? ''}=${(entries ?? []).join(';')}`;
  });
  return sha256(parts.join('|')).slice(0, 16);
}

export function setKeptFile(w: WindowsState, path: string, text: string): void {
  const files = { ...(w.files ?? {}) };
  const same = Object.keys(files).find((k) => k.toLowerCase() === path.toLowerCase());
  if (same !== undefined) delete files[same];
  files[path] = text;
  w.files = files;
}

function resetMachineKeysAcl(b: Box, ps: ScriptParameter[], now: Date): Status {
  const w = b.w;
  const scope = param(ps, 'Scope', 'rdpkey');
  const st: Status = { id: 'fix-reset-machinekeys-acl', ok: false, status: 'failed', scope: null, backup: null, backupHash: null, restore: null, keyFile: null, files: 0, failed: 0, tookOwnership: 0, verified: null, owners: null, after: null, before: null, step: null };
  if (scope !== 'rdpkey' && scope !== 'all') return { ...st, status: 'bad-param', step: 'scope' };
  st.scope = scope;
  st.step = 'read';
  const key = b.rdpKeyFile();
  st.keyFile = key;
  const folderAcl = aclEntries(w.machineKeysAcl, b.mkOwner());
  const keyAcl = key ? aclEntries(w.rdpKeyFileAcl, b.keyOwner()) : null;
  st.before = { folder: (folderAcl ?? []).slice(0, 12), key: key ? (keyAcl ?? []).slice(0, 12) : null };
  // scope all lists MachineKeys: the RDP key file is the only file the model knows there
  let files: string[] = [];
  if (scope === 'all') {
    if (!access(w.machineKeysAcl, b.mkOwner(), SYSTEM_TOKEN, 0x1)) return { ...st, status: 'failed', error: '80070005' };
    const k = b.keyFilePath();
    files = k ? [k] : [];
  } else if (key) files = [key];
  const todo = files.filter(() => !grantsOk(aclEntries(w.rdpKeyFileAcl, b.keyOwner()), true));
  const folderOk = grantsOk(folderAcl, false);
  if (folderOk && todo.length === 0) {
    return { ...st, ok: true, verified: !!key, status: scope === 'rdpkey' && !key ? 'key-file-not-found' : 'noop', step: null };
  }
  st.step = 'backup';
  const bk = `${BACKUP_DIR}\\machinekeys-acl-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}.txt`;
  const saved = icaclsSave(b);
  setKeptFile(w, bk, saved);
  const bkNames = backupNames(saved);
  st.backup = bk;
  st.backupHash = sha256(saved);
  st.restore = `icacls "${RSA}" /restore "${bk}"`;
  st.owners = { folder: aclOwner(b, MK), key: key ? aclOwner(b, key) : null };
  let took = 0;
  const repair = (kind: 'mk' | 'key', grants: Array<[string, string]>): boolean => {
    const get = (): { acl: string[] | null; owner: string } => (kind === 'mk' ? { acl: w.machineKeysAcl, owner: b.mkOwner() } : { acl: w.rdpKeyFileAcl, owner: b.keyOwner() });
    const set = (acl: string[]): void => {
      if (kind === 'mk') w.machineKeysAcl = acl;
      else w.rdpKeyFileAcl = acl;
      b.changed = true;
    };
    const grant = (): boolean => {
      const cur = get();
      const denies = denySids(aclEntries(cur.acl, cur.owner));
      if (!access(cur.acl, cur.owner, SYSTEM_TOKEN, 0x40000)) return false;
      let acl = [...(cur.acl ?? [])];
      if (denies.length > 0) {
        acl = acl.filter((e) => !(ace(e).deny && denies.includes(ace(e).sid)));
        set(acl);
      }
      for (const [sid, right] of grants) acl = aclGrant(acl, sid, right);
      set(acl);
      return true;
    };
    if (grant()) return true;
    // takeown /a: Administrators own it, then the grant again
    if (kind === 'mk') w.machineKeysOwner = 'S-1-5-32-544';
    else w.rdpKeyFileOwner = 'S-1-5-32-544';
    b.changed = true;
    took++;
    return grant();
  };
  if (!folderOk) {
    st.step = 'folder';
    if (!repair('mk', FOLDER_GRANTS)) return { ...st, tookOwnership: took, status: 'failed', error: '80131501' };
  }
  st.step = 'keys';
  let ok = 0;
  let failed = 0;
  for (let i = 0; i < todo.length; i++) {
    if (repair('key', KEY_GRANTS)) ok++;
    else failed++;
  }
  st.files = ok;
  st.failed = failed;
  st.tookOwnership = took;
  // undo only from a complete backup: icacls /save skips an item it may not read
  const has = (n: string): boolean => bkNames.some((x) => x.toLowerCase() === n.toLowerCase());
  if (has('MachineKeys') && (!key || has(`MachineKeys\\${key.slice(key.lastIndexOf('\\') + 1)}`))) st.after = aclPrint(b, bkNames);
  st.step = 'termservice';
  const term = b.service('TermService');
  const r = b.restartRdp(st, !!term && term.state === 'Running');
  if (r !== 'ok') {
    svcFailure(st, r);
    return st;
  }
  st.step = 'verify';
  if (key) st.verified = grantsOk(aclEntries(w.rdpKeyFileAcl, b.keyOwner()), true);
  st.ok = true;
  st.status = scope === 'rdpkey' && !key ? 'key-file-not-found' : failed > 0 ? 'partial' : 'done';
  st.step = null;
  return st;
}

function enableTls(b: Box, ps: ScriptParameter[]): Status {
  const w = b.w;
  const tls10 = param(ps, 'Tls10', '0');
  const tls11 = param(ps, 'Tls11', '0');
  const st: Status = { id: 'fix-enable-tls', ok: false, status: 'failed', changed: [], policy: [], rsop: 'none', needsRestart: false, before: null, step: null };
  if (!['0', '1'].includes(tls10) || !['0', '1'].includes(tls11)) return { ...st, status: 'bad-param' };
  const protos = ['TLS 1.2', ...(tls11 === '1' ? ['TLS 1.1'] : []), ...(tls10 === '1' ? ['TLS 1.0'] : [])];
  const before: Status = {};
  for (const p of protos) {
    const x = w.schannelServer[p];
    before[p] = { Enabled: x?.Enabled ?? null, DisabledByDefault: x?.DisabledByDefault ?? null };
  }
  st.before = before;
  const changed: string[] = [];
  for (const p of protos) {
    const x = w.schannelServer[p] ?? {};
    if (w.schannelServer[p] === undefined) {
      w.schannelServer[p] = {};
      b.changed = true;
    }
    let c = false;
    if (x.Enabled !== 1) c = true;
    if (x.DisabledByDefault !== 0) c = true;
    if (c) {
      w.schannelServer[p] = { ...w.schannelServer[p], Enabled: 1, DisabledByDefault: 0 };
      changed.push(p);
      b.changed = true;
    }
  }
  st.changed = changed;
  const policy: string[] = [];
  if ((w.damage?.cimClasses ?? []).includes('RSOP_RegistryPolicySetting')) st.rsop = 'error';
  else {
    st.rsop = 'ok';
    const paths: string[] = [];
    for (const p of [...w.policyManagedKeys, ...Object.keys(w.policyValues ?? {})]) if (p && !paths.includes(p)) paths.push(p);
    for (const p of paths) {
      const i = p.lastIndexOf('\\');
      const k = p.slice(0, i);
      const name = p.slice(i + 1);
      const at = k.indexOf('Protocols\\');
      if (/SCHANNEL/i.test(k) && name && at >= 0 && policy.length < 6) policy.push(`SCHANNEL\\${k.slice(at + 10)}\\${name}`);
    }
  }
  st.policy = policy;
  st.needsRestart = changed.length > 0;
  st.ok = true;
  st.status = changed.length > 0 ? 'done' : 'noop';
  st.step = null;
  return st;
}

function enableNla(b: Box): Status {
  const w = b.w;
  const st: Status = { id: 'fix-enable-nla', ok: false, status: 'failed', changed: [], policy: [], needsRestart: false, before: null, step: 'read' };
  const t = w.rdpTcp;
  const before = { UserAuthentication: t.UserAuthentication ?? null, SecurityLayer: t.SecurityLayer ?? null, fAllowSecProtocolNegotiation: t.fAllowSecProtocolNegotiation ?? null };
  st.before = before;
  const policy: string[] = [];
  for (const n of ['UserAuthentication', 'SecurityLayer', 'MinEncryptionLevel']) {
    const v = b.policyValue(n);
    if (v !== undefined) policy.push(`TS\\${n}=${Math.trunc(Number(v))}`);
  }
  st.policy = policy;
  st.step = 'secure-channel';
  if (w.domainJoined && w.secureChannel === false) return { ...st, status: 'secure-channel-broken', step: null };
  const changed: string[] = [];
  if (before.UserAuthentication !== 1) {
    t.UserAuthentication = 1;
    changed.push('UserAuthentication');
  }
  if (before.fAllowSecProtocolNegotiation !== 1) {
    t.fAllowSecProtocolNegotiation = 1;
    changed.push('fAllowSecProtocolNegotiation');
  }
  if (before.SecurityLayer === 0) {
    t.SecurityLayer = 1;
    changed.push('SecurityLayer');
  }
  if (changed.length > 0) b.changed = true;
  st.changed = changed;
  st.needsRestart = changed.length > 0;
  st.ok = true;
  st.status = changed.length > 0 ? 'done' : 'noop';
  st.step = null;
  return st;
}

/** What a fix script prints and changes, exactly as under the modelled Windows (no simulator after-effects). */
export function emulateFix(w: WindowsState, scriptId: string, ps: ScriptParameter[], now: Date): FixEmulation {
  const rdpOff = emulateRdpOff(w, scriptId, ps); // §1b: remote desktop switched off, TermService config
  if (rdpOff) return rdpOff;
  const b = new Box(w, now);
  let st: Status;
  switch (scriptId) {
    case 'fix-start-termservice':
      st = startTermService(b);
      break;
    case 'fix-free-rdp-port':
      st = freeRdpPort(b, ps);
      break;
    case 'fix-change-rdp-port':
      st = changeRdpPort(b, ps);
      break;
    case 'fix-fix-firewall-rule':
      st = fixFirewallRule(b);
      break;
    case 'fix-renew-rdp-cert':
      st = renewRdpCert(b);
      break;
    case 'fix-reset-machinekeys-acl':
      st = resetMachineKeysAcl(b, ps, now);
      break;
    case 'fix-enable-tls':
      st = enableTls(b, ps);
      break;
    case 'fix-enable-nla':
      st = enableNla(b);
      break;
    case 'fix-allow-rdp-through-firewall': // §1b (famhost)
      st = allowRdpThroughFirewall(w);
      break;
    default:
      throw new Error(`unknown fix script ${scriptId}`);
  }
  const changed = b.changed || st.status === 'done';
  return { stdout: statusLine(st), virtualSeconds: b.t, changed };
}

function clearEvents(w: WindowsState, ids: string[]): void {
  for (const id of ids) if (w.events24h[id] !== undefined) w.events24h[id] = 0;
}

const policyTouches = (w: WindowsState, fragment: string): string[] =>
  w.policyManagedKeys.filter((k) => k.toLowerCase().includes(fragment.toLowerCase()));

/** The change each fix script makes inside the VM, the line it prints, and what follows in the simulator. */
export function runFixInside(vm: FleetVm, w: WindowsState, scriptId: string, ps: ScriptParameter[], now: Date): InteriorResult {
  if (scriptId.startsWith('undo-')) return runUndoInside(vm, w, scriptId, ps, now);
  let r: FixEmulation;
  const tlsBefore: Record<string, { Enabled?: number; DisabledByDefault?: number }> = {};
  for (const [k, v] of Object.entries(w.schannelServer)) tlsBefore[k] = { ...v };
  try {
    r = emulateFix(w, scriptId, ps, now);
  } catch {
    return { stdout: '', stderr: `unknown script id ${scriptId}`, changed: false };
  }
  const status = JSON.parse(r.stdout) as Record<string, unknown>;
  const done = status.status === 'done' || status.status === 'partial';
  let restartPending = false;
  if (done) {
    // the simulator's after-effects: errors stop being logged once the cause is gone
    switch (scriptId) {
      case 'fix-renew-rdp-cert':
        clearEvents(w, ['1057', '1058', '36870', '36872']);
        break;
      case 'fix-reset-machinekeys-acl':
        restartPending = true;
        onNextRestart(vm, (s) => clearEvents(s, ['1057', '1058', '36870', '36872']));
        break;
      case 'fix-enable-tls': {
        restartPending = true;
        const protos = (status.changed as string[] | undefined) ?? [];
        const policy = (status.policy as string[] | undefined) ?? [];
        onNextRestart(vm, (s) => {
          // Group Policy writes its values back at boot; otherwise SCHANNEL now accepts TLS 1.2 and 36871 stops
          for (const p of protos) if (policyTouches(s, `${p}\\Server`).length > 0) s.schannelServer[p] = tlsBefore[p] ?? {};
          if (policy.length === 0) clearEvents(s, ['36871']);
        });
        break;
      }
      case 'fix-enable-nla':
        restartPending = true;
        break;
      default:
        break;
    }
  }
  return { stdout: r.stdout, stderr: '', changed: r.changed, restartPending: restartPending || undefined };
}
