import * as ACData from 'adaptivecards-templating';
import type { Attachment } from 'botbuilder';
import { CardFactory } from 'botbuilder';

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

export const NBSP = '\u00a0';
