import type { Lang } from './index';

// what says nothing about the language: resource ids and paths, addresses, and any token with a
// digit, '_', '@', or a '-' or '.' inside Latin letters (VM names, IPs, versions: "vm-tlsoff-06",
// "rg-prod", "10.0.0.4", "TLS 1.2"); a word before a full stop or a Russian "что-то" stays
const NEUTRAL = /\S*(?:[\d_@/\\]|[A-Za-z][.-][A-Za-z])\S*/gu;
const CYRILLIC = /\p{Script=Cyrillic}/gu;
const LATIN_WORD = /\p{Script=Latin}{2,}/gu;
const LATIN = /\p{Script=Latin}/gu;

/**
 * The language a message is clearly written in, or null when it does not say (a VM name, digits,
 * one Latin word such as "help" or "status").
 *
 * Russian when Cyrillic letters dominate (at least 3, and twice the Latin ones: Russian messages
 * carry Latin terms like "RDP"); English when there are no more Cyrillic letters than a quarter of
 * the Latin ones and at least two Latin words of at least 6 letters in all ("does not work", "approvals
 * here"): one Latin word is as likely a command word or a term typed by a Russian speaker.
 */
export function textLang(text: string | null | undefined): Lang | null {
  if (!text) return null;
  const words = text.replace(NEUTRAL, ' ');
  const cyrillic = words.match(CYRILLIC)?.length ?? 0;
  const latin = words.match(LATIN)?.length ?? 0;
  if (cyrillic >= 3 && cyrillic >= 2 * latin) return 'ru';
  const latinWords = words.match(LATIN_WORD)?.length ?? 0;
  if (latinWords >= 2 && latin >= 6 && 4 * cyrillic <= latin) return 'en';
  return null;
}
