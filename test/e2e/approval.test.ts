import { USERS } from './support/playground';
import { waitUntil } from './support/net';
import { startSession, type E2ESession } from './support/session';

/**
 * Journey 3 of issue 6: a fix request approved by a second person, in the Microsoft 365 Agents
 * Playground against the real bot (demo mode, snapshot before the fix as by default). Megan
 * Bowen is the only approver (APPROVER_IDS = her Entra object id); Alex Wilber reports the
 * problem. Screenshots: test-artifacts/e2e/approval/.
 *
 * What the playground cannot do, and how the test does it instead:
 * - messages typed in its UI always come from its current user (Alex): Megan's channel posts are
 *   typed in the UI and re-attributed to her by the activity proxy (`proxy.setUser`);
 * - card clicks are sent as Megan (or Alex) with `chat.actAs`, which the playground honours in channels;
 * - no per-user card views (refresh.userIds): the channel copy shows its base card, the approver view.
 * Strings: locales/en/fixes.json and diagnosis.json.
 */

const APPROVALS = 'Helpdesk - Approvals';
const REQUEST_CARD = /Fix request: Enable TLS 1\.2 for servers \(restart\) on vm-tlsoff-06/;
const ASK = 'Approvers: decide';
// the fix is named in the card's body; its button only opens the request (a full name would be cut on a phone)
const FIX = 'Enable TLS 1.2 for servers (restart)';
const OPEN_REQUEST = 'Request…';
const RUN_COMMAND_MS = 1500;

let s: E2ESession;

beforeAll(async () => {
  s = await startSession('approval', {
    botEnv: { APPROVER_IDS: USERS.megan.aadObjectId },
    // the fleet as its own process, whose operation log says what ran; Run Command takes a
    // moment, as on Azure, so the card can be seen while the fix runs
    simulator: { latencyMs: RUN_COMMAND_MS },
  });
});

afterAll(async () => {
  await s?.stop();
});

/**
 * Posts in the open channel as Megan: typed in the UI, attributed to her by the proxy until the
 * bot has got it (the playground forwards it after the compose box has emptied).
 */
async function postAsMegan(text: string): Promise<void> {
  const messages = () => s.proxy.seen.filter((a) => a.type === 'message').length;
  const before = messages();
  s.proxy.setUser(USERS.megan);
  try {
    await s.chat.post(text, { mention: 'RDP Doctor' });
    await waitUntil(() => messages() > before, `the bot to get "${text}"`);
  } finally {
    s.proxy.setUser(null);
  }
}

const invokesFrom = (userId: string) => s.proxy.seen.filter((a) => a.type === 'invoke' && a.fromId === userId);

test('the approver makes the Approvals channel the place for approval requests', async () => {
  s.proxy.setLocale('en-US');
  await s.chat.openChat(APPROVALS);
  await postAsMegan('approvals here');
  await s.chat.waitForMessageText(/Approval requests will be posted in this channel\./);
  await s.chat.screenshot('approvals here posted by the approver in the channel');
  const post = s.proxy.seen.find((a) => a.type === 'message' && /approvals here/.test(a.text ?? ''));
  expect(post).toMatchObject({ fromId: USERS.megan.id, status: 200 });
  expect(post?.conversationId).toMatch(/^19:e2e-helpdesk-approvals@thread\.tacv2;messageid=/);
});

test('the end user asks for the fix from the findings and sees the request without Approve', async () => {
  await s.chat.openPersonalChat();
  await s.chat.send("I can't RDP to vm-tlsoff-06, internal error");
  await s.chat.waitForCardText(/Check vm-tlsoff-06\?/);
  await s.chat.clickCardButton('Run the diagnosis', { inCard: /Check vm-tlsoff-06\?/ });
  const findings = await s.chat.waitForCardText(/Diagnosis of vm-tlsoff-06/, { timeoutMs: 60000 });
  expect(findings).toMatch(/TLS 1\.2 is disabled for servers/);
  expect(findings).toContain(FIX);
  await s.chat.screenshot('findings with the fixes section');

  // vm-tlsoff-06 needs one fix: the one "Request…" on the card is its
  await s.chat.clickCardButton(OPEN_REQUEST, { inCard: /Diagnosis of vm-tlsoff-06/ });
  await s.chat.waitForCardText(/Also enable TLS 1\.0 \(deprecated, not recommended\)/);
  await s.chat.screenshot('fix opened with its options');
  await s.chat.clickCardButton('Request this fix', { inCard: /Diagnosis of vm-tlsoff-06/ });
  // the invoke's answer is shown on the clicked card
  await s.chat.waitForMessageText(/I sent your request to the helpdesk approvers/);
  const mine = await s.chat.waitForCardText(REQUEST_CARD);
  expect(mine).toMatch(/Waiting for a helpdesk approver\.[\s\S]*Requested by\s+Alex Wilber[\s\S]*TLS 1\.0\s+No[\s\S]*TLS 1\.1\s+No/);
  // the script is not on the card: its hash, and a link to the exact text the bot serves
  expect(mine).toMatch(/\d+ lines, SHA-256 [0-9a-f]{64}/);
  const buttons = await s.chat.cardButtons(REQUEST_CARD);
  expect(buttons).not.toContain('Approve');
  expect(buttons).not.toContain('Reject');
  await s.chat.screenshot('requester sees the request without Approve');
});

test('the approval card reaches the channel; a non-approver clicking Approve is refused and nothing runs', async () => {
  await s.chat.openChat(APPROVALS);
  const card = await s.chat.waitForCardText(REQUEST_CARD);
  expect(card).toMatch(/Waiting for a helpdesk approver\./);
  // the posted copy is the base card: no Approve for everyone to see, a button to ask for one's own view
  expect(await s.chat.cardButtons(REQUEST_CARD)).not.toContain('Approve');
  expect(await s.chat.cardButtons(REQUEST_CARD)).toContain(ASK);
  await s.chat.screenshot('base approval card in the channel, without Approve');

  // a non-approver asking for their view still gets no Approve
  const asked = s.chat.invokes.length;
  s.chat.actAs(USERS.alex.id);
  try {
    await s.chat.clickCardButton(ASK, { inCard: REQUEST_CARD });
    await waitUntil(() => s.chat.invokes.length > asked, 'the view to be answered');
  } finally {
    s.chat.actAs(null);
  }
  expect(await s.chat.cardButtons(REQUEST_CARD)).not.toContain('Approve');
  // the approver asks: Approve and Reject (the playground then shows that view to everyone)
  s.chat.actAs(USERS.megan.id);
  try {
    await s.chat.clickCardButton(ASK, { inCard: REQUEST_CARD });
    await waitUntil(async () => (await s.chat.cardButtons(REQUEST_CARD)).includes('Approve'), 'the approver view');
  } finally {
    s.chat.actAs(null);
  }
  expect(await s.chat.cardButtons(REQUEST_CARD)).toEqual(expect.arrayContaining(['Approve', 'Reject']));
  await s.chat.screenshot('approval card with Approve after the approver asked');

  const before = invokesFrom(USERS.alex.id).length;
  const answersBefore = s.chat.invokes.length;
  s.chat.actAs(USERS.alex.id);
  try {
    await s.chat.clickCardButton('Approve', { inCard: REQUEST_CARD });
    await waitUntil(() => invokesFrom(USERS.alex.id).length > before && s.chat.invokes.length > answersBefore, 'the refused click to be answered');
  } finally {
    s.chat.actAs(null);
  }
  const refused = invokesFrom(USERS.alex.id).at(-1);
  expect(refused?.conversationId).toMatch(/^19:e2e-helpdesk-approvals@thread\.tacv2/);
  expect(refused?.status).toBe(200);
  expect(refused?.answer).toMatch(/only configured helpdesk approvers can decide/);
  // a refusal is a message answer: the playground shows it on the clicked card, as Teams does
  expect(s.chat.invokes.at(-1)?.status).toBe(200);
  expect(s.chat.invokes.at(-1)?.body).toMatch(/application\/vnd\.microsoft\.activity\.message[\s\S]*only configured helpdesk approvers can decide/);
  await s.chat.screenshot('refused click answered on the card');

  // the card is still pending with its buttons
  expect(await s.chat.waitForCardText(REQUEST_CARD)).toMatch(/Waiting for a helpdesk approver\./);
  expect(await s.chat.cardButtons(REQUEST_CARD)).toEqual(expect.arrayContaining(['Approve', 'Reject']));
  // and the VM's history (an approver's command) holds the refusal and no job
  await postAsMegan('history vm-tlsoff-06');
  const history = await s.chat.waitForCardText(/History of vm-tlsoff-06/);
  expect(history).toMatch(/Alex Wilber: approval\.refused [^\n]*reason=not-approver/); // names, not object ids (issue #13.11)
  expect(history).toMatch(/approval\.requested/);
  expect(history).not.toMatch(/approval\.approved|job\./);
  await s.chat.screenshot('history shows the refusal and nothing run');
  // the VM itself: only the diagnosis ran on it (a refused click queues nothing, so there is no
  // queue to wait for; the history step above came later than the click)
  expect(await s.ranOn('vm-tlsoff-06')).toEqual(['runCommand:diagnose']);
});

test('the approver approves in the channel: steps run, the fix is verified on every copy, the requester is told', async () => {
  s.chat.actAs(USERS.megan.id);
  try {
    await s.chat.clickCardButton('Approve', { inCard: REQUEST_CARD });
    // the clicked card becomes the running job, then each step updates it in place
    const running = await s.chat.waitForCardText(/Approved by Megan Bowen\. The fix is running\.\.\./);
    expect(running.replace(/\s+/g, ' ')).toMatch(/(▶|✔) Snapshot of the OS disk (▶|○) The fix itself/);
    await s.chat.screenshot('channel copy while the fix runs');
    const done = await s.chat.waitForCardText(/Verified: the problem is gone\./, { timeoutMs: 60000 });
    await s.chat.screenshot('channel copy verified');
    expect(done).toMatch(REQUEST_CARD);
    expect(done).toMatch(/Done \(approved by Megan Bowen\)\./);
    expect(done).toMatch(/OS disk snapshot taken before the change: vm-tlsoff-06-osdisk-/);
    expect(done.replace(/\s+/g, ' ')).toMatch(
      /✔ Snapshot of the OS disk ✔ The fix itself ✔ VM restart \(waiting for the agent\) ✔ The same diagnosis again Verified: the problem is gone\. ✔ TLS 1\.2 is disabled for servers: fixed/,
    );
    expect(await s.chat.cardButtons(REQUEST_CARD)).not.toContain('Approve');
    expect(await s.chat.countCards(REQUEST_CARD)).toBe(1);
  } finally {
    s.chat.actAs(null);
  }
  const approve = invokesFrom(USERS.megan.id).at(-1);
  expect(approve).toMatchObject({ type: 'invoke', status: 200 });

  await s.chat.openPersonalChat();
  // the requester's copy was updated in place
  const mine = await s.chat.waitForCardText(/Verified: the problem is gone\./, { timeoutMs: 60000 });
  expect(mine).toMatch(REQUEST_CARD);
  expect(mine).toMatch(/TLS 1\.2 is disabled for servers: fixed/);
  expect(await s.chat.countCards(REQUEST_CARD)).toBe(1);
  await s.chat.waitForMessageText(/Your request "Enable TLS 1\.2 for servers \(restart\)" on vm-tlsoff-06 was approved by Megan Bowen\./);
  await s.chat.waitForMessageText(/The fix "Enable TLS 1\.2 for servers \(restart\)" on vm-tlsoff-06 has finished: the problem is gone\./);
  await s.chat.screenshot('requester sees the verified fix and both notices');
  // what happened to the VM, in order: the diagnosis, then the approved job's steps
  expect(await s.ranOn('vm-tlsoff-06')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-tls', 'restart:', 'runCommand:diagnose']);
});
