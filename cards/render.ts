import * as ACData from 'adaptivecards-templating';
import type { Attachment } from 'botbuilder';
import { CardFactory } from 'botbuilder';
import type { Params, Translate } from '../services/i18n';
import { UNEXPECTED_NAME } from '../services/runbook/diagnostic-output';

/** An Adaptive Card as JSON (what goes into an attachment or an invoke response). */
export type CardJson = Record<string, unknown> & { type: 'AdaptiveCard' };

/**
 * Binds data into a card template (Adaptive Cards templating language: `${path}`, `$when`,
 * `$data`). Templates are JSON files next to this module; code only supplies data.
 */
export function bind(template: object, data: object): CardJson {
  return compiled(template).expand({ $root: data }) as CardJson;
}

// Parsing a template's expressions is most of the cost of a render (the bench profile): once per template.
const cache = new WeakMap<object, ACData.Template>();
function compiled(template: object): ACData.Template {
  let t = cache.get(template);
  if (!t) {
    t = new ACData.Template(template);
    cache.set(template, t);
  }
  return t;
}

export function asAttachment(card: CardJson): Attachment {
  return CardFactory.adaptiveCard(card);
}

/**
 * Teams' CodeBlock element with a fallback for clients that do not know it (the playground):
 * one RichTextBlock per line, its text in a monospace TextRun. A TextRun is never read as
 * markdown (a TextBlock is: `#` lines became headings and `$_` lost its `_`), and spaces are
 * non-breaking so indentation survives HTML's whitespace collapsing: the fallback shows every
 * line exactly as it is.
 */
export function codeBlock(code: string, language: 'PowerShell' | 'Json' | 'PlainText' = 'PowerShell'): Record<string, unknown> {
  return {
    type: 'CodeBlock',
    codeSnippet: code,
    language,
    fallback: {
      type: 'Container',
      items: code.split('\n').map((line) => ({
        type: 'RichTextBlock',
        spacing: 'None',
        inlines: line ? [{ type: 'TextRun', text: line.replace(/ /g, NBSP), fontType: 'Monospace', size: 'Small' }] : [],
      })),
    },
  };
}

/**
 * A value from outside (Azure, the VM, a user) as literal text in card markdown: the characters
 * that make links, emphasis and code are backslash-escaped, so `[text](url)` in a resource group
 * or a location shows as typed and never becomes a link. Every binder passes such values here
 * (directly with `md`, or as translation parameters through `markdownSafe`).
 */
export function md(value: unknown): string {
  return String(value ?? '')
    .replace(/\\(?=[!-/:-@[-`{-~])/g, '\\\\')
    .replace(/[[\]*_`~<>]/g, (c) => `\\${c}`)
    .replace(/^(\s*)([#+-]|\d+\.)(?=\s|$)/gm, (_m, sp: string, mark: string) => `${sp}\\${mark}`);
}

/** The translator of a binder: every string parameter is escaped with `md` (and a name the VM reported badly is said so). */
export function markdownSafe(t: Translate): Translate {
  return (key: string, params?: Params) => {
    if (!params) return t(key);
    const safe: Params = {};
    for (const [k, v] of Object.entries(params)) safe[k] = v === UNEXPECTED_NAME ? t('card.unexpectedName') : typeof v === 'string' ? md(v) : v;
    return t(key, safe);
  };
}

export const NBSP = '\u00a0';
