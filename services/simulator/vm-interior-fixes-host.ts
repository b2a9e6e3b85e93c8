import type { ScriptParameter } from '../azure/gateway';
import { toPsJson } from '../runbook/diagnostic-output';
import { canonicalWindows, type WindowsState } from './fleet';
import { firewallFacts } from './vm-interior-diagnose-host';

/**
 * §1b (famhost): the emulation of fix-allow-rdp-through-firewall.ps1 and undo-allow-rdp-through-firewall.ps1
 * under the modelled Windows (Model.Firewall.ps1, Model.Host.ps1): the change and the status line.
 * Kept equal to the scripts by test/unit/fix-differential.test.ts and test/unit/undo-differential.test.ts.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Status = { [k: string]: Json };
export const BUILTIN_RULE = 'RemoteDesktop-UserMode-In-TCP';
export const OWN_RULE = 'RDPDoctor-RDP-In-TCP';

const lower = (s: string): string => s.toLowerCase();
type FwRule = NonNullable<NonNullable<WindowsState['firewall']>['rules']>[number];
const portStrings = (p: number | string | string[] | undefined): string[] => (p === undefined ? ['Any'] : Array.isArray(p) ? p.map(String) : [String(p)]);

/** Get-NetFirewallRule -Name (PersistentStore: no Group Policy rules), its port filter from the first rule of that name. */
function ruleState(w: WindowsState, name: string): { enabled: boolean; localPort: string[] } | null {
  const builtin = lower(name) === lower(BUILTIN_RULE) && w.firewallRdpRule ? { enabled: w.firewallRdpRule.enabled, localPort: portStrings(w.firewallRdpRule.localPort) } : null;
  const local = (w.firewall?.rules ?? []).find((r) => lower(r.name) === lower(name) && r.source !== 'GroupPolicy');
  const enabled = builtin ? builtin.enabled : local ? (local.enabled ?? true) : null;
  if (enabled === null) return null;
  const any = builtin ?? (w.firewall?.rules ?? []).find((r) => lower(r.name) === lower(name));
  return { enabled, localPort: builtin ? builtin.localPort : portStrings((any as FwRule).localPort) };
}

/** Set-NetFirewallRule on the rule Find-ModelFirewallRule finds: the built-in one, else the first local rule of that name. */
function setRule(w: WindowsState, name: string, enabled: boolean, localPort?: string[]): void {
  if (lower(name) === lower(BUILTIN_RULE) && w.firewallRdpRule) {
    w.firewallRdpRule = { ...w.firewallRdpRule, enabled, ...(localPort ? { localPort } : {}) };
    return;
  }
  const r = (w.firewall?.rules ?? []).find((x) => lower(x.name) === lower(name) && x.source !== 'GroupPolicy');
  if (!r) return;
  r.enabled = enabled;
  if (localPort) r.localPort = localPort;
}

function portIn(ports: string[], port: number): boolean {
  return ports.some((x) => {
    const m = /^([0-9]+)-([0-9]+)$/.exec(x);
    if (m && Number(m[1]) <= port && Number(m[2]) >= port) return true;
    return lower(x) === 'any' || x === String(port);
  });
}

function profileOf(w: WindowsState): { act: 'Domain' | 'Private' | 'Public'; blockAll: boolean; defaultAllow: boolean } {
  const c = canonicalWindows(w);
  const act = c.firewall.activeProfile;
  return { act, blockAll: c.firewall.profiles[act].blockAllInbound, defaultAllow: c.firewall.profiles[act].defaultInbound === 'Allow' };
}

function setBlockAll(w: WindowsState, act: 'Domain' | 'Private' | 'Public', block: boolean): void {
  w.firewall = w.firewall ?? {};
  w.firewall.profiles = w.firewall.profiles ?? {};
  w.firewall.profiles[act] = { ...(w.firewall.profiles[act] ?? {}), blockAllInbound: block };
}

const allowCount = (w: WindowsState, port: number): number => firewallFacts(canonicalWindows(w), port).n;

export function allowRdpThroughFirewall(w: WindowsState): Status {
  const port = w.rdpPort;
  const { act, blockAll, defaultAllow } = profileOf(w);
  const before = { blockAll, builtin: ruleState(w, BUILTIN_RULE), own: ruleState(w, OWN_RULE) };
  const changed: string[] = [];
  const st: Status = { id: 'fix-allow-rdp-through-firewall', ok: false, status: 'failed', port, profile: act, changed: [], before, step: 'read' };
  if (blockAll) {
    setBlockAll(w, act, false);
    changed.push('blockAll');
  }
  if (!defaultAllow && allowCount(w, port) === 0) {
    if (before.builtin && !before.builtin.enabled && portIn(before.builtin.localPort, port)) {
      setRule(w, BUILTIN_RULE, true);
      changed.push('builtin');
    } else if (before.own) {
      setRule(w, OWN_RULE, true, [String(port)]);
      changed.push('own');
    } else {
      w.firewall = w.firewall ?? {};
      w.firewall.rules = w.firewall.rules ?? [];
      w.firewall.rules.push({ name: OWN_RULE, enabled: true, action: 'Allow', protocol: 'TCP', localPort: [String(port)], profile: 'Any', direction: 'Inbound', source: 'Local' });
      changed.push('created');
    }
  }
  st.changed = changed;
  const after = profileOf(w);
  if (after.blockAll || (!defaultAllow && allowCount(w, port) === 0)) {
    st.step = 'verify';
    st.status = 'not-applied';
  } else {
    st.ok = true;
    st.status = changed.length === 0 ? 'noop' : 'done';
    st.step = null;
  }
  return st;
}

function param(ps: ScriptParameter[], name: string): string {
  return ps.find((x) => x.name.toLowerCase() === name.toLowerCase())?.value ?? '';
}

export function undoAllowRdpThroughFirewall(w: WindowsState, ps: ScriptParameter[]): Status {
  const profile = param(ps, 'Profile');
  const blockAll = param(ps, 'BlockAll');
  const builtin = param(ps, 'Builtin');
  const own = param(ps, 'Own');
  const ownPort = param(ps, 'OwnPort');
  const st: Status = { id: 'undo-allow-rdp-through-firewall', ok: false, status: 'failed', changed: [], step: null };
  let okPort = true;
  if (own === 'True' || own === 'False') okPort = /^[0-9]{1,5}(\.[0-9]{1,5}){0,9}$/.test(ownPort) && ownPort.split('.').every((p) => Number(p) >= 1 && Number(p) <= 65535);
  const ok = ['Domain', 'Private', 'Public'].includes(profile) && ['', '1'].includes(blockAll) && ['', 'False'].includes(builtin) && ['', 'remove', 'True', 'False'].includes(own) && okPort;
  if (!ok) return { ...st, status: 'bad-param' };
  const changed: string[] = [];
  const act = profile as 'Domain' | 'Private' | 'Public';
  // a damaged firewall rule provider: Get-NetFirewallRule -ErrorAction SilentlyContinue finds nothing
  const readable = !(w.damage?.cimClasses ?? []).includes('MSFT_NetFirewallRule');
  if (blockAll === '1' && !canonicalWindows(w).firewall.profiles[act].blockAllInbound) {
    setBlockAll(w, act, true);
    changed.push('blockAll');
  }
  if (builtin === 'False' && readable && ruleState(w, BUILTIN_RULE)?.enabled === true) {
    setRule(w, BUILTIN_RULE, false);
    changed.push('builtin');
  }
  const mine = readable ? ruleState(w, OWN_RULE) : null;
  if (own === 'remove' && mine) {
    const i = (w.firewall?.rules ?? []).findIndex((x) => lower(x.name) === lower(OWN_RULE) && x.source !== 'GroupPolicy');
    if (i >= 0) w.firewall?.rules?.splice(i, 1);
    changed.push('own');
  } else if ((own === 'True' || own === 'False') && mine) {
    const want = ownPort.split('.');
    if ((mine.enabled ? 'True' : 'False') !== own || mine.localPort.join('.') !== want.join('.')) {
      setRule(w, OWN_RULE, own === 'True', want);
      changed.push('own');
    }
  }
  st.changed = changed;
  st.ok = true;
  st.status = changed.length === 0 ? 'noop' : 'done';
  return st;
}

export const hostStatusLine = (st: Status): string => `${toPsJson(st)}\r\n`;
