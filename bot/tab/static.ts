import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { t, type Lang } from '../../services/i18n';

/**
 * What the helpdesk tab's page is made of: the page (web/tab/index.html, its words filled in
 * server-side), its script and style, and the two browser libraries it loads from the installed
 * packages (never copied into the repository): the Adaptive Cards renderer and the Teams JS SDK.
 */

const LIBRARIES: Record<string, string> = {
  'adaptivecards.min.js': 'adaptivecards/dist/adaptivecards.min.js',
  'MicrosoftTeams.min.js': '@microsoft/teams-js/dist/umd/MicrosoftTeams.min.js',
};
const OWN: Record<string, string> = { 'tab.js': 'tab.js', 'tab.css': 'tab.css' };
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

const loaded = new Map<string, { type: string; body: Buffer }>();

/** A file the page loads by its name under /tab/static/, or undefined for anything else. */
export function tabAsset(name: string): { type: string; body: Buffer } | undefined {
  const hit = loaded.get(name);
  if (hit) return hit;
  const path = Object.hasOwn(LIBRARIES, name) ? require.resolve(LIBRARIES[name]) : Object.hasOwn(OWN, name) ? join(webDir(), OWN[name]) : undefined;
  if (!path) return undefined;
  const asset = { type: TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream', body: readFileSync(path) };
  loaded.set(name, asset);
  return asset;
}

let template: string | undefined;

/** The page in `lang`: `{{t:key}}` is the catalogue's text (HTML-escaped), `{{lang}}` the language. */
export function tabPage(lang: Lang): string {
  template ??= readFileSync(join(webDir(), 'index.html'), 'utf8');
  return template.replace(/\{\{lang\}\}/g, lang).replace(/\{\{t:([\w.]+)\}\}/g, (_m, key: string) => escapeHtml(t(lang, key)));
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Teams may frame the tab (web, desktop, the cloud.microsoft domains), and so may the bot's own origin. */
export function frameAncestors(publicBaseUrl: string): string[] {
  const own = new URL(publicBaseUrl).origin;
  return ["'self'", own, 'https://teams.microsoft.com', 'https://*.teams.microsoft.com', 'https://*.cloud.microsoft'];
}

/**
 * The headers of every /tab answer: scripts from this server only (no inline script), framing by
 * Teams and the bot's origin only, no MIME sniffing, no referrer.
 */
export function securityHeaders(ancestors: string[]): Record<string, string> {
  return {
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      // teams-js reads Teams' list of valid host origins from Microsoft's CDN (a built-in list when it cannot)
      "connect-src 'self' https://res.cdn.office.net",
      "font-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      `frame-ancestors ${ancestors.join(' ')}`,
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

/** A caller on this machine (IPv4 loopback, IPv6 ::1, or IPv4 loopback mapped into IPv6). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** Where the page, its script and style are (web/tab at the repo root, beside dist/ when built). */
export function webDir(): string {
  const candidates = [join(__dirname, '..', '..', 'web', 'tab'), join(__dirname, '..', '..', '..', 'web', 'tab')];
  for (const c of candidates) {
    try {
      readFileSync(join(c, 'index.html'));
      return c;
    } catch {
      /* the next */
    }
  }
  throw new Error(`the helpdesk tab's page (web/tab) was not found near ${__dirname}`);
}
