import { VM_RESOURCE_ID_IN_TEXT } from '../services/azure/arm-ids';
import { VM_SEARCH_PATTERN } from '../services/azure/graph-query';
import type { Symptom } from '../services/runbook/symptoms';

/**
 * What a user's first message says: the symptom and the VM, in English or Russian. Word endings
 * are bounded (`\S{0,12}`, not `\S*`): an unbounded one rescans the rest of a message without
 * spaces from every occurrence of the stem, quadratic in a 28,000-character message.
 *
 * The most specific first: a pasted dialog often holds two texts ("An authentication error has
 * occurred ... CredSSP encryption oracle remediation"). The Russian wordings are those of the
 * Russian Windows Remote Desktop client's dialogs («Произошла ошибка проверки подлинности»,
 * «Отказано в доступе», «Ваши учетные данные не работают», ...), with ё/е and common
 * paraphrases. Error codes are read only when no text says more (ERROR_CODES).
 */
const Q = "['\u2019]"; // a pasted apostrophe may be typographic
export const SYMPTOMS: Array<[Symptom, RegExp]> = [
  ['credssp', /credssp|encryption\s+oracle|oracle\s+remediation/i],
  [
    'licensing',
    /licen[cs]e\s+servers?|remote\s+desktop\s+licen[cs]|licen[cs]e\s+for\s+remote\s+desktop|licensing\s+(?:mode|server|grace)|сервер\S{0,12}\s+лицензировани|лицензи\S{0,12}\s+(?:для\s+|на\s+)?удал[её]нн/i,
  ],
  ['nla-required', /network\s+level\s+authentication|проверк\S{0,12}\s+подлинност\S{0,12}\s+на\s+уровне\s+сети/i],
  [
    'credentials-rejected',
    new RegExp(
      `credentials\\s+(?:did\\s+not|didn${Q}?t|do\\s+not|don${Q}?t)\\s+work|logon\\s+attempt\\s+failed|уч[её]тн\\S{0,12}\\s+данн\\S{0,12}\\s+не\\s+(?:работа|подош|подход)|попытк\\S{0,12}\\s+входа\\s+не\\s+удалась`,
      'i',
    ),
  ],
  [
    'access-denied',
    /access\s+(?:is\s+)?denied|connection\s+was\s+denied|not\s+authorized\s+for\s+remote\s+log|right\s+to\s+sign\s+in\s+through\s+remote|отказано\s+в\s+доступе|доступ\s+запрещ|подключени\S{0,12}\s+(?:было\s+)?запрещено|нет\s+(?:прав|разрешени)\S{0,12}\s+на\s+(?:удал[её]нн\S{0,12}\s+)?вход/i,
  ],
  ['internal-error', /internal\s+error|внутренн\S{0,12}\s+ошибк/i],
  [
    'auth-error',
    /authentication\s+error|local\s+security\s+authority|function\s+requested\s+is\s+not\s+supported|ошибк\S{0,12}\s+проверки\s+подлинности|локальн\S{0,12}\s+центр\S{0,12}\s+безопасности|запрошенн\S{0,12}\s+функци\S{0,12}\s+не\s+поддерживается/i,
  ],
  ['protocol-error', /protocol\s+error|ошибк\S{0,12}\s+протокола/i],
  ['configuring-session', /configuring\s+(the\s+)?remote\s+session|настройк\S{0,12}\s+удал[её]нн\S{0,12}\s+сеанс/i],
  ['black-screen', /black\s+screen|blank\s+screen|screen\s+(?:is\s+|stays\s+|goes\s+)?black|ч[её]рн\S{0,12}\s+экран|экран\s+(?:\S{1,12}\s+)?ч[её]рн|пуст\S{0,12}\s+экран/i],
  [
    'cannot-connect',
    new RegExp(
      `can(?:${Q}|no)?t\\s+connect\\s+to\\s+the\\s+remote|can(?:${Q}|no)?t\\s+find\\s+the\\s+(?:remote\\s+)?computer|не\\s+уда[её]тся\\s+(?:подключиться\\s+к\\s+удал[её]нн|найти\\s+(?:удал[её]нн\\S{0,12}\\s+)?компьютер)`,
      'i',
    ),
  ],
  [
    'generic',
    new RegExp(
      `can(?:${Q}|no)?t\\s+(?:rdp|connect|log\\s*in|sign\\s*in|remote)|unable\\s+to\\s+(?:rdp|connect)|rdp\\s+(?:is\\s+)?(?:not\\s+working|doesn${Q}?t\\s+work|does\\s+not\\s+work|fails|failing|broken)|не\\s+(?:удается|удаётся|могу|получается|выходит)\\s+(?:подключ|зайти|войти)|не\\s+подключа|не\\s+работает\\s+rdp|rdp\\s+не\\s+работает`,
      'i',
    ),
  ],
];

/**
 * Remote Desktop client error codes ("Error code: 0x204"), read when no text is recognised: 0x204
 * (and 0x104, 0x108, 0x208: DNS, timeout, host not found) mean the client never reached the
 * listener; 0x4 and 0x3 come with "An internal error has occurred"; 0x907 is the server's
 * certificate failing the client's checks; 0x112f and 0x1104 are protocol errors; 0x80080005 an
 * authentication error. "Extended error code: 0x0" and unknown codes say nothing.
 */
export const ERROR_CODE = /\b0x([0-9a-f]{1,8})\b/gi;
const CODES: Record<string, Symptom> = {
  '204': 'cannot-connect',
  '104': 'cannot-connect',
  '108': 'cannot-connect',
  '208': 'cannot-connect',
  '4': 'internal-error',
  '3': 'internal-error',
  '907': 'auth-error',
  '112f': 'protocol-error',
  '1104': 'protocol-error',
  '80080005': 'auth-error',
};

export function detectSymptom(text: string): Symptom | null {
  for (const [symptom, re] of SYMPTOMS) if (re.test(text)) return symptom;
  for (const m of text.matchAll(ERROR_CODE)) {
    const code = CODES[m[1].toLowerCase().replace(/^0+(?=.)/, '')];
    if (code) return code;
  }
  return null;
}

// Azure VM names: letters, digits, '-', '_' and '.', 1-64 characters (15 for a Windows computer name)
const TOKEN = /[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9]/g;
// the word after "to"/"к"/...: at most a VM name's 64 characters. The word before it starts at a
// Unicode boundary: `\b` is ASCII-only (even with the u flag), so `\bк` never matched after a space.
export const AFTER = /(?<![\p{L}\p{N}_])(?:to|on|vm|machine|к|на|вм|машин[аеуы]?)\s+["'«]?([A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9])/iu;
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

// --- message extension (issue #17, msgext): every VM a pasted message may name ---
/**
 * The VM names (or resource ids) a message names, in the order `extractVmQuery` prefers them:
 * resource ids, the word after "to"/"к"/"vm", then each token that looks like a machine name;
 * each once (case-insensitive), at most `max`. Its first is `extractVmQuery`'s answer.
 */
export function vmQueryCandidates(text: string, max = 3): string[] {
  const out: string[] = [];
  const add = (q: string) => {
    if (out.length < max && !out.some((o) => o.toLowerCase() === q.toLowerCase())) out.push(q);
  };
  for (const m of text.matchAll(new RegExp(VM_RESOURCE_ID_IN_TEXT.source, 'gi'))) add(m[0]);
  const after = AFTER.exec(text);
  if (after && looksLikeVm(after[1])) add(after[1]);
  // tokens inside a resource id already added are parts of it, not other VMs
  const rest = out.reduce((t, id) => t.split(id).join(' '), text);
  for (const m of rest.matchAll(TOKEN)) if (looksLikeVm(m[0])) add(m[0]);
  return out;
}
// --- end message extension ---

function looksLikeVm(token: string): boolean {
  if (NOT_VM.has(token.toLowerCase())) return false;
  if (/^\d+$/.test(token)) return false; // a port or a number
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(token)) return false; // an IP address
  if (/^0x[0-9a-f]{1,16}$/i.test(token)) return false; // a pasted error code: "Error code: 0x204"
  if (/^(?:kb\d{4,10}|cve-\d{4}-\d{1,7}|rdp-tcp)$/i.test(token)) return false; // an update, a CVE, the listener
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
