import { z } from 'zod';
import type { ScriptParameter } from '../../azure/gateway';
import { CAPS, policyEntryPath, stepFailed } from '../diagnostic-output';
import type { Evidence, Finding } from '../findings';
import { countText, dword, eventCount, policyValue, valueText } from './checks';
import { ev, findingOf, flag, parseParams, scriptRun } from './kit';
import type { FixRun } from '../fixes';
import type { Cause } from './types';

const DISABLED = { id: 'tls-disabled', severity: 'critical' } as const;
const BY_POLICY = { id: 'tls-managed-by-policy', severity: 'info' } as const;
const tlsParams = z.strictObject({ tls10: flag.optional(), tls11: flag.optional() });

const TLS = [
  ['TLS 1.0', 'Tls10'],
  ['TLS 1.1', 'Tls11'],
  ['TLS 1.2', 'Tls12'],
] as const;

/** TLS 1.2 switched off for the server side (SCHANNEL values or event 36871), and the policy values that manage it. */
export const tls = {
  name: 'tls',
  findings: [DISABLED, BY_POLICY],
  check({ facts: f }) {
    const out: Finding[] = [];
    if (!f) return out;
    const e: Evidence[] = [];
    const tls12 = f.tls?.['TLS 1.2'];
    if (tls12 && !stepFailed(f, 'tls')) {
      const off = tls12.Enabled === 0 || (tls12.DisabledByDefault !== null && tls12.DisabledByDefault !== 0);
      // the "-" = not set note only where a value is not set
      const key = tls12.Enabled === null || tls12.DisabledByDefault === null ? 'tlsRegistryNotSet' : 'tlsRegistry';
      if (off) e.push(ev(key, { version: 'TLS 1.2', enabled: valueText(tls12.Enabled), disabledByDefault: valueText(tls12.DisabledByDefault) }));
    }
    const n36871 = eventCount(f, '36871');
    if (n36871 > 0) e.push(ev('event36871', { count: countText(n36871, CAPS.events), since: f.since }));
    if (e.length > 0) {
      if (f.domain && f.rsop !== 'ok') e.push(ev('policyUnknown'));
      out.push(findingOf(DISABLED, e));
    }
    const policy = (f.policy ?? []).filter((p) => /^(SCHANNEL|TS|SSL)\\/.test(p));
    if (policy.length > 0) {
      out.push(findingOf(BY_POLICY, policy.map((p) => ev('policyValue', { path: `HKLM\\${policyEntryPath(p)}`, value: policyValue(p) ?? '-' }))));
    }
    return out;
  },
  fixes: [
    {
      id: 'enable-tls',
      addresses: ['tls-disabled'],
      risk: 'medium',
      changesDisk: true,
      needsRestart: true,
      kind: 'script',
      scriptId: 'fix-enable-tls',
      params: tlsParams,
      inputs: [
        { id: 'tls10', type: 'toggle', labelKey: 'fixes.input.tls10' },
        { id: 'tls11', type: 'toggle', labelKey: 'fixes.input.tls11' },
      ],
      build(params): FixRun {
        const p = parseParams(tlsParams, params, 'enable-tls');
        return scriptRun('enable-tls', 'fix-enable-tls', true, [
          { name: 'Tls10', value: p.tls10 ? '1' : '0' },
          { name: 'Tls11', value: p.tls11 ? '1' : '0' },
        ]);
      },
      undo(status) {
        const before = status.before;
        if (!before || typeof before !== 'object' || Array.isArray(before)) return null;
        const b = before as Record<string, unknown>;
        const parameters: ScriptParameter[] = [];
        for (const [proto, prefix] of TLS) {
          const values = b[proto];
          if (values === undefined) continue;
          if (!values || typeof values !== 'object') return null;
          for (const name of ['Enabled', 'DisabledByDefault'] as const) {
            const raw = (values as Record<string, unknown>)[name];
            const v = raw === undefined || raw === null ? 'absent' : dword(raw);
            if (v === null) return null;
            parameters.push({ name: `${prefix}${name}`, value: v });
          }
        }
        return parameters.length > 0 ? { id: 'undo-enable-tls', parameters, needsRestart: true } : null;
      },
    },
  ],
} as const satisfies Cause;
