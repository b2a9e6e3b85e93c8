import type { EvaluateInput, Evidence, Finding } from '../findings';
import { stepFailed } from '../diagnostic-output';
import { ev, findingOf } from './kit';
import type { Cause } from './types';

/**
 * guest-firewall-blocks-rdp (CONTRACTS §1b): the ACTIVE profile is enabled and either blocks all
 * inbound connections ("block all incoming", AllowInboundRules False: allow rules are ignored) or,
 * with a Block default, no enabled inbound Allow rule of that profile covers TCP to the RDP port.
 * Only the active profile counts: Windows applies the profile of the connected network, and the
 * fix changes that profile only. A disabled profile or a default Allow lets RDP in.
 *
 * With firewall-rule-mismatch (the one built-in rule): when this finding fires, the VM is blocked
 * and that is the problem to report, so firewall-rule-mismatch is not reported besides it
 * (findings.ts drops it) and its evidence (the built-in rule's state) is shown here. When another
 * rule lets RDP in, only firewall-rule-mismatch (a warning) remains.
 */
const FINDING = { id: 'guest-firewall-blocks-rdp', severity: 'critical' } as const;
const RDP_RULE = 'RemoteDesktop-UserMode-In-TCP';
const DEFAULT_RDP_PORT = 3389;

/** findings.ts's firewallPortCovers: cause modules load before findings.ts (kit.ts), so no run-time import of it. */
function firewallPortCovers(spec: string, port: number): boolean {
  const s = spec.trim();
  if (s === '*' || s.toLowerCase() === 'any') return true;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) return false;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return port >= lo && port <= hi;
}

export function guestFirewallBlocks(input: EvaluateInput): Evidence[] | null {
  const f = input.facts;
  const fw = f?.host?.fw;
  if (!f || !fw || !fw.on) return null;
  const port = f.port ?? DEFAULT_RDP_PORT;
  const e: Evidence[] = [];
  if (fw.blk) e.push(ev('guestFwBlockAll', { profile: fw.p }));
  else if (fw.def === 'Block' && fw.n === 0) e.push(ev('guestFwNoAllow', { profile: fw.p, port }));
  if (e.length === 0) return null;
  // the built-in rule's state (what firewall-rule-mismatch would have said)
  if (f.fw && !stepFailed(f, 'fw')) {
    if (!f.fw.found) e.push(ev('fwRuleMissing', { rule: RDP_RULE }));
    else if (!f.fw.enabled) e.push(ev('fwRuleDisabled', { rule: RDP_RULE }));
    else if (!f.fw.ports.some((p) => firewallPortCovers(p, port))) e.push(ev('fwRulePort', { rule: RDP_RULE, ports: f.fw.ports.join(', ') || '-', port }));
  }
  return e;
}

export const guestFirewall = {
  name: 'guest-firewall',
  findings: [FINDING],
  check(input: EvaluateInput): Finding[] {
    const e = guestFirewallBlocks(input);
    return e ? [findingOf(FINDING, e)] : [];
  },
} as const satisfies Cause;
