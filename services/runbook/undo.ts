import type { ScriptParameter } from '../azure/gateway';
import { registryFix } from './causes';
import type { FixId } from './fixes';
import type { ScriptId } from './scripts';
import { undoChangeRdpPort, undoResetMachineKeysAcl } from './undo-more';

/**
 * The undo of a script fix: its undo script and the parameters that put back the before-values
 * the fix script printed (`before` in its JSON status line). null when the fix has no undo, or
 * when it reported no change (nothing to undo) or no before-values.
 */
export interface UndoScript {
  id: ScriptId;
  parameters: ScriptParameter[];
  /** the change takes effect after a restart (the undo script says whether it changed anything) */
  needsRestart: boolean;
}

const TLS = [
  ['TLS 1.0', 'Tls10'],
  ['TLS 1.1', 'Tls11'],
  ['TLS 1.2', 'Tls12'],
] as const;

/** RDP-Tcp value -> the undo script's parameter (without the Hungarian f). */
const NLA = [
  ['UserAuthentication', 'UserAuthentication'],
  ['fAllowSecProtocolNegotiation', 'AllowSecProtocolNegotiation'],
  ['SecurityLayer', 'SecurityLayer'],
] as const;

const dword = (v: unknown): string | null => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4294967295 ? String(v) : null);

export function undoScriptFor(fixId: FixId, status: Record<string, unknown>): UndoScript | null {
  if (status.ok !== true || status.status === 'noop') return null;
  const cause = registryFix(fixId);
  if (cause) return cause.undo ? cause.undo(status) : null;
  if (fixId === 'change-rdp-port') return undoChangeRdpPort(status);
  if (fixId === 'reset-machinekeys-acl') return undoResetMachineKeysAcl(status);
  const before = status.before;
  // fix-fix-firewall-rule prints `before: null` when the built-in rule did not exist
  if (fixId === 'fix-firewall-rule' && before === null) return { id: 'undo-fix-firewall-rule', parameters: [{ name: 'Exists', value: '0' }], needsRestart: false };
  if (!before || typeof before !== 'object' || Array.isArray(before)) return null;
  switch (fixId) {
    case 'enable-tls': {
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
    }
    case 'fix-firewall-rule': {
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
    }
    case 'enable-nla': {
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
    }
    default:
      return null;
  }
}

/**
 * Why a finished fix offers no Undo, as a catalogue key under `plans.undo.none.` (docs/undo.md
 * gives the reasoning per fix). null when the fix has an undo (the caller decides whether it is
 * still possible: an NSG rule changed since is refused when the undo is requested).
 */
export type NoUndoReason =
  | 'nothingChanged'
  | 'isUndo'
  | 'noBeforeValues'
  | 'free-rdp-port'
  | 'start-termservice'
  | 'renew-rdp-cert'
  | 'start-vm'
  | 'restart-vm'
  | 'snapshot-os-disk';

/** The fixes that never get an undo, each for the reason of the same name. */
export const NO_UNDO_FIXES = ['free-rdp-port', 'start-termservice', 'renew-rdp-cert', 'start-vm', 'restart-vm', 'snapshot-os-disk'] as const satisfies readonly FixId[];

export function noUndoReason(fixId: string, status: Record<string, unknown> | null | undefined, opts: { alreadyFixed?: boolean; nsgChanges?: number } = {}): NoUndoReason | null {
  if (fixId === 'undo') return 'isUndo';
  if (opts.alreadyFixed) return 'nothingChanged';
  if ((NO_UNDO_FIXES as readonly string[]).includes(fixId)) return fixId as NoUndoReason;
  const cause = registryFix(fixId);
  if (cause?.noUndoReason) return cause.noUndoReason as NoUndoReason;
  if (fixId === 'restrict-rdp-source') return (opts.nsgChanges ?? 0) > 0 ? null : 'nothingChanged';
  if (status && status.ok === true && status.status === 'noop') return 'nothingChanged';
  if (!status || undoScriptFor(fixId as FixId, status) === null) return 'noBeforeValues';
  return null;
}
