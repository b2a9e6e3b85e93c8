import { detectSymptom, vmQueryCandidates } from './intake-text';
import type { Symptom } from '../services/incidents/model';

/** Teams' limit for a message a person can send (bot/bot.ts MAX_MESSAGE_CHARS); more is never read. */
const MAX_READ_CHARS = 28000;
/** VM names read from one message: each is a Resource Graph search against the person's hourly limit. */
export const MAX_MESSAGE_VMS = 3;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', laquo: '«', raquo: '»' };

/**
 * A Teams message body as plain text: Teams sends it as HTML (`messagePayload.body.content`,
 * contentType "html"): line-level tags become line breaks, other tags go, entities are decoded,
 * zero-width characters (cards/render.ts breakable) are dropped. Plain text passes through.
 */
export function messageText(content: unknown, contentType?: unknown): string {
  if (typeof content !== 'string') return '';
  let text = content.slice(0, MAX_READ_CHARS * 2);
  if (contentType !== 'text') {
    text = text
      .replace(/<(?:br|\/p|\/div|\/li|\/h\d|\/tr)\b[^>]{0,200}>/gi, '\n')
      .replace(/<[^>]{0,2000}>/g, ' ')
      .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
        if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? whole;
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
      });
  }
  return text
    .replace(/[\u200b-\u200d\u2060\ufeff]/g, '')
    .replace(/\u00a0/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .trim()
    .slice(0, MAX_READ_CHARS);
}

/** What a pasted complaint says: the VM names (or resource ids) it may mean, and the symptom. */
export interface MessageReading {
  text: string;
  vmQueries: string[];
  symptom: Symptom;
}

/** Reads a message the way the intake reads a first message (dialogs/intake-text.ts), English or Russian. */
export function readComplaint(content: unknown, contentType?: unknown): MessageReading {
  const text = messageText(content, contentType);
  const detected = detectSymptom(text);
  return { text, vmQueries: vmQueryCandidates(text, MAX_MESSAGE_VMS), symptom: detected ?? 'not-stated' };
}

const INLINE_CARD = /<span\b[^>]{0,500}itemtype="http:\/\/schema\.skype\.com\/InputExtension"[^>]{0,500}>[\s\S]{0,2000}?<\/span>/gi;

/**
 * A message that only shares a card (a VM card inserted by the message extension and sent): Teams
 * puts the card in an attachment and, in the text, an inline-card placeholder. Not a request to
 * the bot, so the bot says nothing to it (the intake would read the placeholder as a VM name).
 */
export function sharesCardOnly(text: unknown, attachments: unknown): boolean {
  const card = Array.isArray(attachments) && attachments.some((a) => (a as { contentType?: unknown } | null)?.contentType === 'application/vnd.microsoft.card.adaptive');
  if (!card) return false;
  return messageText(typeof text === 'string' ? text.slice(0, MAX_READ_CHARS).replace(INLINE_CARD, ' ') : '', 'html') === '';
}
