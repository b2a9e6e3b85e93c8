import type { SweepScopeFilter } from '../services/azure/gateway';

/**
 * The fleet sweep commands (issue #16), English and Russian, case-insensitive:
 *   sweep | проверка парка  [deep | глубокая]  [subscription <id> | подписка <id>]
 *                            [resource group <name> | группа ресурсов <name>]
 *   sweeps | проверки        the recent sweeps
 * Parsed strictly: a word it does not know, a malformed id or name, or an option given twice is
 * an error the approver reads (`error`), never a sweep of something else.
 */
export type SweepCommand =
  | { kind: 'sweep'; deep: boolean; scope: SweepScopeFilter; error?: SweepCommandError }
  | { kind: 'sweeps' };

export interface SweepCommandError {
  /** a key under sweepUi.cmd */
  key: 'unknownWord' | 'missingValue' | 'subscriptionId' | 'resourceGroup' | 'twice';
  params: Record<string, string>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Azure's rule for resource group names: 1-90 letters, digits, '.', '_', '-', '(', ')', not ending with '.' */
const RESOURCE_GROUP = /^[\p{L}\p{N}._()-]{0,89}[\p{L}\p{N}_()-]$/u;
const HEADS = ['sweep', 'проверка парка'];
const LIST = new Set(['sweeps', 'проверки']);

const shown = (word: string) => (word.length > 40 ? `${word.slice(0, 37)}...` : word);

export function parseSweepCommand(text: string): SweepCommand | null {
  const typed = text.trim().replace(/\s+/g, ' ').replace(/[.!]+$/, '');
  const lower = typed.toLowerCase();
  if (LIST.has(lower)) return { kind: 'sweeps' };
  const head = HEADS.find((h) => lower === h || lower.startsWith(`${h} `));
  if (!head) return null;
  const words = typed.slice(head.length).trim().split(' ').filter(Boolean);
  const out: { kind: 'sweep'; deep: boolean; scope: SweepScopeFilter } = { kind: 'sweep', deep: false, scope: {} };
  const fail = (key: SweepCommandError['key'], params: Record<string, string>): SweepCommand => ({ ...out, error: { key, params } });
  for (let i = 0; i < words.length; i++) {
    const w = words[i].toLowerCase();
    const next = words[i + 1]?.toLowerCase();
    if (w === 'deep' || w === 'глубокая') {
      if (out.deep) return fail('twice', { word: words[i] });
      out.deep = true;
    } else if (w === 'subscription' || w === 'подписка') {
      const value = words[i + 1];
      if (!value) return fail('missingValue', { word: words[i] });
      if (!GUID.test(value)) return fail('subscriptionId', { value: shown(value) });
      if (out.scope.subscriptionIds) return fail('twice', { word: words[i] });
      out.scope.subscriptionIds = [value.toLowerCase()];
      i++;
    } else if ((w === 'resource' && next === 'group') || (w === 'группа' && next === 'ресурсов')) {
      const word = `${words[i]} ${words[i + 1]}`;
      const value = words[i + 2];
      if (!value) return fail('missingValue', { word });
      if (!RESOURCE_GROUP.test(value)) return fail('resourceGroup', { value: shown(value) });
      if (out.scope.resourceGroup !== undefined) return fail('twice', { word });
      out.scope.resourceGroup = value;
      i += 2;
    } else {
      return fail('unknownWord', { word: shown(words[i]) });
    }
  }
  return out;
}
