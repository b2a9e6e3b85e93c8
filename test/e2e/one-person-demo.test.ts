import { USERS } from './support/playground';
import { waitUntil } from './support/net';
import { startSession, type E2ESession } from './support/session';

/**
 * The README's one-person demo, followed literally in the Microsoft 365 Agents Playground:
 * `APPROVER_IDS=<Alex's object id> ALLOW_SELF_APPROVAL=true`, and Alex alone takes a fix from the
 * request to "Verified" in his personal chat. The simulated fleet runs as its own process; what
 * happened to the VM is read from its operation log. Screenshots: test-artifacts/e2e/one-person-demo/.
 */

const REQUEST_CARD = /Fix request: Enable TLS 1\.2 for servers \(restart\) on vm-tlsoff-06/;

let s: E2ESession;

beforeAll(async () => {
  s = await startSession('one-person-demo', {
    botEnv: { APPROVER_IDS: USERS.alex.aadObjectId, ALLOW_SELF_APPROVAL: 'true' },
    simulator: {},
  });
  await s.chat.openPersonalChat();
});

afterAll(async () => {
  await s?.stop();
});

test('one approver, alone: diagnosis, request, own approval, verified', async () => {
  s.proxy.setLocale('en-US');
  await s.chat.send("I can't RDP to vm-tlsoff-06, internal error");
  await s.chat.clickCardButton('Run the diagnosis', { inCard: /Check vm-tlsoff-06\?/ });
  await s.chat.waitForCardText(/Diagnosis of vm-tlsoff-06/, { timeoutMs: 60000 });
  await s.chat.clickCardButton('Request…', { inCard: /Diagnosis of vm-tlsoff-06/ });
  await s.chat.clickCardButton('Request this fix', { inCard: /Diagnosis of vm-tlsoff-06/ });
  // the only approver is chatting: no "No approver can receive requests yet"
  const request = await s.chat.waitForCardText(REQUEST_CARD);
  expect(request).not.toMatch(/No approver can receive requests/);
  await s.chat.screenshot('the request in the requester and approver own chat');

  // the posted copy is the base card; Alex, an approver, asks for his view and approves
  const buttons = await s.chat.cardButtons(REQUEST_CARD);
  if (!buttons.includes('Approve')) {
    await s.chat.clickCardButton('Approvers: decide', { inCard: REQUEST_CARD });
    await waitUntil(async () => (await s.chat.cardButtons(REQUEST_CARD)).includes('Approve'), 'the approver view', 15000);
  }
  await s.chat.clickCardButton('Approve', { inCard: REQUEST_CARD });
  const done = await s.chat.waitForCardText(/Verified: the problem is gone\./, { timeoutMs: 90000 });
  expect(done).toMatch(REQUEST_CARD);
  await s.chat.screenshot('verified in the one-person demo');

  expect(await s.ranOn('vm-tlsoff-06')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-tls', 'restart:', 'runCommand:diagnose']);
});
