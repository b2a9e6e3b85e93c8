import { createHash } from 'node:crypto';
import { runCommandText } from '../azure/validation';
import { offlineRepairScripts } from './offline';
import { DIAGNOSE_SCRIPT, SCRIPT_IDS, getScript } from './scripts';

/**
 * The script texts the bot shows people, addressed by their SHA-256: what Run Command receives
 * for each shipped script, and the offline repair scripts for every drive letter. The set is
 * fixed at start (no text from a chat ever enters it), so any instance serves the same pages.
 */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

let pages: Map<string, string> | undefined;

function allPages(): Map<string, string> {
  if (pages) return pages;
  const texts: string[] = SCRIPT_IDS.map((id) => runCommandText(id, getScript(id).source));
  for (const letter of 'ABDEFGHIJKLMNOPQRSTUVWXYZ') {
    for (const step of offlineRepairScripts(letter).steps) if (step.script) texts.push(step.script);
  }
  pages = new Map(texts.map((text) => [sha256Hex(text), text]));
  return pages;
}

/** The text served at /scripts/<sha256>, or undefined when the bot does not ship that text. */
export function scriptPage(sha256: string): string | undefined {
  return SHA256_PATTERN.test(sha256) ? allPages().get(sha256) : undefined;
}

/** Whether a text is one the bot serves (a card may then link to it instead of embedding it). */
export function isServedScript(text: string): boolean {
  return allPages().has(sha256Hex(text));
}

/** The diagnostic exactly as Run Command receives it (the consent card shows its hash). */
export const DIAGNOSE_RUN_TEXT = runCommandText(DIAGNOSE_SCRIPT.id, DIAGNOSE_SCRIPT.source);
