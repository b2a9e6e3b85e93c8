import { startHarness, type Harness } from '../support/bot-harness';
import { cardText, type Captured, type RequestRecord } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';

/**
 * Teams throttles a bot (about 7 operations per second per conversation) and answers 429, 412,
 * 502 or 504 under load; the local chat client does none of that. Here the connector refuses a
 * third of all requests at random (seeded) and records every request, and the acceptance
 * journey (diagnose vm-tlsoff-06, request enable-tls, approve, verified) must still end with
 * every card in its final state, nothing posted twice, the requester's last notice delivered,
 * and no conversation sent more than 8 operations in any 2 s window.
 */
const endUser: User = { userId: '29:end-user', aadObjectId: '00000000-0000-0000-0000-0000000000a1', name: 'Alex User', conversationId: 'a:end-user' };
const approver: User = { userId: '29:approver', aadObjectId: '00000000-0000-0000-0000-0000000000a2', name: 'Helpdesk Hana', conversationId: 'a:approver' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ APPROVER_IDS: approver.aadObjectId }, { channelRetry: { baseDelayInMs: 100, maxDelayInMs: 800 } });
  const mark = h.mark();
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
});
afterAll(async () => {
  await h.close();
});

/** Resolves once the connector has seen no request for `ms` (the bot's queues have drained). */
async function quiet(ms: number, timeoutMs = 60000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = h.connector.requests.at(-1)?.at ?? 0;
    if (Date.now() - last >= ms) return;
    if (Date.now() > deadline) throw new Error('the bot never stopped sending');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The largest number of requests one conversation received within any `windowMs`. */
export function busiestWindow(requests: RequestRecord[], windowMs: number): { conversationId: string; count: number } {
  let worst = { conversationId: '', count: 0 };
  const byConv = new Map<string, number[]>();
  for (const r of requests) byConv.set(r.conversationId, [...(byConv.get(r.conversationId) ?? []), r.at]);
  for (const [conversationId, times] of byConv) {
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while (times[end] - times[start] >= windowMs) start++;
      if (end - start + 1 > worst.count) worst = { conversationId, count: end - start + 1 };
    }
  }
  return worst;
}

const lastState = (captured: Captured[], activityId: string) => {
  const states = captured.filter((c) => c.activityId === activityId);
  return states.at(-1);
};

it('the throttled acceptance journey lands every final state once, within 8 operations per 2 s per conversation', async () => {
  const start = h.connector.requests.length;
  const mark = h.mark();
  h.connector.setFaults({ rate: 1 / 3, seed: 18, kinds: ['429', '429-retry-after', '412', '502', '504'] });

  await h.post(activity(h, endUser, { type: 'message', text: 'Internal error when I RDP to vm-tlsoff-06' }));
  const consent = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'send' && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))), 60000);
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
  const started = await h.post(activity(h, endUser, invoke('diagnose.start', { incidentId }, consent.activityId)));
  expect(started.status).toBe(200);
  const findings = await h.connector.waitFor((all) =>
    all.slice(mark).find((c) => c.kind === 'update' && c.activityId === consent.activityId && /fix\.request/.test(JSON.stringify(cardOf(c) ?? ''))),
  60000);
  const fixData = actionData(cardOf(findings), 'fix.request', (d) => d.fixId === 'enable-tls');
  expect((await h.post(activity(h, endUser, invoke('fix.request', { ...fixData, tls10: 'false', tls11: 'false' })))).status).toBe(200);
  const approverCopy = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'send' && c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))), 60000);
  const { approvalId } = actionData(cardOf(approverCopy), 'approval.refresh');
  expect((await h.post(activity(h, approver, invoke('approval.approve', { approvalId }, approverCopy.activityId)))).status).toBe(200);

  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId && /has finished: the problem is gone/.test(c.activity.text ?? '')), 90000);
  await quiet(3000);
  const journey = h.since(mark);
  const requests = h.connector.requests.slice(start);
  const refused = requests.filter((r) => r.status >= 400);
  const sends = journey.filter((c) => c.kind === 'send');
  // the faults really happened, of every kind
  expect(new Set(refused.map((r) => `${r.status}${r.retryAfter ? '+retry-after' : ''}`))).toEqual(new Set(['429', '429+retry-after', '412', '502', '504']));

  // nothing posted twice: every message is different from every other in its conversation
  const bodies = sends.map((c) => `${c.conversationId}\n${c.activity.text ?? ''}\n${JSON.stringify(cardOf(c) ?? '')}`);
  expect(new Set(bodies).size).toBe(bodies.length);
  expect(sends.filter((c) => /Sorry|went wrong/i.test(c.activity.text ?? ''))).toEqual([]);
  expect(sends.filter((c) => /Diagnosis of|Diagnosing|Running the diagnostic/i.test(cardText(cardOf(c))))).toEqual([]);
  expect(sends.filter((c) => /diagnosis .*is ready|ready/i.test(c.activity.text ?? ''))).toHaveLength(1);

  // every copy in its final state: the diagnosis card shows the findings, both approval copies the verification
  expect(cardText(cardOf(lastState(journey, consent.activityId)!))).toMatch(/TLS 1.2 is disabled for servers/);
  const approval = (await h.app.store.approvals.get(approvalId))!;
  expect(approval.cards.map((c) => c.audience).sort()).toEqual(['approvers', 'requester']);
  for (const place of approval.cards) {
    expect(cardText(cardOf(lastState(journey, place.activityId)!))).toMatch(/Verified: the problem is gone/);
  }
  // the requester's final notice, once
  expect(sends.filter((c) => /has finished: the problem is gone/.test(c.activity.text ?? ''))).toHaveLength(1);

  // a Retry-After is waited for before the conversation gets its next request
  for (const [i, r] of requests.entries()) {
    if (!r.retryAfter) continue;
    const next = requests.slice(i + 1).find((x) => x.conversationId === r.conversationId);
    if (next) expect(next.at - r.at).toBeGreaterThanOrEqual(Number(r.retryAfter) * 1000 - 20);
  }

  // Teams' limit, judged from every request the connector saw (refused ones count too)
  expect(busiestWindow(requests, 2000).count).toBeLessThanOrEqual(8);
  expect(busiestWindow(requests, 30000).count).toBeLessThanOrEqual(60);
  process.stdout.write(
    `throttled journey: ${sends.length} posted, ${journey.length - sends.length} updates delivered, ${requests.length} requests, ${refused.length} refused; busiest 2 s window ${busiestWindow(requests, 2000).count}\n`,
  );
}, 180000);

it('an approvals listing replaces the previous listing\'s copies in that conversation instead of adding more', async () => {
  h.connector.setFaults(undefined);
  const { incidentId } = await diagnoseAs(h, endUser, 'internal error on vm-certexpired-04');
  const m0 = h.mark();
  await h.post(activity(h, endUser, invoke('fix.request', { incidentId, fixId: 'renew-rdp-cert' })));
  const published = await h.connector.waitFor((all) => all.slice(m0).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? ''))));
  const { approvalId } = actionData(cardOf(published), 'approval.refresh');

  const list = async () => {
    const mark = h.mark();
    await h.post(activity(h, approver, { type: 'message', text: 'approvals' }));
    return h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'send' && /approval\.approve/.test(JSON.stringify(cardOf(c) ?? '')) && actionData(cardOf(c), 'approval.approve').approvalId === approvalId));
  };
  const first = await list();
  const second = await list();
  const third = await list();
  const cards = (await h.app.store.approvals.get(approvalId))!.cards;
  expect(cards.filter((c) => c.listing).map((c) => c.activityId)).toEqual([third.activityId]);
  expect(cards.map((c) => c.activityId)).toEqual(expect.arrayContaining([published.activityId]));

  // the decision updates the copies still tracked, and none of the replaced listing copies
  const mark = h.mark();
  await h.post(activity(h, approver, invoke('approval.reject', { approvalId }, published.activityId)));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'update' && c.activityId === third.activityId && /Rejected/i.test(cardText(cardOf(c)))));
  await quiet(1500);
  expect(h.since(mark).filter((c) => c.activityId === first.activityId || c.activityId === second.activityId)).toEqual([]);
}, 60000);

it('a conversation that keeps failing gets a bounded number of attempts, then nothing: no apology that would fail the same way', async () => {
  const down: User = { ...endUser, conversationId: 'a:always-down' };
  h.connector.setFaults(undefined);
  const start = h.connector.requests.length;
  h.connector.refusals.set(down.conversationId, { status: 502, code: 'BadGateway' });
  const r = await h.post(activity(h, down, { type: 'message', text: 'help' }));
  expect(r.status).toBe(200);
  await quiet(1500);
  const tries = h.connector.requests.slice(start).filter((x) => x.conversationId === down.conversationId);
  expect(tries.map((x) => x.status)).toEqual(Array(8).fill(502));
  h.connector.refusals.delete(down.conversationId);
}, 60000);
