import type { ScriptParameter } from '../../azure/gateway';
import { stepFailed, type DiagnosticFacts } from '../diagnostic-output';
import type { Evidence, Finding } from '../findings';
import type { UndoScript } from '../undo';
import { ev, findingOf, noParams, parseParams, scriptRun } from './kit';
import type { Cause } from './types';

/**
 * Remote Desktop switched off (CONTRACTS §1b): `fDenyTSConnections` (the Terminal Services policy
 * value wins over the Terminal Server key's), and the listener or the server disabled
 * (`fEnableWinStation`, `fLogonDisabled`, `TSEnabled`, `TSServerDrainMode`). Facts: diagnose.ps1's
 * `rs` block. Absent values are Windows' defaults (allowed, enabled, no drain mode).
 */
const DENIED = { id: 'rdp-connections-denied', severity: 'critical' } as const;
const LISTENER = { id: 'rdp-listener-disabled', severity: 'critical' } as const;

/** The values a fix script printed as `before`, as an undo script's parameters (`absent` for a value that did not exist). */
function undoParams(status: Record<string, unknown>, names: ReadonlyArray<readonly [string, string]>): ScriptParameter[] | null {
  const before = status.before;
  if (!before || typeof before !== 'object' || Array.isArray(before)) return null;
  const changed = Array.isArray(status.changed) ? status.changed.filter((x): x is string => typeof x === 'string') : [];
  const out: ScriptParameter[] = [];
  for (const [value, param] of names) {
    if (!changed.includes(value)) continue;
    const raw = (before as Record<string, unknown>)[value];
    if (raw === undefined || raw === null) out.push({ name: param, value: 'absent' });
    else if (typeof raw === 'number' && Number.isInteger(raw) && raw >= -2147483648 && raw <= 4294967295) out.push({ name: param, value: String(raw < 0 ? raw + 4294967296 : raw) });
    else return null;
  }
  return out.length > 0 ? out : null;
}

const LISTENER_VALUES = [
  ['fEnableWinStation', 'EnableWinStation'],
  ['fLogonDisabled', 'LogonDisabled'],
  ['TSEnabled', 'TSEnabled'],
  ['TSServerDrainMode', 'TSServerDrainMode'],
] as const;

const on = (v: number | null): boolean => v !== null && v !== 0;

function check(f: DiagnosticFacts): Finding[] {
  const rs = f.rs;
  if (!rs || stepFailed(f, 'rsreg')) return [];
  const out: Finding[] = [];
  // the policy value wins whatever it says; absent = not allowed to deny
  if (rs.gdn !== null) {
    if (on(rs.gdn)) out.push(findingOf(DENIED, [ev('rdpDeniedPolicy', { value: rs.gdn })]));
  } else if (on(rs.dn)) {
    out.push(findingOf(DENIED, [ev('rdpDenied', { value: rs.dn as number })]));
  }
  const e: Evidence[] = [];
  if (rs.ws === 0) e.push(ev('listenerWinStation', { value: 0 }));
  if (on(rs.ld)) e.push(ev('listenerLogonDisabled', { value: rs.ld as number }));
  if (rs.en === 0) e.push(ev('tsDisabled', { value: 0 }));
  if (on(rs.dr)) e.push(ev('tsDrainMode', { value: rs.dr as number }));
  if (e.length > 0) out.push(findingOf(LISTENER, e));
  return out;
}

export const rdpOff = {
  name: 'rdp-off',
  findings: [DENIED, LISTENER],
  check: (input) => (input.facts ? check(input.facts) : []),
  fixes: [
    {
      id: 'allow-rdp-connections',
      addresses: ['rdp-connections-denied'],
      // one registry value back to what every Azure image ships; it opens nothing the NSG does not allow
      risk: 'low',
      // Windows applies fDenyTSConnections at once (the System Properties switch needs no restart)
      needsRestart: false,
      changesDisk: true,
      kind: 'script',
      scriptId: 'fix-allow-rdp-connections',
      params: noParams,
      build(params) {
        parseParams(noParams, params, 'allow-rdp-connections');
        return scriptRun('allow-rdp-connections', 'fix-allow-rdp-connections', false, []);
      },
      undo(status): UndoScript | null {
        const parameters = undoParams(status, [['fDenyTSConnections', 'DenyTSConnections']]);
        return parameters ? { id: 'undo-allow-rdp-connections', parameters, needsRestart: false } : null;
      },
    },
    {
      id: 'reset-rdp-listener',
      addresses: ['rdp-listener-disabled'],
      risk: 'low',
      // TermService reads the listener and server values when it creates the listener: the VM restarts
      needsRestart: true,
      changesDisk: true,
      kind: 'script',
      scriptId: 'fix-reset-rdp-listener',
      params: noParams,
      build(params) {
        parseParams(noParams, params, 'reset-rdp-listener');
        return scriptRun('reset-rdp-listener', 'fix-reset-rdp-listener', true, []);
      },
      undo(status): UndoScript | null {
        const parameters = undoParams(status, LISTENER_VALUES);
        return parameters ? { id: 'undo-reset-rdp-listener', parameters, needsRestart: true } : null;
      },
    },
  ],
} as const satisfies Cause;
