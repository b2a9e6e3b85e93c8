import type { HostFacts } from '../runbook/diagnostic-output';
import type { CanonicalWindows } from './fleet';

/**
 * The emulation of diagnose.ps1's §1b block ("guest firewall, domain, CredSSP, licensing, disk"):
 * what the script reads under the modelled Windows (windows-model/Model.Host.ps1, Model.Firewall.ps1,
 * Model.Cim.ps1, Model.Registry.ps1) for the same state. Kept byte-for-byte equal to the script by
 * test/unit/diagnose-differential.test.ts; called from vm-interior-diagnose.ts.
 */
const CREDSSP = 'SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP\\Parameters';
const RDP_RULE = 'RemoteDesktop-UserMode-In-TCP';
/** GetGracePeriodDays' DaysLeft in the model while the grace period runs */
export const MODEL_GRACE_DAYS_LEFT = 97;

const lower = (s: string): string => s.toLowerCase();

interface ModelRule {
  name: string;
  enabled: boolean;
  action: string;
  protocol: string;
  localPort: string[];
  profile: string;
  direction: string;
}

/** The rules of the ActiveStore in the model's order: the built-in RDP rule, then the fleet's rules. */
function activeRules(w: CanonicalWindows): ModelRule[] {
  const out: ModelRule[] = [];
  if (w.firewallRdpRule) out.push({ name: RDP_RULE, enabled: w.firewallRdpRule.enabled, action: 'Allow', protocol: 'TCP', localPort: w.firewallRdpRule.localPort, profile: 'Any', direction: 'Inbound' });
  for (const r of w.firewall.rules) out.push(r);
  return out;
}

/** A port filter covers TCP to the port: protocol TCP/Any/6, LocalPort Any, the port, or a range holding it. */
function filterCovers(r: ModelRule, port: number | null): boolean {
  const pr = lower(r.protocol);
  if (pr !== 'tcp' && pr !== 'any' && pr !== '6') return false;
  return r.localPort.some((x) => {
    const m = /^([0-9]+)-([0-9]+)$/.exec(x);
    if (m) return port !== null && Number(m[1]) <= port && Number(m[2]) >= port;
    return lower(x) === 'any' || (port !== null && x === String(port));
  });
}

/** The firewall part of `host` for the active profile (also what the firewall fix counts). */
export function firewallFacts(w: CanonicalWindows, port: number | null): NonNullable<HostFacts['fw']> {
  const act = w.firewall.activeProfile;
  const prof = w.firewall.profiles[act];
  const rules = activeRules(w);
  // Get-NetFirewallPortFilter -All: one filter per rule, looked up by name (the first rule of that name)
  const covered = new Set<string>();
  for (const r of rules) {
    const first = rules.find((x) => lower(x.name) === lower(r.name)) ?? r;
    if (filterCovers(first, port)) covered.add(lower(r.name));
  }
  let n = 0;
  for (const r of rules) {
    if (!r.enabled || lower(r.direction) !== 'inbound' || lower(r.action) !== 'allow') continue;
    if (lower(r.profile) !== 'any' && !r.profile.split(/,\s*/).some((p) => lower(p) === lower(act))) continue;
    if (!covered.has(lower(r.name))) continue;
    n++;
  }
  return { p: act, on: prof.enabled, blk: prof.blockAllInbound, def: prof.defaultInbound === 'Allow' ? 'Allow' : 'Block', n };
}

/** diagnose.ps1's `host` for this state; `domain` is what the script read (PartOfDomain), errors go to addErr in the script's order. */
export function hostFactsFromWindows(w: CanonicalWindows, port: number | null, domain: boolean | null, addErr: (code: string) => void): HostFacts {
  const broken = (cls: string): boolean => w.damage.cimClasses.includes(cls);
  let fw: HostFacts['fw'] = null;
  if (broken('MSFT_NetFirewallProfile') || broken('MSFT_NetFirewallRule')) addErr('hfw');
  else fw = firewallFacts(w, port);

  const sc = domain ? w.secureChannel : null;

  const pol = Object.entries(w.policyValues).find(([p]) => lower(p) === lower(`${CREDSSP}\\AllowEncryptionOracle`))?.[1];
  const raw = pol !== undefined ? pol : w.credSsp.allowEncryptionOracle;
  const ao = raw === null || raw === undefined ? null : typeof raw === 'number' ? Math.trunc(raw) : /^\s*-?\d+\s*$/.test(raw) ? Number.parseInt(raw, 10) : null;

  let rdsh: HostFacts['rdsh'] = null;
  if (broken('Win32_TerminalServiceSetting')) addErr('hrdsh');
  else if (w.rdsh.installed) rdsh = { ls: w.rdsh.licenseServers.filter((s) => s).length, gd: w.rdsh.graceExpired ? 0 : MODEL_GRACE_DAYS_LEFT };

  let mb: number | null = null;
  if (broken('Win32_LogicalDisk')) addErr('hdisk');
  else mb = Math.floor(Math.round(w.systemDrive.freeMB * 1048576) / 1048576);

  return { fw, sc, ao, rdsh, mb, aud: w.auditFailedLogons };
}
