import { USERS } from './support/playground';
import { waitUntil } from './support/net';
import { startSession, type E2ESession } from './support/session';

/**
 * The offline repair in the real client (issue #15, repair-card): the demo VM without a ready
 * agent -> findings -> "Repair offline (rescue VM)" -> the approval card with every step and every
 * resource and its cost -> approve -> the same card shows the repair's steps, then how it ended.
 * One-person demo settings (Alex approves his own request), the simulated fleet as its own
 * process; what happened to the VM is read from its operation log. Screenshots:
 * test-artifacts/e2e/repair/.
 */
const VM = 'vm-noagent-08';
const REQUEST_CARD = new RegExp(`Fix request: .+ on ${VM}`);

let s: E2ESession;

beforeAll(async () => {
  s = await startSession('repair', {
    botEnv: { APPROVER_IDS: USERS.alex.aadObjectId, ALLOW_SELF_APPROVAL: 'true' },
    simulator: {},
  });
  await s.chat.openPersonalChat();
});

afterAll(async () => {
  await s?.stop();
});

test('agent not ready: findings, Repair offline, the plan on the approval card, approve, repaired', async () => {
  s.proxy.setLocale('en-US');
  await s.chat.send(`I can't RDP to ${VM}, internal error`);
  await s.chat.clickCardButton('Run the diagnosis', { inCard: new RegExp(`Check ${VM}\\?`) });
  const findings = await s.chat.waitForCardText(new RegExp(`Diagnosis of ${VM}`), { timeoutMs: 60000 });
  expect(findings).toMatch(/The VM agent is not ready/);
  expect(findings).toMatch(/does not start far enough for the agent shows as this same finding/);
  expect(findings).toMatch(/Repair offline \(rescue VM\)/);
  expect(await s.chat.cardButtons(new RegExp(`Diagnosis of ${VM}`))).toEqual(expect.arrayContaining(['Request…', 'Offline repair guide']));
  await s.chat.screenshot('findings with Repair offline beside the offline guide');

  // the repair's Request… is the last one on the card: its section comes after the fixes run inside the VM
  await s.chat.clickCardButton('Request…', { inCard: new RegExp(`Diagnosis of ${VM}`) });
  await s.chat.screenshot('Repair offline opened: what it does');
  await s.chat.clickCardButton('Request this fix', { inCard: new RegExp(`Diagnosis of ${VM}`) });

  const request = await s.chat.waitForCardText(REQUEST_CARD);
  // the numbered steps are a Markdown list: the client renders it as an ordered list (the numbers are not text)
  expect(request).toMatch(/Steps, in order[\s\S]*Snapshot of the OS disk[\s\S]*Swap the VM's OS disk for the repaired copy[\s\S]*Remove the rescue VM/);
  expect(request).toMatch(/Rescue VM rdpd-[0-9a-f]{12}-rescue: a VM of the same size \(.+\), billed per minute while it runs/);
  expect(request).toMatch(/Network interface rdpd-[0-9a-f]{12}-rescue-nic: free/);
  expect(request).toMatch(/No public IP/);
  expect(request).toMatch(/The original OS disk .+ is not changed or deleted/);
  expect(request).toMatch(/Downtime: the VM is stopped \(deallocated\)/);
  await s.chat.screenshot('the approval card: every step, every resource and its cost');

  const buttons = await s.chat.cardButtons(REQUEST_CARD);
  if (!buttons.includes('Approve')) {
    await s.chat.clickCardButton('Approvers: decide', { inCard: REQUEST_CARD });
    await waitUntil(async () => (await s.chat.cardButtons(REQUEST_CARD)).includes('Approve'), 'the approver view', 15000);
  }
  await s.chat.clickCardButton('Approve', { inCard: REQUEST_CARD });
  await s.chat.waitForCardText(/The offline repair is running|Repaired:|The repair failed at/, { timeoutMs: 60000 });
  await s.chat.screenshot('the repair running: its steps on the card');

  const done = await s.chat.waitForCardText(/Repaired: the VM now runs on the repaired copy|The repair failed at/, { timeoutMs: 240000 });
  await s.chat.screenshot('the repair has ended');
  expect(done).toMatch(/Repaired: the VM now runs on the repaired copy of its OS disk\./);
  expect(done).toMatch(/The original OS disk .+ is kept: delete it when you are satisfied/);
  expect(done).toMatch(/✔ Swap the VM's OS disk for the repaired copy/);

  // the operation log, not the card: exactly one swap of the OS disk on the VM
  const ran = await s.ranOn(VM);
  expect(ran.filter((op) => op.startsWith('swapOsDisk:'))).toHaveLength(1);
}, 420000);
