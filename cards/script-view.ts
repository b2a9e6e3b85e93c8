import type { Translate } from '../services/i18n';
import { isServedScript, sha256Hex } from '../services/runbook/script-pages';
import { codeBlock } from './render';

/**
 * How a card shows a script without carrying it (Teams refuses messages over about 28 KB):
 * what it does stays in the card's words, with its line count and SHA-256, and "View the
 * script" opens the exact text at the bot's /scripts/<sha256>. Only a text the bot serves is
 * linked; anything else (a few lines of an Azure operation) stays inline, shown exactly.
 */
export interface ScriptView {
  /** "{lines} lines, SHA-256 {sha}" */
  facts: string;
  sha256: string;
  lines: number;
  /** the page of the exact text, or '' when the text is inline */
  url: string;
  /** a CodeBlock with its exact fallback, or null when linked */
  inline: Record<string, unknown> | null;
}

export function scriptUrl(publicBaseUrl: string, sha256: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/scripts/${sha256}`;
}

/**
 * Every consent card shows the diagnostic's hash and line count: a served text's are computed
 * once (the bench profile showed hashing it twice per card). Only served texts are kept, a set
 * fixed at start, so this never grows with what a chat brings.
 */
const servedFacts = new Map<string, { sha256: string; lines: number }>();

function factsOf(text: string): { sha256: string; lines: number; linked: boolean } {
  const known = servedFacts.get(text);
  if (known) return { ...known, linked: true };
  const facts = { sha256: sha256Hex(text), lines: text.split('\n').length };
  const linked = isServedScript(text);
  if (linked) servedFacts.set(text, facts);
  return { ...facts, linked };
}

export function scriptView(t: Translate, publicBaseUrl: string, text: string, language: 'PowerShell' | 'Json' = 'PowerShell'): ScriptView {
  const { sha256, lines, linked } = factsOf(text);
  return {
    facts: t('teams.script.facts', { lines, sha: sha256 }),
    sha256,
    lines,
    url: linked ? scriptUrl(publicBaseUrl, sha256) : '',
    inline: linked ? null : codeBlock(text, language),
  };
}
