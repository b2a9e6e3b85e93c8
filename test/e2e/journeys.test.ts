import { startSession, type E2ESession } from './support/session';

/**
 * The journeys of issue 6, as a user does them in the Microsoft 365 Agents Playground against the
 * real bot (Run Command without latency). The simulated fleet runs as its own process, the bot
 * points at it as at any ARM endpoint, and its operation log (not the bot's words) says what ran
 * on each VM. One page for the file; each journey in the personal chat.
 * Screenshots: test-artifacts/e2e/journeys/.
 * The strings are the bot's catalogue texts (locales/en|ru/diagnosis.json).
 */

let s: E2ESession;

beforeAll(async () => {
  s = await startSession('journeys', { simulator: {} });
  await s.chat.openPersonalChat();
});

afterAll(async () => {
  await s?.stop();
});

test('journey 1 (English): internal error on vm-certexpired-04 -> consent -> findings name the expired RDP certificate', async () => {
  s.proxy.setLocale('en-US');
  await s.chat.send("I can't RDP to vm-certexpired-04, internal error");
  const consent = await s.chat.waitForCardText(/Check vm-certexpired-04\?/);
  expect(consent).toMatch(/Read-only: nothing on the VM is changed\./);
  await s.chat.screenshot('journey 1 consent card');

  await s.chat.clickCardButton('Run the diagnosis', { inCard: /Check vm-certexpired-04\?/ });
  const findings = await s.chat.waitForCardText(/Diagnosis of vm-certexpired-04/, { timeoutMs: 60000 });
  expect(findings).toMatch(/The RDP certificate has expired/);
  expect(findings).toMatch(/Renew the RDP certificate/);
  // the consent card itself became the findings (updated in place), it is not left clickable
  expect(await s.chat.countCards(/Check vm-certexpired-04\?/)).toBe(0);
  await s.chat.waitForMessageText(/The diagnosis of vm-certexpired-04 is ready/);
  await s.chat.screenshot('journey 1 findings card');

  const click = s.proxy.seen.find((a) => a.type === 'invoke' && a.name === 'adaptiveCard/action');
  expect(click?.status).toBe(200);
  // exactly one read-only Run Command reached the VM, nothing else ran on it
  expect(await s.ranOn('vm-certexpired-04')).toEqual(['runCommand:diagnose']);
});

test('journey 2 (Russian client): vm-tlsoff-06 -> «Проверить» -> findings name TLS 1.2 disabled', async () => {
  s.proxy.setLocale('ru-RU');
  await s.chat.send('не могу подключиться по RDP к vm-tlsoff-06, внутренняя ошибка');
  const consent = await s.chat.waitForCardText(/Проверить vm-tlsoff-06\?/);
  expect(consent).not.toMatch(/Run the diagnosis|Read-only/);
  await s.chat.screenshot('journey 2 consent card in Russian');

  await s.chat.clickCardButton('Проверить', { inCard: /Проверить vm-tlsoff-06\?/ });
  const findings = await s.chat.waitForCardText(/TLS 1\.2 отключён для сервера/, { timeoutMs: 60000 });
  expect(findings).toMatch(/vm-tlsoff-06/);
  expect(findings).not.toMatch(/TLS 1\.2 is disabled|Evidence|Fixes/);
  await s.chat.waitForMessageText(/Диагностика vm-tlsoff-06 готова/);
  await s.chat.screenshot('journey 2 findings card in Russian');

  const ruTurns = s.proxy.seen.filter((a) => a.locale === 'ru-RU');
  expect(ruTurns.some((a) => a.type === 'invoke' && a.status === 200)).toBe(true);
  expect(await s.ranOn('vm-tlsoff-06')).toEqual(['runCommand:diagnose']);
});
