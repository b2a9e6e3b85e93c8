import { VM_RESOURCE_ID_IN_TEXT } from '../services/azure/arm-ids';
import { VM_SEARCH_PATTERN } from '../services/azure/graph-query';
import type { Symptom } from '../services/incidents/model';

/**
 * What a user's first message says: the symptom and the VM, in English or Russian. Word endings
 * are bounded (`\S{0,12}`, not `\S*`): an unbounded one rescans the rest of a message without
 * spaces from every occurrence of the stem, quadratic in a 28,000-character message.
 */
export const SYMPTOMS: Array<[Symptom, RegExp]> = [
  ['internal-error', /internal\s+error|внутренн\S{0,12}\s+ошибк/i],
  ['configuring-session', /configuring\s+(the\s+)?remote\s+session|настройк\S{0,12}\s+удал[её]нн\S{0,12}\s+сеанс/i],
  ['cannot-connect', /can'?t\s+connect|cannot\s+connect|unable\s+to\s+connect|не\s+(удается|удаётся|могу|получается)\s+подключ/i],
];

export function detectSymptom(text: string): Symptom | null {
  for (const [symptom, re] of SYMPTOMS) if (re.test(text)) return symptom;
  return null;
}

// Azure VM names: letters, digits, '-', '_' and '.', 1-64 characters (15 for a Windows computer name)
const TOKEN = /[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9]/g;
// the word after "to"/"к"/...: at most a VM name's 64 characters
export const AFTER = /(?:\bto|\bon|\bvm|\bmachine|\bк|\bна|\bвм|\bмашин[аеуы]?)\s+["'«]?([A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9])/i;
export const VM_PATTERNS = [VM_RESOURCE_ID_IN_TEXT, TOKEN, AFTER];
const NOT_VM = new Set(['rdp', 'tls', 'nla', 'vm', 'azure', 'windows', 'error', 'internal', 'remote', 'desktop', 'mstsc']);

/**
 * The VM the user names: a resource id, else the word after "to"/"к"/"vm", else a token that
 * looks like a machine name (has a digit or a hyphen). Null when nothing looks like one.
 */
export function extractVmQuery(text: string): string | null {
  const id = VM_RESOURCE_ID_IN_TEXT.exec(text);
  if (id) return id[0];
  const after = AFTER.exec(text);
  if (after && looksLikeVm(after[1])) return after[1];
  for (const m of text.matchAll(TOKEN)) if (looksLikeVm(m[0])) return m[0];
  return null;
}

function looksLikeVm(token: string): boolean {
  if (NOT_VM.has(token.toLowerCase())) return false;
  if (/^\d+$/.test(token)) return false; // a port or a number
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(token)) return false; // an IP address
  return /[-_\d]/.test(token) && /[A-Za-z]/.test(token);
}

/**
 * Whether Azure could match the text: a VM name or part of one (the Resource Graph search's own
 * pattern), or a resource id (checked in full by the lookup).
 */
export function isVmQuery(query: string): boolean {
  const q = query.trim();
  return VM_SEARCH_PATTERN.test(q) || /^\/subscriptions\//i.test(q);
}
