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

export function scriptView(t: Translate, publicBaseUrl: string, text: string, language: 'PowerShell' | 'Json' = 'PowerShell'): ScriptView {
  const sha256 = sha256Hex(text);
  const lines = text.split('\n').length;
  const linked = isServedScript(text);
  return {
    facts: t('teams.script.facts', { lines, sha: sha256 }),
    sha256,
    lines,
    url: linked ? scriptUrl(publicBaseUrl, sha256) : '',
    inline: linked ? null : codeBlock(text, language),
  };
}
