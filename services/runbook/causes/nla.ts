import type { ScriptParameter } from '../../azure/gateway';
import { dword, effectiveUserAuthentication } from './checks';
import { ev, findingOf, noParams, parseParams, scriptRun } from './kit';
import type { FixRun } from '../fixes';
import type { Cause } from './types';

const NLA_OFF = { id: 'nla-disabled', severity: 'warning' } as const;

/** RDP-Tcp value -> the undo script's parameter (without the Hungarian f). */
const NLA = [
  ['UserAuthentication', 'UserAuthentication'],
  ['fAllowSecProtocolNegotiation', 'AllowSecProtocolNegotiation'],
  ['SecurityLayer', 'SecurityLayer'],
] as const;

/** Network Level Authentication off: a policy value overrides the listener's; absent = Windows default (1, required). */
export const nla = {
  name: 'nla',
  findings: [NLA_OFF],
  check({ facts: f }) {
    const ua = f ? effectiveUserAuthentication(f) : null;
    return ua && ua.value === 0 ? [findingOf(NLA_OFF, [ev(ua.fromPolicy ? 'nlaPolicy' : 'nlaRegistry', { value: 0 })])] : [];
  },
  fixes: [
    {
      id: 'enable-nla',
      addresses: ['nla-disabled'],
      risk: 'medium',
      changesDisk: true,
      needsRestart: true,
      kind: 'script',
      scriptId: 'fix-enable-nla',
      params: noParams,
      build(params): FixRun {
        parseParams(noParams, params, 'enable-nla');
        return scriptRun('enable-nla', 'fix-enable-nla', true, []);
      },
      undo(status) {
        const before = status.before;
        if (!before || typeof before !== 'object' || Array.isArray(before)) return null;
        const b = before as Record<string, unknown>;
        const changed = Array.isArray(status.changed) ? status.changed.filter((x): x is string => typeof x === 'string') : [];
        const parameters: ScriptParameter[] = [];
        for (const [value, param] of NLA) {
          if (!changed.includes(value)) continue;
          const raw = b[value];
          const v = raw === undefined || raw === null ? 'absent' : dword(raw);
          if (v === null) return null;
          parameters.push({ name: param, value: v });
        }
        return parameters.length > 0 ? { id: 'undo-enable-nla', parameters, needsRestart: true } : null;
      },
    },
  ],
} as const satisfies Cause;
