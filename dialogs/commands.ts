import { parseSweepCommand, type SweepCommand } from './sweep-parse';

/**
 * Chat commands of CONTRACTS.md §5, English and Russian, case-insensitive, after @mention
 * removal. Anything else is free text for the intake.
 */
export type Command =
  | { kind: 'help' }
  | { kind: 'cancel' }
  | { kind: 'status' }
  | { kind: 'approvals' }
  | { kind: 'approvalsHere' }
  | { kind: 'history'; vm: string }
  | { kind: 'diagnose'; vm: string }
  // fleet sweeps (issue #16): sweep-parse.ts
  | SweepCommand;

const EXACT: Record<string, Command> = {
  help: { kind: 'help' },
  '?': { kind: 'help' },
  'помощь': { kind: 'help' },
  'справка': { kind: 'help' },
  cancel: { kind: 'cancel' },
  stop: { kind: 'cancel' },
  'отмена': { kind: 'cancel' },
  'отменить': { kind: 'cancel' },
  status: { kind: 'status' },
  'статус': { kind: 'status' },
  approvals: { kind: 'approvals' },
  'согласования': { kind: 'approvals' },
  'approvals here': { kind: 'approvalsHere' },
  'согласования здесь': { kind: 'approvalsHere' },
};

export function parseCommand(text: string): Command | null {
  const norm = text.trim().replace(/\s+/g, ' ').replace(/[.!]+$/, '').toLowerCase();
  const exact = EXACT[norm];
  if (exact) return exact;
  const sweep = parseSweepCommand(text);
  if (sweep) return sweep;
  const m = /^(history|история|diagnose|диагностика|проверить|проверь)\s+(\S+)$/.exec(norm);
  if (!m) return null;
  // keep the VM argument as typed (names are case-insensitive in Azure, but resource ids are shown back)
  const arg = text.trim().split(/\s+/).slice(1).join(' ');
  return m[1] === 'history' || m[1] === 'история' ? { kind: 'history', vm: arg } : { kind: 'diagnose', vm: arg };
}
