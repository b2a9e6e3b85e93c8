import { startSession, type E2ESession } from './support/session';

/**
 * The real bot (dist/bot/index.js, demo mode) in the Microsoft 365 Agents Playground, driven
 * through Chromium like a user. Screenshots: test-artifacts/e2e/smoke/.
 */

let s: E2ESession;

beforeAll(async () => {
  s = await startSession('smoke');
});

afterAll(async () => {
  await s?.stop();
});

test('the playground shows the bot and only talks to this machine', async () => {
  await s.chat.openPersonalChat();
  await s.chat.screenshot('personal chat open');
  // the page asks a CDN for fonts: that is refused, and nothing else leaves the machine
  expect(s.chat.leaked).toEqual([]);
  const installs = s.proxy.seen.filter((a) => a.type === 'conversationUpdate' || a.type === 'installationUpdate');
  expect(installs.length).toBeGreaterThan(0);
  expect(installs.every((a) => a.status === 200)).toBe(true);
});

test('"help" in English shows the help card', async () => {
  s.proxy.setLocale('en-US');
  await s.chat.send('help');
  const card = await s.chat.waitForCardText(/What I can do/);
  expect(card).toMatch(/Describe the problem in your own words/);
  expect(card).toMatch(/Demo mode/);
  await s.chat.screenshot('help card in English');
});

test('"помощь" from a Russian client shows the help card in Russian', async () => {
  s.proxy.setLocale('ru-RU');
  await s.chat.send('помощь');
  const card = await s.chat.waitForCardText(/Что я умею/);
  expect(card).toMatch(/Опишите проблему своими словами/);
  expect(card).not.toMatch(/What I can do|Describe the problem/);
  await s.chat.screenshot('help card in Russian');
  const sent = s.proxy.seen.filter((a) => a.text === 'помощь');
  expect(sent.map((a) => a.locale)).toEqual(['ru-RU']);
});

test('without a client locale, Cyrillic text is answered in Russian', async () => {
  s.proxy.setLocale(null);
  const before = await s.chat.countCards(/Что я умею/);
  await s.chat.send('помощь');
  await s.chat.waitForCardText(/Что я умею/, { count: before + 1 });
  await s.chat.screenshot('help card in Russian without locale');
  expect(s.proxy.seen.filter((a) => a.text === 'помощь').at(-1)?.locale).toBeUndefined();
});
