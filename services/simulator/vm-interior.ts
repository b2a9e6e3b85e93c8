import type { ScriptParameter } from '../azure/gateway';
import { canonicalService, type FleetVm, type WindowsState } from './fleet';
import type { InteriorResult, SyncVmInterior } from './interior';
import {
  CAPS,
  EVENT_IDS,
  RDP_SERVICES,
  TLS_VERSIONS,
  policyEntryOf,
  serializeFacts,
  type DiagnosticFacts,
} from '../runbook/diagnostic-output';
import { runFixInside } from './vm-interior-fixes';

/**
 * What the project's scripts observe and change inside a simulated VM. `diagnose` prints exactly
 * the line diagnose.ps1 would print for the VM's fleet `windows` state; fix scripts change that
 * state the way the real script would (some effects wait for `onRestart`).
 */
const bootAt = new WeakMap<FleetVm, Date>();

/** When the VM last booted: its last simulated restart, else a week before `now`. */
export function bootTimeOf(vm: FleetVm, now: Date): Date {
  return bootAt.get(vm) ?? new Date(now.getTime() - 7 * 24 * 3600 * 1000);
}

/** The world's side of a restart (both engines): the boot time, then the changes waiting for it. */
export function restartVm(vm: FleetVm): void {
  bootAt.set(vm, new Date());
  if (vm.windows) applyRestart(vm);
}

export function createVmInterior(): SyncVmInterior {
  return {
    engine: 'emulate',
    run(vm: FleetVm, scriptId: string, parameters: ScriptParameter[], now: Date): InteriorResult {
      if (!vm.windows) {
        return { stdout: '', stderr: `script ${scriptId}: the VM has no Windows interior`, changed: false, engine: 'emulate' };
      }
      if (scriptId === 'diagnose') {
        return { stdout: `${serializeFacts(factsFromWindows(vm.windows, now, bootTimeOf(vm, now)))}\r\n`, stderr: '', changed: false, engine: 'emulate' };
      }
      return { ...runFixInside(vm, vm.windows, scriptId, parameters, now), engine: 'emulate' };
    },
    onRestart: restartVm,
  };
}

const pendingOnRestart = new WeakMap<FleetVm, Array<(w: WindowsState) => void>>();

/** Registers a change that takes effect when the VM restarts (e.g. SCHANNEL). */
export function onNextRestart(vm: FleetVm, change: (w: WindowsState) => void): void {
  const list = pendingOnRestart.get(vm) ?? [];
  list.push(change);
  pendingOnRestart.set(vm, list);
}

export function hasPendingRestart(vm: FleetVm): boolean {
  return (pendingOnRestart.get(vm)?.length ?? 0) > 0;
}

function applyRestart(vm: FleetVm): void {
  const w = vm.windows;
  if (!w) return;
  for (const change of pendingOnRestart.get(vm) ?? []) change(w);
  pendingOnRestart.delete(vm);
  // RDP services come up at boot; TermService takes the port unless something else holds it.
  for (const s of RDP_SERVICES) if (w.services[s] !== 'Disabled') w.services[s] = 'Running';
  if (w.services.TermService === 'Running' && !w.listeners.some((l) => l.port === w.rdpPort)) {
    w.listeners.push({ port: w.rdpPort, pid: 1104, process: 'svchost', services: ['TermService'] });
  }
}

const isoSeconds = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const cleanName = (s: string): string => s.replace(/[^A-Za-z0-9._$ -]/g, '_').slice(0, CAPS.nameLength);

/** The facts diagnose.ps1 would collect on a machine in this state. */
export function factsFromWindows(w: WindowsState, now: Date, boot: Date): DiagnosticFacts {
  const listeners: NonNullable<DiagnosticFacts['listeners']> = [];
  for (const l of w.listeners.filter((x) => x.port === w.rdpPort)) {
    if (listeners.some((x) => x.pid === l.pid) || listeners.length >= CAPS.listeners) continue;
    listeners.push({ pid: l.pid, proc: cleanName(l.process), svc: l.services.slice(0, CAPS.servicesPerListener).map(cleanName) });
  }
  const svc = (name: string) => {
    const s = w.services[name];
    if (s === undefined) return null;
    const c = canonicalService(name, s);
    return { state: typeof s === 'string' && c.startMode === 'Disabled' ? 'Disabled' : c.state, start: c.startMode };
  };
  const c = w.rdpCertificate;
  const keyFile = c ? (c.hasPrivateKey ? w.rdpKeyFileAcl !== null : false) : null;
  const tls = {} as Record<(typeof TLS_VERSIONS)[number], { Enabled: number | null; DisabledByDefault: number | null }>;
  for (const v of TLS_VERSIONS) {
    const s = w.schannelServer[v] ?? {};
    tls[v] = { Enabled: s.Enabled ?? null, DisabledByDefault: s.DisabledByDefault ?? null };
  }
  const policy: string[] = [];
  for (const path of w.policyManagedKeys) {
    const entry = policyEntryOf(path);
    if (!entry || policy.length >= CAPS.policy) continue;
    const tsName = /^TS\\(\w+)$/.exec(entry)?.[1];
    const tsValue = tsName ? (w.rdpTcp as Record<string, number | undefined>)[tsName] : undefined;
    const text = (tsValue === undefined ? entry : `${entry}=${tsValue}`).replace(/[^A-Za-z0-9 ._=\\-]/g, '_').slice(0, CAPS.policyLength);
    if (!policy.includes(text)) policy.push(text);
  }
  const events = {} as DiagnosticFacts['events'];
  for (const id of EVENT_IDS) {
    const cap = id === '4625' ? CAPS.events4625 : CAPS.events;
    events[id] = Math.min(w.events24h[id] ?? 0, cap);
  }
  const logons = [...w.failedLogonSources]
    .sort((a, b) => b.count - a.count)
    .slice(0, CAPS.logons)
    .map((s) => ({ ip: s.ip, count: Math.min(s.count, CAPS.events4625) }));
  return {
    v: 1,
    id: 'diagnose',
    ps: '5.1',
    at: isoSeconds(now),
    since: isoSeconds(new Date(now.getTime() - 24 * 3600 * 1000)),
    boot: isoSeconds(boot),
    port: w.rdpPort,
    listeners,
    services: { TermService: svc('TermService'), SessionEnv: svc('SessionEnv'), UmRdpService: svc('UmRdpService') },
    cert: c
      ? {
          thumb: normaliseThumb(c.thumbprint),
          notAfter: isoSeconds(new Date(c.notAfter)),
          hasKey: c.hasPrivateKey,
          store: 'Remote Desktop',
          keyFile,
        }
      : null,
    sslHash: w.sslCertificateSHA1Hash ? normaliseThumb(w.sslCertificateSHA1Hash) : null,
    mkAcl: aclAsScript(w.machineKeysAcl),
    keyAcl: keyFile && w.rdpKeyFileAcl ? aclAsScript(w.rdpKeyFileAcl) : null,
    tls,
    rdpTcp: {
      SecurityLayer: w.rdpTcp.SecurityLayer ?? null,
      UserAuthentication: w.rdpTcp.UserAuthentication ?? null,
      fAllowSecProtocolNegotiation: w.rdpTcp.fAllowSecProtocolNegotiation ?? null,
    },
    fw: w.firewallRdpRule
      ? { found: true, enabled: w.firewallRdpRule.enabled, ports: [String(w.firewallRdpRule.localPort)] }
      : { found: false, enabled: false, ports: [] },
    domain: w.domainJoined,
    policy,
    rsop: w.domainJoined ? 'ok' : 'none',
    events,
    logons,
    err: [],
  };
}

const KNOWN_SIDS = ['S-1-5-20', 'S-1-5-11', 'S-1-1-0', 'S-1-5-18', 'S-1-5-32-544'];

/** The script's order: Deny entries and the SIDs the runbook reads first, then the rest; deduplicated, capped. */
function aclAsScript(acl: string[]): string[] {
  const unique = acl.filter((e, i) => acl.indexOf(e) === i);
  const first = unique.filter((e) => e.endsWith(':deny') || KNOWN_SIDS.includes(e.split(':')[0]));
  const rest = unique.filter((e) => !first.includes(e));
  return [...first, ...rest].slice(0, CAPS.acl);
}

/** Thumbprints in hand-written fleets may be shortened ("3F2A..."): keep the hex, pad to SHA-1 length. */
function normaliseThumb(t: string): string {
  return t.toUpperCase().replace(/[^0-9A-F]/g, '').slice(0, 40).padEnd(40, '0');
}


