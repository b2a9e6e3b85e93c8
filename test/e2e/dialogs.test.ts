import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO_ROOT } from './support/bot';
import { USERS } from './support/playground';
import { sleep, waitUntil } from './support/net';
import { startSession, type E2ESession } from './support/session';

/**
 * The CIDR dialog of issue #17 against the real bot, with the Microsoft 365 Agents Playground
 * as the chat. Screenshots: test-artifacts/e2e/dialogs/.
 *
 * What the playground (0.2.28) cannot do, found in its client and server bundles and seen here:
 * - it has no dialogs for cards: its client logs "Task module (task/fetch) is not supported yet"
 *   for such a card, and a click on an Action.Submit sends nothing at all (no request leaves the
 *   page: the second step checks that the bot got nothing);
 * - its server's /_conversation/v1/invoke takes only adaptiveCard/action, message/submitAction
 *   and composeExtension/* invokes: no task/fetch, no task/submit.
 * So the dialog's invokes go to the bot as Teams sends them (task/fetch, task/submit, from Alex in
 * the playground's personal chat, replying to the findings card), each dialog the bot answers
 * with is rendered by the `adaptivecards` renderer in a second tab and photographed, and the
 * findings card's update is seen in the playground itself. Megan Bowen is the approver and never
 * decides: a request changes nothing on the VM, which the simulator's operation log shows.
 */

const FINDINGS = /Diagnosis of vm-exposed-02/;
const OPEN = 'Explain…';

let s: E2ESession;
let dialogTab: Page;
let shot = 100;

beforeAll(async () => {
  s = await startSession('dialogs', { botEnv: { APPROVER_IDS: USERS.megan.aadObjectId }, simulator: {} });
  dialogTab = await s.chat.page.context().newPage();
  await dialogTab.setViewportSize({ width: 600, height: 900 });
  await dialogTab.setContent(
    '<!doctype html><html><head><meta charset="utf-8"><style>body{margin:0;padding:24px;background:#8a8886;font-family:"Segoe UI",system-ui,sans-serif}' +
      '#frame{background:#fff;border-radius:8px;padding:8px 16px;max-width:540px}#title{font-weight:600;font-size:18px;margin:8px 0}</style></head>' +
      '<body><div id="frame"><div id="title"></div><div id="card"></div></div></body></html>',
  );
  const ac = join(REPO_ROOT, 'node_modules', 'adaptivecards', 'dist');
  await dialogTab.addStyleTag({ path: join(ac, 'adaptivecards.css') });
  await dialogTab.addScriptTag({ path: join(ac, 'adaptivecards.js') });
  await dialogTab.addScriptTag({ path: join(__dirname, 'support', 'render-card.js') });
});

afterAll(async () => {
  await s?.stop();
});

interface TaskAnswer {
  task?: { type?: string; value?: unknown };
}

/** A task/fetch or task/submit invoke from Alex in the personal chat, as Teams sends it; the bot's answer. */
async function taskInvoke(name: 'task/fetch' | 'task/submit', data: Record<string, unknown>, replyToId: string): Promise<TaskAnswer> {
  const res = await fetch(s.bot.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'invoke',
      name,
      id: `e2e-${name}-${Date.now()}`,
      channelId: 'msteams',
      serviceUrl: `http://localhost:${s.playground.port}/_connector`,
      locale: 'en-US',
      from: { id: USERS.alex.id, name: USERS.alex.name, aadObjectId: USERS.alex.aadObjectId },
      recipient: { id: 'rdp-doctor', name: 'RDP Doctor' },
      conversation: { id: 'a:e2e-personal-chat', conversationType: 'personal' },
      replyToId,
      value: { type: name, data, context: { theme: 'default' } },
    }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as TaskAnswer;
}

/** Shows a dialog the bot answered with (type continue) as Teams would, in the second tab; its text. */
async function showDialog(answer: TaskAnswer, step: string): Promise<{ text: string; card: Record<string, unknown> }> {
  expect(answer.task?.type).toBe('continue');
  const value = answer.task?.value as { title: string; card: { content: Record<string, unknown> } };
  await dialogTab.locator('#title').evaluate((el, title) => (el.textContent = title), value.title);
  // support/render-card.js runs in the page (browser code, not compiled with the tests)
  await dialogTab.evaluate((card) => (globalThis as unknown as { renderCard(j: unknown): unknown }).renderCard(card), value.card.content);
  await dialogTab.screenshot({ path: join(s.chat.artifactsDir, `${++shot}-dialog-${step}.png`), fullPage: true });
  return { text: await dialogTab.locator('#frame').innerText(), card: value.card.content };
}

const submitData = (card: Record<string, unknown>, typed: Record<string, unknown>) => {
  const submit = (card.actions as Array<{ type: string; data: Record<string, unknown> }>).find((a) => a.type === 'Action.Submit');
  return { ...submit!.data, ...typed };
};

test('the CIDR dialog from the findings card: a refused value inside the dialog, then a good one updates the card', async () => {
  // the findings card's id and its incident, as the playground sends them with the consent click
  let cardId = '';
  let incidentId = '';
  s.chat.page.on('request', (r) => {
    if (!r.url().endsWith('/_conversation/v1/invoke')) return;
    const body = JSON.parse(r.postData() ?? '{}') as { replyToId?: string; value?: { action?: { data?: { incidentId?: string } } } };
    cardId = body.replyToId ?? cardId;
    incidentId = body.value?.action?.data?.incidentId ?? incidentId;
  });
  await s.chat.openPersonalChat();
  await s.chat.send("I can't RDP to vm-exposed-02, internal error");
  await s.chat.waitForCardText(/Check vm-exposed-02\?/);
  await s.chat.clickCardButton('Run the diagnosis', { inCard: /Check vm-exposed-02\?/ });
  const findings = await s.chat.waitForCardText(FINDINGS, { timeoutMs: 60000 });
  expect(findings).toMatch(/Restrict the RDP source to your addresses/);
  expect(await s.chat.cardButtons(FINDINGS)).toEqual(expect.arrayContaining([OPEN, 'Request…']));
  expect(cardId).not.toBe('');
  await s.chat.screenshot('findings offer the dialog beside the inline inputs');

  // the playground has no dialogs: the click reaches nobody (what Teams does instead is below)
  const seen = s.proxy.seen.length;
  await s.chat.clickCardButton(OPEN, { inCard: FINDINGS });
  await sleep(3000);
  expect(s.proxy.seen.slice(seen)).toEqual([]);
  await s.chat.screenshot('the playground sends nothing for a task fetch button');

  const open = { msteams: { type: 'task/fetch' }, dialog: 'fix', fixId: 'restrict-rdp-source', incidentId };
  const opened = await showDialog(await taskInvoke('task/fetch', open, cardId), 'opened-no-address-offered');
  expect(opened.text).toMatch(/Only the addresses you give here may connect to Remote Desktop on vm-exposed-02/);
  expect(opened.text).toMatch(/RDP Doctor cannot see it/);

  const refused = await showDialog(await taskInvoke('task/submit', submitData(opened.card, { source: '203.0.113.7/24' }), cardId), 'bad-value-refused-inside');
  expect(refused.text).toMatch(/203\.0\.113\.7\/24 is not a network address; did you mean 203\.0\.113\.0\/24\?/);
  expect(await dialogTab.locator('#card input').first().inputValue()).toBe('203.0.113.7/24');

  const done = await taskInvoke('task/submit', submitData(refused.card, { source: '203.0.113.0/24' }), cardId);
  expect(done.task).toMatchObject({ type: 'message' });
  expect(String(done.task?.value)).toMatch(/No approver can receive requests yet|I sent your request/);
  await s.chat.waitForCardText(/Requested from this card: Restrict the RDP source to your addresses \(203\.0\.113\.0\/24\)/);
  await s.chat.screenshot('good value requested, the findings card updated in the playground');

  // a request changes nothing on the VM: only the diagnosis ran
  await waitUntil(async () => (await s.ranOn('vm-exposed-02')).length > 0, 'the operation log');
  expect(await s.ranOn('vm-exposed-02')).toEqual(['runCommand:diagnose']);
});

