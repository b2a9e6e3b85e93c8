import type { ScriptParameter } from '../azure/gateway';
import { registryFix, registryFixes, type RegistryNoUndoReason } from './causes';
import type { FixId } from './fixes';
import type { ScriptId } from './scripts';

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

/** The undo script of a finished fix, from its cause module's `undo` (services/runbook/causes). */
export function undoScriptFor(fixId: FixId, status: Record<string, unknown>): UndoScript | null {
  if (status.ok !== true || status.status === 'noop') return null;
  const fix = registryFix(fixId);
  return fix?.undo ? fix.undo(status) : null;
}

/**
 * Why a finished fix offers no Undo, as a catalogue key under `plans.undo.none.` (docs/undo.md
 * gives the reasoning per fix). null when the fix has an undo (the caller decides whether it is
 * still possible: an NSG rule changed since is refused when the undo is requested).
 */
export type NoUndoReason = 'nothingChanged' | 'isUndo' | 'noBeforeValues' | RegistryNoUndoReason;

/** The fixes that never get an undo (each names its reason in its cause module: `noUndoReason`). */
export const NO_UNDO_FIXES: readonly FixId[] = registryFixes()
  .filter((f) => f.noUndoReason !== undefined)
  .map((f) => f.id as FixId);

export function noUndoReason(fixId: string, status: Record<string, unknown> | null | undefined, opts: { alreadyFixed?: boolean; nsgChanges?: number } = {}): NoUndoReason | null {
  if (fixId === 'undo') return 'isUndo';
  if (opts.alreadyFixed) return 'nothingChanged';
  const fix = registryFix(fixId);
  if (fix?.noUndoReason) return fix.noUndoReason as NoUndoReason;
  if (fix?.undoesNsgRules) return (opts.nsgChanges ?? 0) > 0 ? null : 'nothingChanged';
  if (status && status.ok === true && status.status === 'noop') return 'nothingChanged';
  if (!status || undoScriptFor(fixId as FixId, status) === null) return 'noBeforeValues';
  return null;
}

/** The text of a no-undo reason: the fix's own detail (its restore command, its old port) when the reason is its own, else the plain reason. */
export function noUndoText(fixId: string, reason: NoUndoReason, status: Record<string, unknown> | undefined): { key: string; params: Record<string, string> } {
  const fix = registryFix(fixId);
  const detail = fix?.noUndoReason === reason ? fix.noUndoDetail?.(status) : null;
  return detail ?? { key: `plans.undo.none.${reason}`, params: {} };
}
