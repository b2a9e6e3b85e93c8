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
  const t = new ACData.Template(template);
  const card = t.expand({ $root: data }) as CardJson;
  return card;
}

export function asAttachment(card: CardJson): Attachment {
  return CardFactory.adaptiveCard(card);
}

/** Teams' CodeBlock element with a monospace TextBlock fallback for clients that do not know it. */
export function codeBlock(code: string, language: 'PowerShell' | 'Json' | 'PlainText' = 'PowerShell'): Record<string, unknown> {
  return {
    type: 'CodeBlock',
    codeSnippet: code,
    language,
    fallback: { type: 'TextBlock', text: code, fontType: 'Monospace', wrap: true, size: 'Small' },
  };
}
