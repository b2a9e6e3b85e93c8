import { startHarness, type Harness } from '../support/bot-harness';
import { cardProblems } from '../support/card-validation';
import { cardText, type Captured } from '../support/connector';
import { actionData, activity, cardOf, refusal, type User } from '../support/journey';
import { TEAMS_MAX_ACTIVITY_BYTES, utf16Bytes } from '../support/teams-limits';

/**
 * The message extension (issue #17, docs/teams-surfaces.md) over HTTP, as Teams delivers its
 * invokes to /api/messages: the `searchVm` query, the `vm.diagnose` button of the card it inserts,
 * and the `diagnoseMessage` action (fetchTask, then submitAction). Every answer is HTTP 200 with
 * the body Teams reads; cards validate and fit Teams' limits; what happened to the fleet is read
 * from the simulator's operation log once the bot is idle.
 */
const SUB = '00000000-0000-0000-0000-000000000001';
const vmIdOf = (name: string, sub = SUB) => `/subscriptions/${sub}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/${name}`;
const TENANT = 'tenant-1';
const CHANNEL = { id: '19:helpdesk@thread.tacv2;messageid=1700000000001', conversationType: 'channel', isGroup: true, tenantId: TENANT };

const alex: User = { userId: '29:alex', aadObjectId: '00000000-0000-0000-0000-0000000000b1', name: 'Alex', conversationId: 'a:alex-personal' };
const bea: User = { userId: '29:bea', aadObjectId: '00000000-0000-0000-0000-0000000000b2', name: 'Bea', conversationId: 'a:bea-personal', locale: 'ru-RU' };
const carl: User = { userId: '29:carl', aadObjectId: '00000000-0000-0000-0000-0000000000b3', name: 'Carl', conversationId: 'a:carl-personal' };
const erin: User = { userId: '29:erin', aadObjectId: '00000000-0000-0000-0000-0000000000b5', name: 'Erin', conversationId: 'a:erin-personal' };

interface Answer {
  status: number;
  body: {
    composeExtension?: { type: string; text?: string; attachmentLayout?: string; attachments?: Array<{ contentType: string; content: Record<string, unknown>; preview?: { contentType: string; content: { title: string; text: string } } }> };
    task?: { type: string; value: unknown };
  };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ RATE_LIMIT_SEARCHES_PER_HOUR: '400', RATE_LIMIT_INCIDENTS_PER_HOUR: '200', RATE_LIMIT_DIAGNOSES_PER_HOUR: '200' });
  // Alex and Bea have written to the bot in a personal chat; Carl never has
  for (const u of [alex, bea]) {
    const mark = h.mark();
    await h.post(activity(h, u, { type: 'message', text: u.locale === 'ru-RU' ? 'помощь' : 'help' }));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === u.conversationId));
  }
});
afterAll(async () => {
  await h.close();
});

/** An invoke of the message extension, from `u` in `conversation` (their personal chat by default). */
async function invoke(u: User, name: string, value: Record<string, unknown>, conversation?: Record<string, unknown>): Promise<Answer> {
  const base = activity(h, u, { type: 'invoke', name, value, channelData: { tenant: { id: TENANT } } });
  const r = await h.post(conversation ? { ...base, conversation } : base);
  return r as Answer;
}
const search = (u: User, text: string, queryOptions: Record<string, unknown> = { skip: 0, count: 25 }, commandId = 'searchVm') =>
  invoke(u, 'composeExtension/query', { commandId, parameters: [{ name: 'vmName', value: text }], queryOptions });
const messageOf = (a: Answer) => {
  expect(a.status).toBe(200);
  expect(a.body.composeExtension?.type).toBe('message');
  return a.body.composeExtension?.text ?? '';
};
const payload = (html: string) => ({ id: '1700000000099', body: { contentType: 'html', content: html }, from: { user: { id: '29:someone', displayName: 'Someone' } } });
const fetchTask = (u: User, html: string | null, conversation?: Record<string, unknown>) =>
  invoke(u, 'composeExtension/fetchTask', { commandId: 'diagnoseMessage', commandContext: 'message', context: { theme: 'default' }, ...(html === null ? {} : { messagePayload: payload(html) }) }, conversation);
const submit = (u: User, data: unknown, conversation?: Record<string, unknown>) =>
  invoke(u, 'composeExtension/submitAction', { commandId: 'diagnoseMessage', commandContext: 'message', data, messagePayload: payload('x') }, conversation);
const dialogCard = (a: Answer) => {
  expect(a.status).toBe(200);
  expect(a.body.task?.type).toBe('continue');
  const card = (a.body.task?.value as { card: { contentType: string; content: Record<string, unknown> } }).card;
  expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
  expect(cardProblems(card.content)).toEqual([]);
  expect(utf16Bytes(a.body)).toBeLessThan(TEAMS_MAX_ACTIVITY_BYTES);
  return card.content;
};
/** The sentence of a dialog that only tells something (where the consent card went, a refusal). */
const taskText = (a: Answer) => cardText(dialogCard(a));
const incidentsOf = async (u: User) => (await h.app.store.incidents.listOpen(1000)).filter((i) => i.requester.id === u.userId);
const consentIn = (mark: number, conversationId: string) =>
  h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
const sentSince = (mark: number): Captured[] => h.since(mark);
const CHANGING = new Set(['runCommand', 'start', 'restart', 'snapshot', 'nsgRuleWrite']);

describe('search (composeExtension/query)', () => {
  it('finds VMs by part of the name: a list of previews, each inserting a VM card with Diagnose', async () => {
    const a = await search(alex, 'certexp');
    expect(a.status).toBe(200);
    const result = a.body.composeExtension!;
    expect(result).toMatchObject({ type: 'result', attachmentLayout: 'list' });
    expect(result.attachments).toHaveLength(1);
    const [att] = result.attachments!;
    expect(att.preview).toEqual({ contentType: 'application/vnd.microsoft.card.thumbnail', content: { title: 'vm-certexpired-04', text: 'rg-demo · running' } });
    expect(att.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(cardText(att.content)).toMatch(/Azure VM vm-certexpired-04[\s\S]*Resource group: rg-demo[\s\S]*Power state: running[\s\S]*\[Diagnose\]/);
    expect(actionData(att.content, 'vm.diagnose')).toEqual({ vmId: vmIdOf('vm-certexpired-04') });
    expect(cardProblems(att.content)).toEqual([]);
    expect(utf16Bytes(a.body)).toBeLessThan(TEAMS_MAX_ACTIVITY_BYTES);
  });

  it('answers in the person\'s language: a Russian client gets Russian previews and cards', async () => {
    const a = await search(bea, 'vm-stopped');
    const [att] = a.body.composeExtension!.attachments!;
    expect(att.preview!.content.text).toBe('rg-demo · освобождена (остановлена, не тарифицируется)');
    expect(cardText(att.content)).toMatch(/ВМ Azure vm-stopped-07[\s\S]*Питание: освобождена \(остановлена, не тарифицируется\)[\s\S]*\[Диагностика\]/);
    expect(messageOf(await search(bea, 'x'))).toMatch(/Введите хотя бы 2 символа имени ВМ/);
  });

  it('sending the inserted card to the bot\'s own chat is sharing, not a request: the bot says nothing to it', async () => {
    const [att] = (await search(erin, 'vm-healthy')).body.composeExtension!.attachments!;
    const mark = h.mark();
    const text = '<span class="inline-compose-card" itemid="0" itemtype="http://schema.skype.com/InputExtension"> </span>';
    expect((await h.post(activity(h, erin, { type: 'message', text, attachments: [{ contentType: att.contentType, content: att.content }] }))).status).toBe(200);
    // the next message is answered as always, and it is the only answer
    await h.post(activity(h, erin, { type: 'message', text: 'diagnose vm-healthy-01' }));
    const answer = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === erin.conversationId));
    await h.drained();
    expect(sentSince(mark).filter((c) => c.conversationId === erin.conversationId)).toEqual([answer]);
    expect(cardText(cardOf(answer))).toMatch(/Check vm-healthy-01\?/);
  });

  it('honours paging (queryOptions skip and count): every VM once, then an empty page', async () => {
    const names: string[] = [];
    for (let skip = 0; ; skip += 8) {
      const a = await search(alex, 'vm-', { skip, count: 8 });
      const page = a.body.composeExtension!.attachments!;
      expect(a.body.composeExtension!.type).toBe('result');
      expect(page.length).toBeLessThanOrEqual(8);
      if (page.length === 0) break;
      names.push(...page.map((p) => p.preview!.content.title));
    }
    expect(names.length).toBeGreaterThan(16);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual([...names].sort((x, y) => x.localeCompare(y)));
  });

  it.each([
    ['an empty query', '', /Type part of a VM's name/],
    ['one character', 'v', /at least 2 characters/],
    ['a query longer than any VM name', 'v'.repeat(65), /longer than any VM name \(64 characters at most\)/],
    ['words, not a name', 'my vm', /"my vm" cannot be part of a VM name\. Azure VM names are 1 to 64/],
    ['no match', 'zz-nothing', /No VM I may show you has "zz-nothing" in its name/],
    ['a resource id outside the configured scope', vmIdOf('vm-healthy-01', '00000000-0000-0000-0000-000000000099'), /outside the subscriptions and resource groups I am allowed to manage/],
  ])('%s: a message result in the person\'s words, HTTP 200', async (_what, text, said) => {
    expect(messageOf(await search(alex, text))).toMatch(said);
  });

  it('an unknown command and a query without parameters get a message, not an error', async () => {
    expect(messageOf(await search(alex, 'vm-', undefined, 'somethingElse'))).toMatch(/no such command/);
    expect(messageOf(await invoke(alex, 'composeExtension/query', { commandId: 'searchVm' }))).toMatch(/Type part of a VM's name/);
    expect(messageOf(await invoke(alex, 'composeExtension/query', { commandId: 'searchVm', parameters: [{ name: 'initialRun', value: true }] }))).toMatch(/Type part of a VM's name/);
  });

  it('a failure inside the lookup is a message with a reference, never a 500', async () => {
    const spy = jest.spyOn(h.app.incidents, 'resolveVmFor').mockRejectedValueOnce(new Error('boom'));
    try {
      expect(messageOf(await search(alex, 'vm-'))).toMatch(/something went wrong on my side[\s\S]*reference: [0-9a-f]{8}/);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('Diagnose on a shared VM card (vm.diagnose)', () => {
  const click = (u: User, vmId: unknown, conversation = CHANNEL) =>
    h.post({ ...activity(h, u, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'vm.diagnose', data: { vmId } }, trigger: 'manual' }, replyToId: '1700000000001' }), conversation, channelData: { tenant: { id: TENANT } } });

  it('in a channel, the clicker gets the consent card in their personal chat, as its requester; the shared card stays', async () => {
    const mark = h.mark();
    const r = await click(alex, vmIdOf('vm-certexpired-04'));
    expect(refusal(r)).toBe('I sent you the consent card for vm-certexpired-04 in your personal chat with me.');
    const consent = await consentIn(mark, alex.conversationId);
    expect(cardText(cardOf(consent))).toMatch(/Check vm-certexpired-04\?/);
    const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
    const incident = await h.app.store.incidents.get(incidentId);
    expect(incident).toMatchObject({ state: 'awaiting-consent', requester: { id: alex.userId }, vmName: 'vm-certexpired-04', symptom: 'not-stated', cardActivityId: consent.activityId });
    expect(JSON.stringify(incident!.conversation)).toContain(alex.conversationId);
    // nothing was posted to, or updated in, the channel
    expect(sentSince(mark).filter((c) => c.conversationId.startsWith('19:helpdesk'))).toEqual([]);
  });

  it('a second person clicking the same card gets their own incident; in Russian for a Russian client', async () => {
    const mark = h.mark();
    const r = await click(bea, vmIdOf('vm-certexpired-04'));
    expect(refusal(r)).toMatch(/Я отправил вам карточку согласия для vm-certexpired-04 в личный чат со мной/);
    const consent = await consentIn(mark, bea.conversationId);
    const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
    expect(await h.app.store.incidents.get(incidentId)).toMatchObject({ requester: { id: bea.userId }, lang: 'ru' });
  });

  it('someone the bot has no personal chat with gets the consent card in the conversation of the click', async () => {
    const mark = h.mark();
    const r = await click(carl, vmIdOf('vm-tlsoff-06'));
    expect(refusal(r)).toBe('The consent card for vm-tlsoff-06 is in this conversation.');
    const consent = await consentIn(mark, CHANNEL.id);
    const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
    expect(await h.app.store.incidents.get(incidentId)).toMatchObject({ requester: { id: carl.userId }, vmName: 'vm-tlsoff-06' });
  });

  it('when the bot cannot post there either, the person is told to open a personal chat and no incident waits', async () => {
    const chat = { id: '19:no-bot-here@unq.gbl.spaces', conversationType: 'groupChat', isGroup: true, tenantId: TENANT };
    h.connector.refusals.set(chat.id, { status: 403, code: 'BotNotInConversationRoster' });
    const before = (await incidentsOf(carl)).filter((i) => i.state === 'awaiting-consent').length;
    const r = await click(carl, vmIdOf('vm-healthy-01'), chat);
    expect(refusal(r)).toMatch(/could not post the consent card for vm-healthy-01 here[\s\S]*Open a personal chat with RDP Doctor/);
    expect((await incidentsOf(carl)).filter((i) => i.state === 'awaiting-consent')).toHaveLength(before);
  });

  it('a tampered vmId is refused: outside the configured scope, or not a VM id at all; no incident', async () => {
    const before = (await incidentsOf(alex)).length;
    const outside = await click(alex, vmIdOf('vm-healthy-01', '00000000-0000-0000-0000-000000000099'));
    expect(refusal(outside)).toMatch(/outside the subscriptions and resource groups I am allowed to manage/);
    const bad = await click(alex, '/subscriptions/x/../../etc/passwd');
    expect(bad.status).toBe(200);
    expect(bad.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
    expect(await incidentsOf(alex)).toHaveLength(before);
  });

  it('a click on Diagnose changes nothing on any VM: the consent card comes first', async () => {
    await h.drained();
    expect(h.app.azure.simulator!.operations().filter((o) => CHANGING.has(o.kind))).toEqual([]);
  });
});

describe('"Diagnose RDP" on a message (composeExtension/fetchTask, submitAction)', () => {
  it('reads the VM and the symptom from a pasted Russian complaint (HTML) and asks to confirm', async () => {
    const card = dialogCard(await fetchTask(bea, '<p>не могу подключиться к <b>vm-certexpired-04</b> по RDP,&nbsp;внутренняя ошибка</p>'));
    expect(cardText(card)).toMatch(/не могу подключиться к vm-certexpired-04 по RDP, внутренняя ошибка[\s\S]*Похоже на: Произошла внутренняя ошибка[\s\S]*В сообщении названа эта ВМ\. Диагностировать её\?[\s\S]*\[Диагностика\]/);
    const choice = JSON.stringify(card);
    expect(choice).toContain(`"value":"${vmIdOf('vm-certexpired-04')}"`);
    expect(choice).toContain('"symptom":"internal-error"');
  });

  it('several VMs named: each found one is offered; none found or none named: a box to type one', async () => {
    const several = dialogCard(await fetchTask(alex, 'vm-tlsoff-06 and vm-exposed-02 both fail: <i>An internal error has occurred</i>'));
    expect(cardText(several)).toMatch(/This message names these VMs\. Which one should I diagnose\?/);
    expect(JSON.stringify(several)).toMatch(/vm-tlsoff-06 \(rg-demo, running\)[\s\S]*vm-exposed-02 \(rg-demo, running\)/);
    const missing = dialogCard(await fetchTask(alex, 'I cannot RDP to vm-gone-77'));
    expect(cardText(missing)).toMatch(/I found no VM I may show you named vm-gone-77[\s\S]*Which VM\? Its name/);
    expect(JSON.stringify(missing)).not.toContain('Input.ChoiceSet');
    const none = dialogCard(await fetchTask(alex, 'RDP is broken again, please help'));
    expect(cardText(none)).toMatch(/I found no VM name in this message/);
    expect(JSON.stringify(none)).toMatch(/"type":"Input\.Text","id":"vmName"/);
  });

  it('no message, or another command: a message in the dialog', async () => {
    expect(taskText(await fetchTask(alex, null))).toMatch(/Run "Diagnose RDP" on a message that names the VM/);
    expect(taskText(await invoke(alex, 'composeExtension/fetchTask', { commandId: 'other', messagePayload: payload('vm-healthy-01') }))).toMatch(/no such command/);
  });

  it('submit with the chosen VM starts the normal consent flow with the symptom read from the message', async () => {
    const mark = h.mark();
    const text = taskText(await submit(alex, { msgext: 'diagnoseMessage', symptom: 'internal-error', vmId: vmIdOf('vm-certexpired-04'), vmName: '' }, CHANNEL));
    expect(text).toBe('Diagnose RDP\nI sent you the consent card for vm-certexpired-04 in your personal chat with me.');
    const consent = await consentIn(mark, alex.conversationId);
    const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
    expect(await h.app.store.incidents.get(incidentId)).toMatchObject({ requester: { id: alex.userId }, symptom: 'internal-error', vmName: 'vm-certexpired-04', state: 'awaiting-consent' });
  });

  it('a typed name wins over the choice; a name several VMs match offers them', async () => {
    const mark = h.mark();
    expect(taskText(await submit(alex, { symptom: 'not-stated', vmId: vmIdOf('vm-certexpired-04'), vmName: 'vm-tlsoff-06' }))).toMatch(/consent card for vm-tlsoff-06/);
    await consentIn(mark, alex.conversationId);
    const several = dialogCard(await submit(alex, { vmName: 'vm-s' }));
    expect(cardText(several)).toMatch(/Several VMs match "vm-s": choose one/);
    expect(JSON.stringify(several)).toMatch(/vm-stopped-07[\s\S]*vm-svcaccount-24/);
  });

  it.each([
    ['a vmId outside the configured scope', { vmId: vmIdOf('vm-healthy-01', '00000000-0000-0000-0000-000000000099') }, /outside the subscriptions and resource groups I am allowed to manage/],
    ['a vmId that is not a VM id', { vmId: '/subscriptions/../x' }, /This dialog's data is not valid, so nothing was started/],
    ['a vmId of the wrong type', { vmId: 42 }, /This dialog's data is not valid/],
    ['a symptom that is not one', { vmId: vmIdOf('vm-healthy-01'), symptom: 'rm -rf' }, /This dialog's data is not valid/],
    ['no data at all', null, /Choose a VM or type its name/],
    ['nothing chosen or typed', { vmName: '   ' }, /Choose a VM or type its name/],
    ['a typed name that is not one', { vmName: 'my vm please' }, /cannot be part of a VM name/],
    ['a typed name that matches nothing', { vmName: 'vm-gone-77' }, /No VM I can see matches "vm-gone-77"/],
  ])('%s: a clear answer inside the dialog, no incident', async (_what, data, said) => {
    const before = (await incidentsOf(carl)).length;
    const card = dialogCard(await submit(carl, data));
    expect(cardText(card)).toMatch(said);
    expect(await incidentsOf(carl)).toHaveLength(before);
  });

  it('nothing ran on any VM: only reads, until someone consents', async () => {
    await h.drained();
    expect(h.app.azure.simulator!.operations().filter((o) => CHANGING.has(o.kind))).toEqual([]);
  });
});

describe('limits and SELF_SERVICE_SCOPE', () => {
  let h2: Harness;
  const endUser: User = { userId: '29:dora', aadObjectId: '00000000-0000-0000-0000-0000000000b4', name: 'Dora', conversationId: 'a:dora-personal' };
  beforeAll(async () => {
    h2 = await startHarness({ SELF_SERVICE_SCOPE: 'tag:RDP-Self-Service=true', RATE_LIMIT_SEARCHES_PER_HOUR: '4', APPROVER_IDS: '00000000-0000-0000-0000-0000000000a9' });
  });
  afterAll(async () => {
    await h2.close();
  });
  const post = (name: string, value: Record<string, unknown>) => h2.post(activity(h2, endUser, { type: 'invoke', name, value })) as Promise<Answer>;

  it('a non-approver finds only the VMs they may diagnose, a tampered card is refused, and the search limit answers in words', async () => {
    // the demo fleet tags only vm-tlsoff-06 rdp-self-service=true
    const found = await post('composeExtension/query', { commandId: 'searchVm', parameters: [{ name: 'vmName', value: 'vm-' }] });
    expect(found.body.composeExtension!.attachments!.map((a) => a.preview!.content.title)).toEqual(['vm-tlsoff-06']);
    const clicked = await h2.post(activity(h2, endUser, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'vm.diagnose', data: { vmId: vmIdOf('vm-healthy-01') } }, trigger: 'manual' } }));
    expect(refusal(clicked)).toBe('That VM is not one I may diagnose for you.');
    const submitted = await post('composeExtension/submitAction', { commandId: 'diagnoseMessage', data: { vmId: vmIdOf('vm-healthy-01') } });
    expect(cardText((submitted.body.task!.value as { card: { content: unknown } }).card.content)).toMatch(/That VM is not one I may diagnose for you/);
    expect((await h2.app.store.incidents.listOpen(100)).length).toBe(0);
    // four searches an hour: the three lookups above and one more, then the limit (a text that
    // narrows an earlier search is answered from it, uncharged: these two do not)
    expect((await post('composeExtension/query', { commandId: 'searchVm', parameters: [{ name: 'vmName', value: 'tlsoff' }] })).body.composeExtension!.type).toBe('result');
    const limited = await post('composeExtension/query', { commandId: 'searchVm', parameters: [{ name: 'vmName', value: 'exposed' }] });
    expect(messageOf(limited)).toMatch(/look up VMs many times in the last hour/);
    const fetched = await post('composeExtension/fetchTask', { commandId: 'diagnoseMessage', messagePayload: payload('vm-tlsoff-06 is down') });
    expect(taskText(fetched)).toMatch(/look up VMs many times in the last hour/);
  });
});

// Teams sends a query per (debounced) keystroke: typing one name must cost about one search of the
// person's hourly limit and one Resource Graph read, with the answers an uncached lookup gives
describe('typing a name in the search box', () => {
  let h3: Harness;
  const approver: User = { userId: '29:fay', aadObjectId: '00000000-0000-0000-0000-0000000000a8', name: 'Fay', conversationId: 'a:fay-personal' };
  const endUser: User = { userId: '29:gus', aadObjectId: '00000000-0000-0000-0000-0000000000b8', name: 'Gus', conversationId: 'a:gus-personal' };
  const TYPED = ['v', 'vm', 'vm-', 'vm-t', 'vm-tl', 'vm-tls', 'vm-tlsoff', 'vm-tlsoff-06'];
  beforeAll(async () => {
    h3 = await startHarness({ SELF_SERVICE_SCOPE: 'tag:RDP-Self-Service=true', RATE_LIMIT_SEARCHES_PER_HOUR: '2', APPROVER_IDS: approver.aadObjectId });
  });
  afterAll(async () => {
    await h3.close();
  });
  const type = (u: User, text: string) =>
    h3.post(activity(h3, u, { type: 'invoke', name: 'composeExtension/query', value: { commandId: 'searchVm', parameters: [{ name: 'vmName', value: text }], queryOptions: { skip: 0, count: 25 } } })) as Promise<Answer>;
  const titles = (a: Answer) => (a.body.composeExtension!.type === 'result' ? a.body.composeExtension!.attachments!.map((x) => x.preview!.content.title) : a.body.composeExtension!.text);
  const graphReads = () => h3.app.azure.simulator!.operations().filter((o) => /Microsoft\.ResourceGraph\/resources/i.test(o.path)).length;

  it('costs one search and one Resource Graph read, answers as an uncached lookup, and keeps SELF_SERVICE_SCOPE', async () => {
    for (const u of [approver, endUser]) {
      const before = graphReads();
      for (const text of TYPED) {
        const got = titles(await type(u, text));
        if (text.length < 2) {
          expect(got).toMatch(/at least 2 characters/);
          continue;
        }
        const all = (await h3.app.incidents.resolveVm(text)).map((v) => v.name);
        // the demo fleet tags only vm-tlsoff-06 rdp-self-service=true
        const visible = u === approver ? all : all.filter((n) => n === 'vm-tlsoff-06');
        expect([text, got]).toEqual([text, visible.length ? visible : expect.stringMatching(/No VM I may show you/)]);
      }
      // the uncached lookups of the test itself are one read per typed text of two characters or more
      expect(graphReads() - before - (TYPED.length - 1)).toBe(1);
    }
    // the limit still counts what reaches Azure: a second name is the second search, a third is refused
    expect(titles(await type(approver, 'healthy'))).toEqual(['vm-healthy-01']);
    expect(titles(await type(approver, 'exposed'))).toMatch(/look up VMs many times in the last hour/);
    // a narrower text after a refusal is still answered from what was read, with no read
    const before = graphReads();
    expect(titles(await type(approver, 'healthy-01'))).toEqual(['vm-healthy-01']);
    expect(graphReads()).toBe(before);
  });
});
