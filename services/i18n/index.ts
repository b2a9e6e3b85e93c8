import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandPlurals, formatDateTime, formatNumber, ISO_TIMESTAMP } from './format';

export { clientTimeZone, formatDateTime, formatNumber, formatSeconds, isTimeZone, pluralCategory, safeZone, UTC } from './format';

/**
 * English and Russian message catalogues. Each language is a folder under `locales/` holding
 * one JSON file per area (core.json, runbook.json, ...); the files are merged, and a key may
 * be defined in only one file. Keys are dotted paths into nested objects.
 */
export const LANGS = ['en', 'ru'] as const;
export type Lang = (typeof LANGS)[number];
export type Params = Record<string, string | number | boolean | null | undefined>;

type Catalogue = Map<string, string>;

function localesDir(): string {
  // dist/services/i18n -> ../../../locales ; services/i18n (ts-jest) -> ../../locales
  const candidates = [join(__dirname, '..', '..', 'locales'), join(__dirname, '..', '..', '..', 'locales')];
  for (const c of candidates) {
    try {
      readdirSync(join(c, 'en'));
      return c;
    } catch {
      /* try the next */
    }
  }
  throw new Error(`language catalogues not found near ${__dirname}`);
}

function flatten(prefix: string, node: unknown, out: Catalogue, file: string): void {
  if (typeof node === 'string') {
    if (out.has(prefix)) throw new Error(`catalogue key ${prefix} defined twice (again in ${file})`);
    out.set(prefix, node);
    return;
  }
  if (Array.isArray(node)) {
    // an array of strings is joined as lines (long texts read better as arrays in JSON)
    if (node.every((x) => typeof x === 'string')) return flatten(prefix, node.join('\n'), out, file);
    throw new Error(`catalogue ${file}: ${prefix} is an array of non-strings`);
  }
  if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) flatten(prefix ? `${prefix}.${k}` : k, v, out, file);
    return;
  }
  throw new Error(`catalogue ${file}: ${prefix} is neither a string nor an object`);
}

function loadLang(dir: string, lang: Lang): Catalogue {
  const out: Catalogue = new Map();
  const folder = join(dir, lang);
  for (const f of readdirSync(folder).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(folder, f);
    flatten('', JSON.parse(readFileSync(path, 'utf8')) as unknown, out, path);
  }
  return out;
}

let catalogues: Record<Lang, Catalogue> | undefined;

export function allCatalogues(): Record<Lang, Catalogue> {
  if (!catalogues) {
    const dir = localesDir();
    catalogues = { en: loadLang(dir, 'en'), ru: loadLang(dir, 'ru') };
  }
  return catalogues;
}

export function hasKey(lang: Lang, key: string): boolean {
  return allCatalogues()[lang].has(key);
}

/**
 * The message for `key` in `lang` with `{name}` placeholders filled. A missing key is a bug
 * (the catalogue test catches it); at run time it falls back to English, then to the key.
 * Counts pick their form from `{count, plural, one {...} other {...}}` (services/i18n/format.ts);
 * a parameter that is an ISO timestamp is shown as a date and time in the reader's zone `tz`
 * (UTC when not given), and a fractional number with the language's decimal separator.
 */
export function t(lang: Lang, key: string, params: Params = {}, tz?: string): string {
  const cats = allCatalogues();
  const template = cats[lang].get(key) ?? cats.en.get(key) ?? key;
  const source = cats[lang].has(key) ? lang : 'en';
  return expandPlurals(source, template, params).replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = params[name];
    if (v === undefined || v === null) return whole;
    if (typeof v === 'string' && ISO_TIMESTAMP.test(v)) return formatDateTime(source, tz, v);
    if (typeof v === 'number' && !Number.isInteger(v)) return formatNumber(source, v);
    return String(v);
  });
}

/** A translator bound to one language (and the reader's time zone, for dates). */
export type Translate = (key: string, params?: Params) => string;
export function translator(lang: Lang, tz?: string): Translate {
  return (key, params) => t(lang, key, params, tz);
}

const CYRILLIC = /[\u0400-\u04FF]/;

/**
 * The conversation language: the client's locale first (ru-* -> Russian, any other -> English),
 * else the script of the user's text (Cyrillic -> Russian), else English.
 */
export function pickLang(locale: string | undefined | null, text?: string | null): Lang {
  if (locale && /^[a-z]{2,3}([-_][A-Za-z0-9]+)*$/i.test(locale)) {
    return locale.toLowerCase().startsWith('ru') ? 'ru' : 'en';
  }
  if (text && CYRILLIC.test(text)) return 'ru';
  return 'en';
}
