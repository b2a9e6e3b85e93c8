/**
 * Dates, times, numbers and plurals as a reader of each language expects them.
 *
 * - English: `29 Nov 2026, 15:28 UTC` (en-GB with the month's name: a numeric date reads
 *   differently in the US and in the UK, a month's name does not; 24-hour clock as in Azure's
 *   logs). Russian: `29.11.2026 15:28 UTC` (ru-RU).
 * - The time zone is the reader's: the IANA name the client sends (`localTimezone`), else a
 *   whole-hour offset from its `localTimestamp`, else UTC. The zone is always named after the
 *   time (a card may be read by someone else in the chat).
 * - Decimal numbers use the language's separator (8.3 s, 8,3 с); integers stay as they are
 *   (ports, ids and priorities are not quantities to group).
 */
import type { Lang } from './index';

export const UTC = 'UTC';

const LOCALE: Record<Lang, string> = { en: 'en-GB', ru: 'ru-RU' };
const PLURAL_LOCALE: Record<Lang, string> = { en: 'en', ru: 'ru' };

const zoneCache = new Map<string, boolean>();

/** True when `tz` is a time zone name this runtime knows (a tampered activity may send anything). */
export function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz.length === 0 || tz.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(tz)) return false;
  let ok = zoneCache.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    if (zoneCache.size < 1000) zoneCache.set(tz, ok);
  }
  return ok;
}

/**
 * The reader's time zone from what a Bot Framework client sends with an activity: the IANA name
 * (`localTimezone`, Teams sends it), else the whole-hour offset of `localTimestamp`, else UTC.
 */
export function clientTimeZone(
  activity: { localTimezone?: unknown; localTimestamp?: unknown; rawLocalTimestamp?: unknown } | null | undefined,
): string {
  if (!activity) return UTC;
  if (isTimeZone(activity.localTimezone)) return activity.localTimezone;
  // botbuilder parses localTimestamp into a Date (which loses the offset) and keeps the text in rawLocalTimestamp
  const stamp = typeof activity.rawLocalTimestamp === 'string' ? activity.rawLocalTimestamp : activity.localTimestamp;
  const text = typeof stamp === 'string' ? stamp.slice(0, 40) : null;
  const m = text ? /([+-])(\d{2}):?(\d{2})$/.exec(text) : null;
  if (m && m[3] === '00') {
    const hours = Number(m[2]);
    // Etc/GMT zones have the sign inverted (POSIX): UTC+03:00 is Etc/GMT-3
    if (hours === 0) return UTC;
    if (hours <= 14) return `Etc/GMT${m[1] === '+' ? '-' : '+'}${hours}`;
  }
  return UTC;
}

/** A time zone that is safe to format with: the given one when valid, else UTC. */
export function safeZone(tz: string | null | undefined): string {
  return tz && isTimeZone(tz) ? tz : UTC;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(lang: Lang, tz: string): Intl.DateTimeFormat {
  const key = `${lang}|${tz}`;
  let f = dateFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(LOCALE[lang], {
      timeZone: tz,
      year: 'numeric',
      month: lang === 'en' ? 'short' : '2-digit',
      day: lang === 'en' ? 'numeric' : '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    if (dateFormats.size < 500) dateFormats.set(key, f);
  }
  return f;
}

/** A moment as the reader reads it: `29 Nov 2026, 16:28 CET`, `29.11.2026 18:28 GMT+3`; UTC is named `UTC`. */
export function formatDateTime(lang: Lang, tz: string | null | undefined, when: Date | string): string {
  const date = typeof when === 'string' ? new Date(when) : when;
  if (Number.isNaN(date.getTime())) return String(when);
  const zone = safeZone(tz);
  const parts = dateFormat(lang, zone).formatToParts(date);
  return parts
    .map((p) => {
      if (p.type === 'timeZoneName') return zone === UTC ? UTC : p.value;
      // Russian: «29.11.2026 15:28», without the comma ICU puts between the date and the time
      if (p.type === 'literal' && lang === 'ru' && p.value.trim() === ',') return ' ';
      return p.value;
    })
    .join('');
}

/** A decimal number with the language's separator: 8.3 / 8,3. */
export function formatNumber(lang: Lang, n: number, fractionDigits = 1): string {
  return numberFormat(lang, 0, fractionDigits).format(n);
}

// Building an Intl formatter costs far more than using one (the bench profile): one per language and shape.
const numberFormats = new Map<string, Intl.NumberFormat>();
function numberFormat(lang: Lang, min: number, max: number): Intl.NumberFormat {
  const key = `${lang}|${min}|${max}`;
  let f = numberFormats.get(key);
  if (!f) {
    f = new Intl.NumberFormat(LOCALE[lang], { minimumFractionDigits: min, maximumFractionDigits: max, useGrouping: false });
    if (numberFormats.size < 50) numberFormats.set(key, f);
  }
  return f;
}
const pluralRules: Record<Lang, Intl.PluralRules> = { en: new Intl.PluralRules(PLURAL_LOCALE.en), ru: new Intl.PluralRules(PLURAL_LOCALE.ru) };

/** Seconds from milliseconds, one decimal: `8.3` / `8,3` (the unit is in the message). */
export function formatSeconds(lang: Lang, ms: number): string {
  return numberFormat(lang, 1, 1).format(ms / 1000);
}

/** The plural category of a count in a language (`one`, `few`, `many`, `other`); "2000+" counts as 2000. */
export function pluralCategory(lang: Lang, count: number | string): Intl.LDMLPluralRule {
  const n = typeof count === 'number' ? count : Number(String(count).replace(/[^\d.]/g, ''));
  return pluralRules[lang].select(Number.isFinite(n) ? n : 0);
}

/** The plural categories each language's catalogue must give in a `{n, plural, ...}` form. */
export const PLURAL_CATEGORIES: Record<Lang, string[]> = { en: ['one', 'other'], ru: ['one', 'few', 'many', 'other'] };

/** A strict ISO 8601 timestamp with its zone (what Azure, the scripts and the store write). */
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Expands ICU-style plural forms in a message: `{count, plural, one {# problem} other {# problems}}`
 * (also `=0 {...}` for an exact value). `#` is the count itself. Other placeholders inside a case
 * are left for the caller to fill.
 */
export function expandPlurals(lang: Lang, template: string, params: Record<string, unknown>): string {
  let out = '';
  let i = 0;
  const head = /\{(\w+)\s*,\s*plural\s*,/g;
  for (;;) {
    head.lastIndex = i;
    const m = head.exec(template);
    if (!m) break;
    out += template.slice(i, m.index);
    const parsed = parseCases(template, m.index + m[0].length);
    if (!parsed) {
      // not a well-formed plural: leave the rest as it is
      out += template.slice(m.index);
      return out;
    }
    const value = params[m[1]];
    const chosen = pickCase(lang, parsed.cases, value);
    const shown = typeof value === 'number' ? String(value) : String(value ?? '');
    out += chosen === undefined ? `{${m[1]}}` : chosen.replace(/#/g, shown);
    i = parsed.end;
  }
  return out + template.slice(i);
}

function parseCases(s: string, from: number): { cases: Map<string, string>; end: number } | null {
  const cases = new Map<string, string>();
  let i = from;
  for (;;) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (s[i] === '}') return { cases, end: i + 1 };
    const sel = /^(=\d+|[a-z]+)\s*\{/.exec(s.slice(i));
    if (!sel) return null;
    i += sel[0].length;
    let depth = 1;
    const start = i;
    while (i < s.length && depth > 0) {
      if (s[i] === '{') depth++;
      else if (s[i] === '}') depth--;
      i++;
    }
    if (depth !== 0) return null;
    cases.set(sel[1], s.slice(start, i - 1));
  }
}

function pickCase(lang: Lang, cases: Map<string, string>, value: unknown): string | undefined {
  const n = typeof value === 'number' ? value : Number(String(value ?? '').replace(/[^\d.]/g, ''));
  if (typeof value === 'number' && cases.has(`=${n}`)) return cases.get(`=${n}`);
  return cases.get(pluralCategory(lang, typeof value === 'number' || typeof value === 'string' ? value : 0)) ?? cases.get('other');
}
