import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CardJson } from '../../cards/render';
import { LANGS } from '../../services/i18n';
import { cards } from '../support/card-catalogue';
import { ARTIFACTS_ROOT } from './support/browser';
import { REPO_ROOT } from './support/bot';

/**
 * Every card the bot sends, at its worst (test/support/card-catalogue.ts: longest names, every
 * finding, every fix in every state), in English and Russian, rendered by the Adaptive Cards
 * renderer (the `adaptivecards` package, as Teams' web client) in Debian's Chromium at a phone's
 * width: a 360 px screen with Teams mobile's 12 px margins, so a 336 px card. A client without
 * CodeBlock (Teams mobile) shows its fallback, so the fallback is rendered.
 *
 * Nothing may be cut: no element reaches past the card's edges, and no element hides part of
 * its content (a button title with an ellipsis, a line that does not wrap, a column pushed out).
 * Screenshots of the cards: test-artifacts/e2e/phone-width/<lang>/.
 */

const PHONE = { width: 360, height: 800 };
const MARGIN = 12;
const ARTIFACTS = join(ARTIFACTS_ROOT, 'phone-width');

let browser: Browser;
let page: Page;

beforeAll(async () => {
  const exe = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(exe)) throw new Error(`${exe} not found: install Debian's chromium (apt-get install -y chromium) or set E2E_CHROMIUM`);
  rmSync(ARTIFACTS, { recursive: true, force: true });
  browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage({ viewport: PHONE, deviceScaleFactor: 1 });
  // nothing but the renderer: no network at all
  await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort('blockedbyclient')));
  await page.setContent(
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
      `<style>body{margin:0;padding:${MARGIN}px;font-family:"Segoe UI",system-ui,sans-serif;background:#f5f5f5}#card{background:#fff;border-radius:8px}</style>` +
      `</head><body><div id="card"></div></body></html>`,
  );
  const ac = join(REPO_ROOT, 'node_modules', 'adaptivecards', 'dist');
  await page.addStyleTag({ path: join(ac, 'adaptivecards.css') });
  await page.addScriptTag({ path: join(ac, 'adaptivecards.js') });
  await page.addScriptTag({ path: join(__dirname, 'support', 'render-card.js') });
});

afterAll(async () => {
  await browser?.close();
});

/** CodeBlock is a Teams extension: a client without it shows the fallback (card-validation.ts does the same). */
function withoutCodeBlocks(card: CardJson): unknown {
  return JSON.parse(JSON.stringify(card), (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: string }).type === 'CodeBlock' ? (v as { fallback?: unknown }).fallback : v,
  ) as unknown;
}

interface Rendered {
  width: number;
  cut: string[];
}

/** Renders one card into the page and lists what is cut. */
async function render(card: CardJson): Promise<Rendered> {
  // support/render-card.js runs in the page (browser code, not compiled with the tests)
  return page.evaluate((json) => (globalThis as unknown as { renderCard(j: unknown): Rendered }).renderCard(json), withoutCodeBlocks(card));
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
/** Screenshots of every kind of card, and of each fix's request and result (not all nine states of every fix). */
const shoot = (name: string) => !/ (rejected|expired|approved|running|failed|interrupted|pending, base card)$/.test(name);

describe.each(LANGS)('every card at a phone\'s width (%s)', (lang) => {
  it('renders at 336 px with nothing cut', async () => {
    const all = cards(lang);
    const dir = join(ARTIFACTS, lang);
    mkdirSync(dir, { recursive: true });
    const problems: string[] = [];
    for (const [name, card] of Object.entries(all)) {
      const r = await render(card);
      expect(r.width).toBe(PHONE.width - 2 * MARGIN);
      problems.push(...[...new Set(r.cut)].map((p) => `${name}: ${p}`));
      if (shoot(name) || r.cut.length) await page.locator('#card').screenshot({ path: join(dir, `${slug(name)}.png`) });
    }
    expect(problems).toEqual([]);
  });
});
