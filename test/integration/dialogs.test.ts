import { randomUUID } from 'node:crypto';
import { startHarness, type Harness } from '../support/bot-harness';
import { cardProblems } from '../support/card-validation';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';
import { TEAMS_MAX_ACTIVITY_BYTES, utf16Bytes } from '../support/teams-limits';

/**
 * The dialogs (task modules) of issue #17 over HTTP: `task/fetch` and `task/submit` invokes as
 * Teams POSTs them, answered with HTTP 200 and a task response. Errors are shown inside the
 * dialog with the typed value; tampered data is refused in the dialog and leaves nothing behind;
 * what ran on a VM is read from the simulator's operation log once the queue has drained.
 */
const userA: User = { userId: '29:dlg-a', aadObjectId: '00000000-0000-0000-0000-0000000000d1', name: 'Alex A', conversationId: 'a:dlg-a' };
const userB: User = { userId: '29:dlg-b', aadObjectId: '00000000-0000-0000-0000-0000000000d2', name: 'Bea B', conversationId: 'a:dlg-b' };
const userRu: User = { userId: '29:dlg-ru', aadObjectId: '00000000-0000-0000-0000-0000000000d5', name: 'Олег', conversationId: 'a:dlg-ru', locale: 'ru-RU' };
const approver: User = { userId: '29:dlg-approver', aadObjectId: '00000000-0000-0000-0000-0000000000d3', name: 'Helpdesk Hana', conversationId: 'a:dlg-approver' };
const approver2: User = { userId: '29:dlg-approver-2', aadObjectId: '00000000-0000-0000-0000-0000000000d4', name: 'Helpdesk Ivan', conversationId: 'a:dlg-approver-2' };

async function withApprovers(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ APPROVER_IDS: `${approver.aadObjectId},${approver2.aadObjectId}`, SIM_SCRIPTS: 'emulate', ...env });
  for (const u of [approver, approver2]) {
    const mark = h.mark();
    await h.post(activity(h, u, { type: 'message', text: 'help' }));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === u.conversationId));
  }
  return h;
}

type TaskBody = { task?: { type?: string; value?: unknown } };

function task(name: 'task/fetch' | 'task/submit', data: unknown, replyToId?: string): Record<string, unknown> {
  return { type: 'invoke', name, replyToId, value: { type: name, data, context: { theme: 'default' } } };
}

/** The dialog a task response shows (type continue): its title and card; fails on anything else. */
function dialogOf(r: { status: number; body: unknown }): { title: string; card: Record<string, unknown> } {
  const t = (r.body as TaskBody).task;
  const value = t?.value as { title?: string; card?: { contentType?: string; content?: Record<string, unknown> } } | undefined;
  if (r.status !== 200 || t?.type !== 'continue' || value?.card?.contentType !== 'application/vnd.microsoft.card.adaptive' || !value.card.content) {
    throw new Error(`not a dialog: ${r.status} ${JSON.stringify(r.body).slice(0, 600)}`);
  }
  expect(cardProblems(value.card.content)).toEqual([]);
  expect(utf16Bytes(r.body)).toBeLessThan(TEAMS_MAX_ACTIVITY_BYTES);
  return { title: value.title ?? '', card: value.card.content };
}

/** The sentence a closing task response shows (type message). */
function closedWith(r: { status: number; body: unknown }): string {
  const t = (r.body as TaskBody).task;
  if (r.status !== 200 || t?.type !== 'message' || typeof t.value !== 'string') throw new Error(`not a closing message: ${r.status} ${JSON.stringify(r.body).slice(0, 600)}`);
  return t.value;
}

/** The input of a dialog card with this id (its value as the card holds it). */
function inputOf(card: unknown, id: string): Record<string, unknown> | undefined {
  let hit: Record<string, unknown> | undefined;
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (typeof o.type === 'string' && o.type.startsWith('Input.') && o.id === id) hit = o;
    Object.values(o).forEach(walk);
  };
  walk(card);
  return hit;
}

/** The data of the card's Action.Submit that opens a dialog (`msteams.type` task/fetch) for `which`. */
function dialogButton(card: unknown, which: (d: Record<string, unknown>) => boolean): Record<string, unknown> {
  const found: Array<Record<string, unknown>> = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as { type?: string; data?: Record<string, unknown> & { msteams?: { type?: string } } };
    if (o.type === 'Action.Submit' && o.data?.msteams?.type === 'task/fetch') found.push(o.data);
    Object.values(o).forEach(walk);
  };
  walk(card);
  const hit = found.find(which);
  if (!hit) throw new Error(`no dialog button in card:\n${cardText(card)}`);
  return hit;
}

/** The submit button's data of a dialog card, with the value a person typed. */
function submitData(card: unknown, typed: Record<string, unknown> = {}): Record<string, unknown> {
  const actions = (card as { actions?: Array<{ type: string; data?: Record<string, unknown> }> }).actions ?? [];
  const submit = actions.find((a) => a.type === 'Action.Submit');
  if (!submit?.data) throw new Error(`no submit in dialog:\n${cardText(card)}`);
  return { ...submit.data, ...typed };
}

const changesOf = (h: Harness, vm: string) =>
  h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read').map((o) => `${o.kind}:${o.scriptId ?? ''}`);

describe('dialogs: restrict-rdp-source and change-rdp-port from the findings card', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withApprovers();
  });
  afterAll(async () => h.close());

  it('the port dialog shows the free-port check from the diagnosis and refuses a taken or dynamic port inside the dialog', async () => {
    const { incidentId, findings } = await diagnoseAs(h, userB, 'internal error on vm-portclash-03');
    const open = dialogButton(cardOf(findings), (d) => d.fixId === 'change-rdp-port');
    const fetched = dialogOf(await h.post(activity(h, userB, task('task/fetch', open))));
    const text = cardText(fetched.card);
    expect(text).toMatch(/Port 3389 now: held by java \(PID \d+, services: TomcatAgent\)/);
    expect(text).toMatch(/Refused: 5985, 5986, 47001 \(Windows remote management, WinRM\) and 49152 to 65535/);
    expect(inputOf(fetched.card, 'port')).toMatchObject({ type: 'Input.Number', min: 1025, max: 65535 });

    const dynamic = dialogOf(await h.post(activity(h, userB, task('task/submit', submitData(fetched.card, { port: '50000' })))));
    expect(cardText(dynamic.card)).toMatch(/Port 50000 is in Windows' dynamic range/);
    expect(inputOf(dynamic.card, 'port')?.value).toBe(50000);
    const same = dialogOf(await h.post(activity(h, userB, task('task/submit', submitData(fetched.card, { port: 3389 })))));
    expect(cardText(same.card)).toMatch(/RDP already uses port 3389/);
    const reserved = dialogOf(await h.post(activity(h, userB, task('task/submit', submitData(fetched.card, { port: '5985' })))));
    expect(cardText(reserved.card)).toMatch(/Port 5985 is used by Windows remote management/);
    const empty = dialogOf(await h.post(activity(h, userB, task('task/submit', submitData(fetched.card, { port: '' })))));
    expect(cardText(empty.card)).toMatch(/A port from 1025 to 65535/);
    // nothing requested, nothing recorded, nothing ran
    expect(await h.app.store.approvals.listByIncident(incidentId)).toEqual([]);
    expect((await h.app.store.audit.list({ incidentId })).map((a) => a.action)).not.toContain('approval.requested');
    await h.drained();
    expect(changesOf(h, 'vm-portclash-03')).toEqual(['runCommand:diagnose']);
  });

  it('tampered data is refused in the dialog and leaves nothing behind', async () => {
    const { incidentId, findings } = await diagnoseAs(h, userA, 'internal error on vm-exposed-02');
    const open = dialogButton(cardOf(findings), (d) => d.fixId === 'restrict-rdp-source');
    const refusedText = async (user: User, name: 'task/fetch' | 'task/submit', data: unknown) => {
      const d = dialogOf(await h.post(activity(h, user, task(name, data))));
      expect(d.card.actions ?? []).toEqual([]);
      expect(inputOf(d.card, 'source')).toBeUndefined();
      return cardText(d.card);
    };
    const valid = { ...open, source: '198.51.100.0/24' };
    expect(await refusedText(userA, 'task/fetch', { ...open, incidentId: randomUUID() })).toMatch(/I could not find incident/);
    expect(await refusedText(userA, 'task/submit', { ...valid, incidentId: randomUUID() })).toMatch(/I could not find incident/);
    expect(await refusedText(userA, 'task/fetch', { ...open, fixId: 'enable-tls' })).toMatch(/this fix does not address what the diagnosis found/);
    expect(await refusedText(userA, 'task/submit', { ...valid, fixId: 'change-rdp-port', port: 3390 })).toMatch(/this fix does not address what the diagnosis found/);
    // someone else's incident (not an approver)
    expect(await refusedText(userB, 'task/fetch', open)).toMatch(/only the person who reported this problem or a helpdesk approver/);
    expect(await refusedText(userB, 'task/submit', valid)).toMatch(/only the person who reported this problem or a helpdesk approver/);
    // no dialog named, or not an object at all
    expect(await refusedText(userA, 'task/submit', { incidentId, fixId: 'restrict-rdp-source', source: '198.51.100.0/24' })).toMatch(/I don.t recognise that button/);
    expect(await refusedText(userA, 'task/fetch', 'restrict-rdp-source')).toMatch(/I don.t recognise that button/);
    expect(await h.app.store.approvals.listByIncident(incidentId)).toEqual([]);
    expect((await h.app.store.audit.list({ incidentId })).map((a) => a.action)).not.toContain('approval.requested');
  });

  it('speaks Russian to a Russian client', async () => {
    const { findings } = await diagnoseAs(h, userRu, 'Не могу подключиться к vm-exposed-02, внутренняя ошибка');
    const open = dialogButton(cardOf(findings), (d) => d.fixId === 'restrict-rdp-source');
    const fetched = dialogOf(await h.post(activity(h, userRu, task('task/fetch', open))));
    expect(cardText(fetched.card)).toMatch(/Ваш публичный адрес RDP Doctor не видит/);
    const bad = dialogOf(await h.post(activity(h, userRu, task('task/submit', submitData(fetched.card, { source: '203.0.113.7/24' })))));
    expect(cardText(bad.card)).toMatch(/Возможно, имелось в виду 203\.0\.113\.0\/24/);
  });


  // last: it runs the fix on vm-exposed-02 (the tests before it need its NSG as the fleet has it)
  it('opens the CIDR dialog, shows a refused value inside it, then requests the fix and updates the findings card', async () => {
    const { incidentId, findings } = await diagnoseAs(h, userA, 'internal error on vm-exposed-02');
    const open = dialogButton(cardOf(findings), (d) => d.fixId === 'restrict-rdp-source');
    expect(open).toMatchObject({ dialog: 'fix', incidentId });

    const fetched = dialogOf(await h.post(activity(h, userA, task('task/fetch', open, findings.activityId))));
    const text = cardText(fetched.card);
    expect(fetched.title).toBe('Restrict the RDP source to your addresses');
    expect(text).toMatch(/Only the addresses you give here may connect to Remote Desktop on vm-exposed-02 \(TCP port 3389\)/);
    // Teams gives a bot no client address: the dialog says so and fills in nothing
    expect(text).toMatch(/RDP Doctor cannot see it/);
    expect(inputOf(fetched.card, 'source')).toMatchObject({ type: 'Input.Text', isRequired: true });
    expect(inputOf(fetched.card, 'source')).not.toHaveProperty('value');

    // a value the card's regex lets through but the fix's validator refuses: host bits set
    const bad = dialogOf(await h.post(activity(h, userA, task('task/submit', submitData(fetched.card, { source: '203.0.113.7/24' }), findings.activityId))));
    expect(cardText(bad.card)).toMatch(/203\.0\.113\.7\/24 is not a network address; did you mean 203\.0\.113\.0\/24\?/);
    expect(inputOf(bad.card, 'source')?.value).toBe('203.0.113.7/24');
    expect(await h.app.store.approvals.listByIncident(incidentId)).toEqual([]);

    const mark = h.mark();
    const done = closedWith(await h.post(activity(h, userA, task('task/submit', submitData(bad.card, { source: '203.0.113.0/24' }), findings.activityId))));
    expect(done).toMatch(/I sent your request to the helpdesk approvers/);
    const [approval] = await h.app.store.approvals.listByIncident(incidentId);
    expect(approval).toMatchObject({ state: 'pending', fixId: 'restrict-rdp-source', params: { source: '203.0.113.0/24' } });
    // the findings card it came from (the incident's live card) says what was requested
    const updated = await h.connector.waitFor((all) =>
      all.slice(mark).find((c) => c.kind === 'update' && c.activityId === findings.activityId && /Requested from this card/.test(cardText(cardOf(c)))),
    );
    expect(cardText(cardOf(updated))).toMatch(/Requested from this card: Restrict the RDP source to your addresses \(203\.0\.113\.0\/24\)/);
    expect(cardProblems(cardOf(updated))).toEqual([]);

    // approved like any request: the NSG rules are written once, and only then
    await h.drained();
    const changed = () => changesOf(h, 'vm-exposed-02').filter((c) => c !== 'runCommand:diagnose');
    expect(changed()).toEqual([]);
    const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId: approval.id })));
    expect(r.status).toBe(200);
    await h.drained();
    expect(changed().filter((c) => c.startsWith('nsgRuleWrite')).length).toBeGreaterThan(0);
    expect(changed().filter((c) => c.startsWith('snapshot'))).toHaveLength(1);
    expect((await h.app.store.approvals.get(approval.id))?.state).toBe('approved');
  });
});

describe('dialogs: the second approval of a two-person request', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await withApprovers({ TWO_PERSON_FIXES: 'nsg' });
  });
  afterAll(async () => h.close());

  it('the second approver confirms in a dialog showing the plan and the first approval; the fix runs once', async () => {
    const { incidentId, findings } = await diagnoseAs(h, userA, 'internal error on vm-exposed-02');
    const open = dialogButton(cardOf(findings), (d) => d.fixId === 'restrict-rdp-source');
    closedWith(await h.post(activity(h, userA, task('task/submit', { ...open, source: '203.0.113.0/24' }))));
    const [pending] = await h.app.store.approvals.listByIncident(incidentId);
    expect(pending.approvalsRequired).toBe(2);
    const approvalId = pending.id;
    // the first approval stays the card's one click
    const first = await h.post(activity(h, approver, invoke('approval.approve', { approvalId })));
    expect(first.status).toBe(200);

    // the second approver's view: the approval that runs the fix is a dialog, not the one-click Approve
    const view = (await h.post(activity(h, approver2, invoke('approval.refresh', { approvalId })))).body as { value: unknown };
    expect(() => actionData(view.value, 'approval.approve')).toThrow();
    const button = dialogButton(view.value, (d) => d.dialog === 'approve');
    expect(button).toMatchObject({ approvalId, dialog: 'approve' });

    const refused = async (user: User, name: 'task/fetch' | 'task/submit') => cardText(dialogOf(await h.post(activity(h, user, task(name, button)))).card);
    expect(await refused(approver, 'task/fetch')).toMatch(/you have already approved this request/);
    expect(await refused(approver, 'task/submit')).toMatch(/you have already approved this request/);
    expect(await refused(userA, 'task/submit')).toMatch(/only configured helpdesk approvers can decide/);
    expect(await refused(approver2, 'task/fetch').then(() => 'ok')).toBe('ok');
    expect(cardText(dialogOf(await h.post(activity(h, approver2, task('task/fetch', { ...button, approvalId: randomUUID() })))).card)).toMatch(/this approval does not exist/);
    expect(await h.app.store.approvals.get(approvalId)).toMatchObject({ state: 'pending', votes: [{ by: { id: approver.userId } }] });

    const dialog = dialogOf(await h.post(activity(h, approver2, task('task/fetch', button))));
    const text = cardText(dialog.card);
    expect(text).toMatch(/Helpdesk Hana approved this request on .*: exactly what is below\. Your approval is 2 of 2/);
    expect(text).toMatch(/NSG vm-exposed-02-nsg, rule/);
    expect(text).toMatch(/Allowed source: 203\.0\.113\.0\/24/);

    await h.drained();
    expect(changesOf(h, 'vm-exposed-02').filter((c) => c.startsWith('nsgRuleWrite'))).toEqual([]);
    const mark = h.mark();
    expect(closedWith(await h.post(activity(h, approver2, task('task/submit', submitData(dialog.card)))))).toMatch(/Approved\. The fix runs now/);
    // decided once: a second submit (a double click, another device) is refused and changes nothing
    expect(await refused(approver2, 'task/submit')).toMatch(/no longer waiting for a decision/);
    await h.drained();
    const decided = await h.app.store.approvals.get(approvalId);
    expect(decided).toMatchObject({ state: 'approved', decidedBy: { id: approver2.userId } });
    const audit = (await h.app.store.audit.list({ incidentId })).map((a) => a.action);
    expect(audit.filter((a) => a === 'approval.approved')).toHaveLength(1);
    expect(audit.filter((a) => a === 'approval.approvedFirst')).toHaveLength(1);
    const writes = changesOf(h, 'vm-exposed-02').filter((c) => c.startsWith('nsgRuleWrite'));
    expect(writes.length).toBeGreaterThan(0);
    expect(h.app.azure.simulator!.operations().filter((o) => o.vm === 'vm-exposed-02' && o.kind === 'snapshot')).toHaveLength(1);
    // the posted copies of the approval card were updated to the decision
    const copies = decided!.cards.map((c) => c.activityId);
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'update' && copies.includes(c.activityId) && /Approved by|succeeded|Fixed|verif/i.test(cardText(cardOf(c)))));
  });
});
