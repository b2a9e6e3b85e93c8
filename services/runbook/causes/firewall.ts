import { stepFailed } from '../diagnostic-output';
import { DEFAULT_RDP_PORT, firewallPortCovers } from './checks';
import { ev, findingOf, noParams, parseParams, scriptRun } from './kit';
import type { FixRun } from '../fixes';
import type { Cause } from './types';

const MISMATCH = { id: 'firewall-rule-mismatch', severity: 'warning' } as const;
const RULE = 'RemoteDesktop-UserMode-In-TCP';

/** Windows Firewall's built-in RDP rule missing, disabled or on another port. */
export const firewall = {
  name: 'firewall',
  findings: [MISMATCH],
  check({ facts: f }) {
    if (!f || !f.fw || stepFailed(f, 'fw')) return [];
    const port = f.port ?? DEFAULT_RDP_PORT;
    if (!f.fw.found) return [findingOf(MISMATCH, [ev('fwRuleMissing', { rule: RULE })])];
    if (!f.fw.enabled) return [findingOf(MISMATCH, [ev('fwRuleDisabled', { rule: RULE })])];
    if (!f.fw.ports.some((p) => firewallPortCovers(p, port))) {
      return [findingOf(MISMATCH, [ev('fwRulePort', { rule: RULE, ports: f.fw.ports.join(', ') || '-', port })])];
    }
    return [];
  },
  fixes: [
    {
      id: 'fix-firewall-rule',
      addresses: ['firewall-rule-mismatch'],
      risk: 'low',
      changesDisk: true,
      needsRestart: false,
      kind: 'script',
      scriptId: 'fix-fix-firewall-rule',
      params: noParams,
      build(params): FixRun {
        parseParams(noParams, params, 'fix-firewall-rule');
        return scriptRun('fix-firewall-rule', 'fix-fix-firewall-rule', false, []);
      },
      undo(status) {
        const before = status.before;
        // the script prints `before: null` when the built-in rule did not exist
        if (before === null) return { id: 'undo-fix-firewall-rule', parameters: [{ name: 'Exists', value: '0' }], needsRestart: false };
        if (!before || typeof before !== 'object' || Array.isArray(before)) return null;
        const b = before as { exists?: unknown; enabled?: unknown; localPort?: unknown };
        // the script prints the rule's values ({ enabled, localPort }); `exists` is implied by them
        if (b.exists === undefined && typeof b.enabled === 'boolean') b.exists = true;
        if (b.exists === false) return { id: 'undo-fix-firewall-rule', parameters: [{ name: 'Exists', value: '0' }], needsRestart: false };
        const ports = Array.isArray(b.localPort) ? b.localPort.map(String) : [];
        if (b.exists !== true || typeof b.enabled !== 'boolean' || ports.length === 0 || ports.length > 10 || !ports.every((p) => /^[0-9]{1,5}$/.test(p))) return null;
        return {
          id: 'undo-fix-firewall-rule',
          parameters: [
            { name: 'Exists', value: '1' },
            { name: 'Enabled', value: b.enabled ? 'True' : 'False' },
            { name: 'LocalPort', value: ports.join('.') },
          ],
          needsRestart: false,
        };
      },
    },
  ],
} as const satisfies Cause;
