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
  return breakFactValues(compiled(template).expand({ $root: data }) as CardJson);
}

export const ZWSP = '\u200b';
/** Characters after which a line may already break (besides spaces). */
const BREAKS = new Set([' ', '\n', '\t', '-', '/', ZWSP]);
const RUN = 20;

/**
 * Long words in a FactSet value push the card past a phone's edge: a FactSet is laid out as a
 * table, and a table cell is as wide as its longest word (the renderer's break-word does not
 * help there; test/e2e/phone-width.test.ts shows it at 336 px). A resource group of 90 letters,
 * a VM name of 64, a snapshot id: every run of more than 20 characters without a place to break
 * gets a zero-width space (U+200B) every 20 characters. Links and escapes are left whole; what
 * a user types back has zero-width characters removed (bot.ts normalizeText).
 */
export function breakable(text: string): string {
  if (text.length <= RUN || /\]\(|:\/\//.test(text)) return text;
  let out = '';
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    out += c;
    run = BREAKS.has(c) ? 0 : run + 1;
    // never between a backslash and what it escapes
    if (run >= RUN && c !== '\\' && i + 1 < text.length && !BREAKS.has(text[i + 1])) {
      out += ZWSP;
      run = 0;
    }
  }
  return out;
}

function breakFactValues(card: CardJson): CardJson {
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const o = node as Record<string, unknown>;
    if (o.type === 'FactSet' && Array.isArray(o.facts)) {
      for (const f of o.facts as Array<{ value?: unknown }>) if (typeof f.value === 'string') f.value = breakable(f.value);
    }
    for (const v of Object.values(o)) walk(v);
  };
  walk(card);
  return card;
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
