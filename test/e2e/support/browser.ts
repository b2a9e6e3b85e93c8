import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page, type Route } from 'playwright-core';
import { REPO_ROOT } from './bot';
import type { Playground } from './playground';

/**
 * Debian's Chromium driven by playwright-core, showing the playground's web client. Only loopback
 * requests leave the browser. Every helper waits for what a user would see, and a failed wait
 * leaves a screenshot named FAILED-... next to the step screenshots.
 */

export const ARTIFACTS_ROOT = join(REPO_ROOT, 'test-artifacts', 'e2e');

/** Chromium's flags for every e2e browser (the chat client here, the helpdesk tab's page in helpdesk-tab.test.ts). */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const SEL = {
  connected: 'text=Connected.',
  chat: (label: string) => `[role="treeitem"][aria-label="${label}"]`,
  textbox: '[contenteditable="true"][role="textbox"]',
  send: 'button[aria-label="Send Message"]',
  card: '.ac-adaptiveCard',
  // chats: one bubble per bot message; channels: one box per thread (the post and its replies)
  botMessage: '.fai-OutputCard, [role="group"].fui-Card',
  postButton: 'Post',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** What the playground answered the page for one card click (`POST /_conversation/v1/invoke`). */
export interface InvokeAnswer {
  /** 200, or 502 when the bot answered an error status (the playground then calls it a "UserBotError"). */
  status: number;
  body: string;
}

export interface ChatClient {
  page: Page;
  /** Answers to the page's card clicks, oldest first. */
  invokes: InvokeAnswer[];
  /** Non-loopback URLs the page tried to load (and did not). */
  blocked: string[];
  /** Non-loopback requests that got an answer anyway (must stay empty). */
  leaked: string[];
  /** Where this client's screenshots go. */
  artifactsDir: string;
  openPersonalChat(): Promise<void>;
  /** A chat or channel by its label in the left tree: "Group Chat", "Helpdesk - General", ... */
  openChat(label: string): Promise<void>;
  /**
   * Types into the compose box and sends, like a user. `mention`: starts with an @mention of
   * that display name picked from the mention pop-up (group chats reach the bot only so).
   */
  send(text: string, opts?: { mention?: string }): Promise<void>;
  /**
   * In a team channel: types into the "Start a new post" box and clicks `Post`, like a user
   * starting a thread (`mention` as for `send`; the bot gets channel messages only with it).
   */
  post(text: string, opts?: { mention?: string }): Promise<void>;
  /**
   * Waits until a card whose text matches is shown (with `count`: until that many such cards
   * are shown, e.g. one more than before); returns the newest such card's text.
   */
  waitForCardText(pattern: RegExp, opts?: { timeoutMs?: number; count?: number }): Promise<string>;
  /** How many cards of the open conversation match. */
  countCards(pattern: RegExp): Promise<number>;
  /**
   * Waits until a message of the bot (text or card) matching is shown in the conversation; in a
   * channel, until a thread (a post with its replies) shows it.
   */
  waitForMessageText(pattern: RegExp, opts?: { timeoutMs?: number }): Promise<void>;
  /** Clicks a card button (the newest one with that name, optionally in the newest card matching `inCard`). */
  clickCardButton(name: string, opts?: { inCard?: RegExp; timeoutMs?: number }): Promise<void>;
  /** Names of the buttons of the newest card (matching `inCard`), in card order. */
  cardButtons(inCard?: RegExp): Promise<string[]>;
  /**
   * Opens the newest item of the playground's log panel whose link reads `link` (e.g.
   * "invoke 400"), shows its Request or Response tab and returns that text (JSON).
   */
  logEntry(link: string, tab?: 'Request' | 'Response'): Promise<string>;
  /** Texts of every card in the open conversation, oldest first. */
  cardTexts(): Promise<string[]>;
  /**
   * From now on card clicks (Action.Execute, Action.Submit) are sent as this user (a `users` id
   * of the playground config); null = the config's current user again. Only where that user is
   * a member (group chat, team channels; the playground answers 400 in the personal chat).
   * Typed messages stay from the current user: the playground ignores their `from`; use the
   * activity proxy's `setUser` for those.
   */
  actAs(userId: string | null): void;
  /** Saves `NN-step.png`; returns its path. */
  screenshot(step: string): Promise<string>;
  close(): Promise<void>;
}

export function chromiumPath(): string {
  const p = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(p)) throw new Error(`${p} not found: install Debian's chromium (apt-get install -y chromium) or set E2E_CHROMIUM`);
  return p;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9а-яё]+/gi, '-').replace(/^-|-$/g, '').slice(0, 60);

export async function launchChatClient(playground: Playground, opts: { name: string; loadTimeoutMs?: number }): Promise<ChatClient> {
  const artifactsDir = join(ARTIFACTS_ROOT, opts.name);
  rmSync(artifactsDir, { recursive: true, force: true });
  mkdirSync(artifactsDir, { recursive: true });
  const userDataDir = mkdtempSync(join(tmpdir(), 'rdp-doctor-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1400, height: 1000 },
      locale: 'en-US',
      timezoneId: 'UTC',
    });
  } catch (e) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
  const blocked: string[] = [];
  await context.route('**/*', (route: Route) => {
    const url = new URL(route.request().url());
    if (LOOPBACK.has(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort('blockedbyclient');
  });
  const leaked: string[] = [];
  context.on('requestfinished', (req) => {
    const url = new URL(req.url());
    if (/^(https?|wss?):$/.test(url.protocol) && !LOOPBACK.has(url.hostname)) leaked.push(url.href);
  });
  const page = context.pages()[0] ?? (await context.newPage());

  const invokes: InvokeAnswer[] = [];
  page.on('response', (res) => {
    if (res.request().method() !== 'POST' || !res.url().endsWith('/_conversation/v1/invoke')) return;
    res.text().then(
      (body) => invokes.push({ status: res.status(), body }),
      () => invokes.push({ status: res.status(), body: '' }),
    );
  });

  let actingAs: string | null = null;
  await page.route('**/_conversation/v1/**', async (route: Route) => {
    const req = route.request();
    if (actingAs === null || req.method() !== 'POST') return route.fallback();
    const body = req.postDataJSON() as { from?: { id?: string } } | null;
    if (!body || typeof body !== 'object' || !body.from) return route.fallback();
    body.from = { ...body.from, id: actingAs };
    return route.continue({ postData: JSON.stringify(body) });
  });

  let shot = 0;
  const screenshot = async (step: string) => {
    shot++;
    const file = join(artifactsDir, `${String(shot).padStart(2, '0')}-${slug(step)}.png`);
    await page.screenshot({ path: file });
    return file;
  };
  const cards = () => page.locator(SEL.card);
  const cardTexts = () => cards().allInnerTexts();

  /** Runs a wait; on failure leaves a screenshot and says what the conversation showed. */
  const expecting = async <T>(what: string, wait: () => Promise<T>): Promise<T> => {
    try {
      return await wait();
    } catch (e) {
      const file = await screenshot(`FAILED-${what}`).catch(() => '(no screenshot)');
      const shown = await cardTexts().catch(() => [] as string[]);
      const brief = shown.map((t, i) => `  card ${i + 1}: ${t.replace(/\s+/g, ' ').slice(0, 300)}`).join('\n');
      throw new Error(`${what}: ${(e as Error).message.split('\n')[0]}\nscreenshot: ${file}\ncards shown:\n${brief || '  (none)'}`);
    }
  };

  await expecting('playground page loads', async () => {
    await page.goto(playground.url, { timeout: opts.loadTimeoutMs ?? 60000 });
    await page.locator(SEL.connected).first().waitFor({ timeout: opts.loadTimeoutMs ?? 60000 });
  });

  const openChat = async (label: string) => {
    await expecting(`open ${label}`, async () => {
      await page.locator(SEL.chat(label)).click();
      // a channel has several: the new-post box and one reply box per thread
      await page.locator(SEL.textbox).first().waitFor();
    });
  };

  const type = async (box: Locator, text: string, mention?: string) => {
    await box.click();
    if (mention) {
      await box.pressSequentially(`@${mention.slice(0, 3)}`);
      await page.locator('[role="menuitem"]').filter({ hasText: mention }).first().click();
      await box.pressSequentially(` ${text}`);
    } else {
      await box.fill(text);
    }
  };

  const newestCard = (pattern?: RegExp): Locator => (pattern ? cards().filter({ hasText: pattern }) : cards()).last();

  return {
    page,
    invokes,
    blocked,
    leaked,
    artifactsDir,
    openPersonalChat: () => openChat('Personal Chat'),
    openChat,
    async send(text, sendOpts = {}) {
      await expecting(`send "${text}"`, async () => {
        const box = page.locator(SEL.textbox);
        await type(box, text, sendOpts.mention);
        await page.locator(SEL.send).click();
        // the compose box empties once the playground has taken the message
        await page.waitForFunction(`(document.querySelector(${JSON.stringify(SEL.textbox)})?.textContent ?? '') === ''`, undefined, { timeout: 10000 });
      });
    },
    async post(text, postOpts = {}) {
      await expecting(`post "${text}"`, async () => {
        const composer = page.locator('.fui-Card').filter({ has: page.getByRole('button', { name: SEL.postButton, exact: true }) });
        const box = composer.locator(SEL.textbox);
        await type(box, text, postOpts.mention);
        await composer.getByRole('button', { name: SEL.postButton, exact: true }).click();
        // the box empties once the playground has taken the post
        const deadline = Date.now() + 10000;
        while (((await box.textContent()) ?? '').trim() !== '') {
          if (Date.now() > deadline) throw new Error('the new-post box did not empty');
          await page.waitForTimeout(50);
        }
      });
    },
    async waitForCardText(pattern, waitOpts = {}) {
      return expecting(`card ${pattern}`, async () => {
        const nth = (waitOpts.count ?? 1) - 1;
        await cards().filter({ hasText: pattern }).nth(nth).waitFor({ state: 'visible', timeout: waitOpts.timeoutMs ?? 30000 });
        const card = newestCard(pattern);
        await card.scrollIntoViewIfNeeded();
        return card.innerText();
      });
    },
    async waitForMessageText(pattern, waitOpts = {}) {
      await expecting(`message ${pattern}`, async () => {
        // the bot's bubbles; the log panel repeats message texts, so look only here
        const msg = page.locator(SEL.botMessage).filter({ hasText: pattern }).last();
        await msg.waitFor({ state: 'visible', timeout: waitOpts.timeoutMs ?? 30000 });
      });
    },
    async clickCardButton(name, clickOpts = {}) {
      await expecting(`click "${name}"`, async () => {
        const button = newestCard(clickOpts.inCard).getByRole('button', { name, exact: true }).last();
        await button.scrollIntoViewIfNeeded({ timeout: clickOpts.timeoutMs ?? 30000 });
        await button.click({ timeout: clickOpts.timeoutMs ?? 30000 });
      });
    },
    cardButtons: (inCard) =>
      newestCard(inCard)
        .getByRole('button')
        .evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? e.textContent ?? '')),
    async logEntry(link, tab = 'Response') {
      return expecting(`log entry "${link}"`, async () => {
        await page.getByText(link, { exact: true }).last().click();
        await page.getByRole('tab', { name: tab, exact: true }).click();
        // the details pane is the editable box next to the Request/Response tabs
        const details = page.getByRole('tablist').locator('xpath=../following-sibling::*[@contenteditable="true"][1]');
        await details.waitFor();
        return details.innerText();
      });
    },
    cardTexts,
    countCards: (pattern) => cards().filter({ hasText: pattern }).count(),
    actAs(userId) {
      actingAs = userId;
    },
    screenshot,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
