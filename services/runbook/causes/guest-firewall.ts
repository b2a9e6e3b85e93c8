import type { EvaluateInput, Evidence, Finding } from '../findings';
import { stepFailed } from '../diagnostic-output';
import type { UndoScript } from '../undo';
import { firewallPortCovers } from './checks';
import { ev, findingOf, noParams, parseParams, scriptRun } from './kit';
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

/**
 * allow-rdp-through-firewall (CONTRACTS §2): turns "block all incoming" off for the active profile
 * (allow rules are ignored while it is on) and, when no rule then lets TCP to the RDP port in,
 * enables the built-in rule (when it covers the port) or creates "RDP Doctor - Remote Desktop
 * (TCP-In)". Risk high: it can switch a firewall-wide setting off (the card says so). No restart: a
 * firewall change applies at once (SCRIPT-REVIEW D). Nothing on the OS disk worth a snapshot: the
 * undo puts the before-values back.
 */
const FIX_ID = 'allow-rdp-through-firewall';
const PORTS = /^[0-9]{1,5}$/;

function undoOf(status: Record<string, unknown>): UndoScript | null {
  const changed = Array.isArray(status.changed) ? status.changed.filter((x): x is string => typeof x === 'string') : [];
  const profile = status.profile;
  if (changed.length === 0 || (profile !== 'Domain' && profile !== 'Private' && profile !== 'Public')) return null;
  const parameters = [{ name: 'Profile', value: profile }];
  if (changed.includes('blockAll')) parameters.push({ name: 'BlockAll', value: '1' });
  if (changed.includes('builtin')) parameters.push({ name: 'Builtin', value: 'False' });
  if (changed.includes('created')) parameters.push({ name: 'Own', value: 'remove' });
  if (changed.includes('own')) {
    const own = (status.before as { own?: { enabled?: unknown; localPort?: unknown } } | null)?.own;
    const ports = Array.isArray(own?.localPort) ? own.localPort.map(String) : [];
    if (typeof own?.enabled !== 'boolean' || ports.length === 0 || ports.length > 10 || !ports.every((p) => PORTS.test(p))) return null;
    parameters.push({ name: 'Own', value: own.enabled ? 'True' : 'False' }, { name: 'OwnPort', value: ports.join('.') });
  }
  return { id: 'undo-allow-rdp-through-firewall', parameters, needsRestart: false };
}

export const guestFirewall = {
  name: 'guest-firewall',
  findings: [FINDING],
  check(input: EvaluateInput): Finding[] {
    const e = guestFirewallBlocks(input);
    return e ? [findingOf(FINDING, e)] : [];
  },
  fixes: [
    {
      id: FIX_ID,
      addresses: [FINDING.id],
      risk: 'high',
      needsRestart: false,
      changesDisk: false,
      kind: 'script',
      scriptId: 'fix-allow-rdp-through-firewall',
      params: noParams,
      build(params: unknown) {
        parseParams(noParams, params, FIX_ID);
        return scriptRun(FIX_ID, 'fix-allow-rdp-through-firewall', false, []);
      },
      undo: undoOf,
    },
  ],
} as const satisfies Cause;
