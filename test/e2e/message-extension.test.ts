import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './support/bot';
import { startSession, type E2ESession } from './support/session';

/**
 * The message extension (issue #17, docs/teams-surfaces.md) in the Microsoft 365 Agents Playground,
 * driven through its own UI in Chromium. The playground does not read an app manifest: its "+"
 * button (compose box, "Trigger Message Extension App") offers a Search Command and each message's
 * "..." menu an Action Command, and the command id (and the search's parameter name) are typed in
 * there, as the manifest declares them (searchVm / vmName, diagnoseMessage).
 * One page for the file. Screenshots: test-artifacts/e2e/message-extension/.
 *
 * The demo fleet plus vm-certpk-01 (a copy of vm-certexpired-04), the VM the pasted complaint names.
 */

let s: E2ESession;
let fleetDir: string;
const COMPLAINT = 'не могу подключиться к vm-certpk-01 по RDP, внутренняя ошибка';

beforeAll(async () => {
  fleetDir = mkdtempSync(join(tmpdir(), 'rdp-doctor-e2e-fleet-'));
  const fleet = JSON.parse(readFileSync(join(REPO_ROOT, 'services', 'simulator', 'fleets', 'demo-fleet.json'), 'utf8')) as { vms: Array<{ name: string }> };
  fleet.vms.push({ ...structuredClone(fleet.vms.find((v) => v.name === 'vm-certexpired-04')!), name: 'vm-certpk-01' });
  writeFileSync(join(fleetDir, 'fleet.json'), JSON.stringify(fleet));
  s = await startSession('message-extension', { botEnv: { SIM_FLEET: join(fleetDir, 'fleet.json') } });
  await s.chat.openPersonalChat();
});

afterAll(async () => {
  await s?.stop();
  rmSync(fleetDir, { recursive: true, force: true });
});

test('search "VM": find a VM by part of its name, insert its card, and Diagnose from the card starts the consent flow', async () => {
  const page = s.chat.page;
  s.proxy.setLocale('en-US');
  await page.getByRole('button', { name: 'Trigger Message Extension App' }).last().click();
  await page.getByRole('menuitem', { name: /Search Command/ }).click();
  await page.getByText('Specify Command ID or Parameter').click();
  await page.getByPlaceholder('Command ID').fill('searchVm');
  await page.getByPlaceholder('Parameter name').fill('vmName');
  await page.getByPlaceholder('Enter a search term').fill('certexp');
  // the preview: the VM's name, its resource group and power state
  const result = page.getByText('vm-certexpired-04', { exact: true });
  await result.waitFor({ timeout: 30000 });
  await page.getByText('rg-demo · running', { exact: true }).waitFor();
  await s.chat.screenshot('search results');

  await result.click();
  await s.chat.screenshot('VM card inserted into the compose box');
  await page.locator('button[aria-label="Send Message"]').click();
  const card = await s.chat.waitForCardText(/Azure VM vm-certexpired-04/);
  expect(card).toMatch(/Resource group\s*rg-demo[\s\S]*Power state\s*running[\s\S]*Diagnose/);
  await s.chat.screenshot('VM card sent');

  await s.chat.clickCardButton('Diagnose', { inCard: /Azure VM vm-certexpired-04/ });
  const consent = await s.chat.waitForCardText(/Check vm-certexpired-04\?/);
  expect(consent).toMatch(/Read-only: nothing on the VM is changed\./);
  // the click's answer is a message under the shared card, which stays as it was
  await page.getByText('The consent card for vm-certexpired-04 is in this conversation.').waitFor();
  expect(await s.chat.countCards(/Azure VM vm-certexpired-04/)).toBe(1);
  await s.chat.screenshot('Diagnose clicked, consent card');

  const invokes = s.proxy.seen.filter((a) => a.type === 'invoke');
  expect(invokes.map((a) => [a.name, a.status])).toEqual([
    ['composeExtension/query', 200],
    ['adaptiveCard/action', 200],
  ]);
  // sending the card is sharing it: the bot did not read the inline-card placeholder as a request
  // (the log panel shows the placeholder; the bot's bubbles must not answer it)
  expect(await page.locator('.fai-OutputCard, [role="group"].fui-Card').filter({ hasText: /inline-compose-card|Which VM is it/ }).count()).toBe(0);
});

test('"Diagnose RDP" on a complaint pasted in a channel: the dialog names the VM and the symptom, Diagnose sends the consent card', async () => {
  const page = s.chat.page;
  // Alex's client is Russian from here on
  s.proxy.setLocale('ru-RU');
  await s.chat.openChat('Helpdesk - General');
  // posted without @mention: the bot does not hear it, as in Teams
  await s.chat.post(COMPLAINT);
  const message = page.locator('.fui-Card').filter({ hasText: COMPLAINT }).first();
  await message.waitFor();
  await s.chat.screenshot('complaint posted in the channel');

  await message.getByRole('button', { name: 'Show more information' }).click();
  await page.getByRole('menuitem', { name: 'Action Command' }).click();
  await page.getByPlaceholder('Input command id or leave blanks').fill('diagnoseMessage');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const dialog = page.locator('[role="dialog"]').filter({ hasText: 'vm-certpk-01' }).last();
  await dialog.getByText('В сообщении названа эта ВМ. Диагностировать её?').waitFor({ timeout: 30000 });
  const text = await dialog.innerText();
  expect(text).toMatch(/Похоже на: Произошла внутренняя ошибка/);
  expect(text).toMatch(/vm-certpk-01 \(rg-demo, работает\)/);
  await s.chat.screenshot('Diagnose RDP dialog');

  await dialog.getByRole('button', { name: 'Диагностика', exact: true }).click();
  // Alex has a personal chat with the bot (the search above was in it): the consent card goes there
  const done = page.locator('[role="dialog"]').filter({ hasText: 'Я отправил вам карточку согласия для vm-certpk-01 в личный чат со мной.' }).last();
  await done.waitFor({ timeout: 30000 });
  await s.chat.screenshot('dialog says where the consent card went');
  await done.getByRole('button', { name: 'Close' }).first().click();

  await s.chat.openPersonalChat();
  const consent = await s.chat.waitForCardText(/Проверить vm-certpk-01\?/);
  expect(consent).toMatch(/Произошла внутренняя ошибка/);
  await s.chat.screenshot('consent card in the personal chat');

  const invokes = s.proxy.seen.filter((a) => a.type === 'invoke' && /^composeExtension\/(fetchTask|submitAction)$/.test(a.name ?? ''));
  expect(invokes.map((a) => [a.name, a.status])).toEqual([
    ['composeExtension/fetchTask', 200],
    ['composeExtension/submitAction', 200],
  ]);
});
