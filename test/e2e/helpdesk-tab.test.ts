import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Route } from 'playwright-core';
import { TestConnector } from '../support/connector';
import { actionData, cardOf } from '../support/journey';
import { startSimulatorProcess, type SimulatorProcess } from '../support/processes';
import { sqliteRecords } from '../support/quiescence';
import { startBot, type RunningBot } from './support/bot';
import { ARTIFACTS_ROOT, CHROMIUM_FLAGS, chromiumPath } from './support/browser';
import { waitUntil } from './support/net';
import { readFileSync } from 'node:fs';
import { REPO_ROOT } from './support/bot';

/**
 * The helpdesk tab (issue #17) in Debian's Chromium, against the built bot (no app id: local
 * development, so the page names its user with `?as=`). The fleet runs as its own process: what
 * ran on a VM is read from its operation log once the bot's job queue is empty. A request is
 * prepared through the bot's chat API (a local channel), then the page shows it; screenshots in
 * test-artifacts/e2e/helpdesk-tab/.
 */
const NAME = 'helpdesk-tab';
const APPROVER = '00000000-0000-4000-8000-0000000000b2';
const END_USER = '00000000-0000-4000-8000-0000000000a0';
const STRANGER = '00000000-0000-4000-8000-0000000000c9';
const artifacts = join(ARTIFACTS_ROOT, NAME);

let sim: SimulatorProcess;
let bot: RunningBot;
let connector: TestConnector;
let context: BrowserContext;
let page: Page;
let userDir: string;
let shot = 0;
const cspViolations: string[] = [];
const pageErrors: string[] = [];

async function screenshot(step: string): Promise<void> {
  const file = join(artifacts, `${String(++shot).padStart(2, '0')}-${step.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

let seq = 0;
/** An activity from `aad` in their personal chat, posted to the bot as a local channel would. */
async function post(aad: string, body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const res = await fetch(bot.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: `tab-${++seq}`,
      channelId: 'msteams',
      serviceUrl: connector.url,
      locale: 'en-US',
      from: { id: `29:${aad}`, name: aad === APPROVER ? 'Helpdesk Hana' : 'Alex User', aadObjectId: aad },
      recipient: { id: '28:rdp-doctor', name: 'RDP Doctor' },
      conversation: { id: `a:${aad}`, conversationType: 'personal', tenantId: 'tenant-1' },
      ...body,
    }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}
const invoke = (verb: string, data: Record<string, unknown>) => ({ type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' } });

async function ranOn(vm: string): Promise<string[]> {
  // judged once nothing can still run: no job queued or running in the bot's store
  await sqliteRecords(bot.dataDir).settled(60000);
  return (await sim.operations()).filter((o) => o.vm === vm && o.kind !== 'read').map((o) => `${o.kind}:${o.scriptId ?? ''}`);
}

beforeAll(async () => {
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  sim = await startSimulatorProcess({ latencyMs: 0 });
  const fleet = JSON.parse(readFileSync(join(REPO_ROOT, 'services', 'simulator', 'fleets', 'demo-fleet.json'), 'utf8')) as { subscriptionId: string };
  bot = await startBot({ env: { APPROVER_IDS: APPROVER, AZURE_ARM_ENDPOINT: sim.endpoint, AZURE_ARM_CA_FILE: sim.caFile, AZURE_SUBSCRIPTION_IDS: fleet.subscriptionId } });
  connector = new TestConnector();
  await connector.start();

  // the approver has chatted once (the bot knows their name); the end user reports vm-tlsoff-06 and asks for the fix
  await post(APPROVER, { type: 'message', text: 'help' });
  await post(END_USER, { type: 'message', text: 'Internal error when I RDP to vm-tlsoff-06' });
  const consent = await connector.waitFor((all) => all.find((c) => /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))), 60000);
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
  await post(END_USER, invoke('diagnose.start', { incidentId }));
  await connector.waitFor((all) => all.find((c) => c.kind === 'update' && /fix\.request/.test(JSON.stringify(cardOf(c) ?? ''))), 90000);
  const requested = await post(END_USER, invoke('fix.request', { incidentId, fixId: 'enable-tls', tls10: 'false', tls11: 'false' }));
  expect(requested.status).toBe(200);

  userDir = mkdtempSync(join(tmpdir(), 'rdp-doctor-tab-chromium-'));
  context = await chromium.launchPersistentContext(userDir, { executablePath: chromiumPath(), headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1300, height: 1000 }, locale: 'en-US', timezoneId: 'UTC' });
  // only this machine: the page must need nothing from the Internet
  await context.route('**/*', (route: Route) => (/^http:\/\/127\.0\.0\.1[:/]/.test(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // the page once, as the approver
  await page.goto(`http://127.0.0.1:${bot.port}/tab?as=${APPROVER}`);
  await page.waitForSelector('body[data-state="ready"]', { timeout: 60000 });
}, 300000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (userDir) rmSync(userDir, { recursive: true, force: true });
  await connector?.stop();
  await bot?.stop({ saveOutputTo: join(artifacts, 'bot.log') });
  await sim?.stop();
});

const approvalCard = () => page.locator('#approvals .card-box', { hasText: 'Fix request: Enable TLS 1.2 for servers (restart) on vm-tlsoff-06' });

test('the open incident, the pending approval and the audit trail render as the chat\'s cards', async () => {
  expect(await page.locator('#who').innerText()).toMatch(/Signed in as Helpdesk Hana \(helpdesk approver\)/);
  expect(await page.locator('#incidents .ac-adaptiveCard').innerText()).toMatch(/vm-tlsoff-06/);
  // the cards' markdown as Teams shows it: the VM's name in bold, not between asterisks
  expect(await page.locator('#incidents .ac-adaptiveCard strong').first().innerText()).toBe('vm-tlsoff-06');
  await approvalCard().locator('.ac-adaptiveCard').waitFor();
  expect(await approvalCard().getByRole('button', { name: 'Approve' }).count()).toBe(1);
  await screenshot('incidents and approvals');

  await page.fill('#vm', 'vm-tlsoff-06');
  await page.click('#audit-form button[type="submit"]');
  await page.locator('#audit .ac-adaptiveCard', { hasText: 'approval.requested' }).waitFor({ timeout: 30000 });
  expect(await page.locator('#audit .ac-adaptiveCard').innerText()).toMatch(/History of vm-tlsoff-06[\s\S]*diagnosis\.completed/);
  await screenshot('audit trail of vm-tlsoff-06');
  expect(cspViolations).toEqual([]);
  expect(pageErrors).toEqual([]);
});

test("a non-approver's Approve is refused on screen and runs nothing", async () => {
  // the same page, its next call made as someone who is not an approver (a stale page, a forged click)
  const asStranger = async (route: Route) => route.continue({ headers: { ...route.request().headers(), 'x-tab-as': STRANGER } });
  await page.route('**/tab/api/approvals/*/approve*', asStranger);
  try {
    await approvalCard().getByRole('button', { name: 'Approve' }).click();
    await approvalCard().locator('.card-msg.error').waitFor({ timeout: 30000 });
    expect(await approvalCard().locator('.card-msg').innerText()).toMatch(/only configured helpdesk approvers can decide on fix requests/);
    await screenshot('non-approver approve refused');
  } finally {
    await page.unroute('**/tab/api/approvals/*/approve*', asStranger);
  }
  expect(await ranOn('vm-tlsoff-06')).toEqual(['runCommand:diagnose']);
});

test("the approver's Approve runs the fix once (operation log)", async () => {
  await approvalCard().getByRole('button', { name: 'Approve' }).click();
  await page.locator('#approvals .card-msg.ok').waitFor({ timeout: 30000 });
  expect(await page.locator('#approvals .card-msg.ok').innerText()).toMatch(/Approved: Enable TLS 1\.2 for servers \(restart\) on vm-tlsoff-06 is queued/);
  // the card the answer carries has no buttons left
  expect(await page.locator('#approvals .card-box[data-outcome="ok"]').getByRole('button', { name: 'Approve' }).count()).toBe(0);
  await screenshot('approved in the tab');
  expect(await ranOn('vm-tlsoff-06')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-tls', 'restart:', 'runCommand:diagnose']);
  // what the page shows after the run: the request is no longer pending
  await page.click('#reload');
  await page.waitForSelector('body[data-state="ready"]');
  await waitUntil(async () => (await page.locator('#approvals .msg').innerText()).includes('No fix request is waiting'), 'the approvals list to be empty', 30000);
  await screenshot('after the fix ran');
  expect(cspViolations).toEqual([]);
});
