import { startHarness, type Harness } from '../support/bot-harness';
import { conversationIdOf } from '../../dialogs/chat-address';
import { actionData, activity, cardOf, refusal, type User } from '../support/journey';

/**
 * Where the bot reaches a person proactively (consent cards from elsewhere, approval cards) is
 * their personal chat with the bot, recorded from a turn that proves it is that chat: a message
 * typed to the bot there. A message-extension invoke or a card action in a 1:1 chat between two
 * people also arrives with conversationType 'personal' and that chat's id, and the bot is not in
 * that chat: it must neither become nor replace the recorded chat.
 */
const SUB = '00000000-0000-0000-0000-000000000001';
const vmIdOf = (name: string) => `/subscriptions/${SUB}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/${name}`;
const TENANT = 'tenant-1';
const CHANNEL = { id: '19:helpdesk@thread.tacv2;messageid=1700000000001', conversationType: 'channel', isGroup: true, tenantId: TENANT };
// a 1:1 chat between two people, as Teams names it (the bot is not a member)
const PEOPLE_CHAT = { id: '19:0000b1_0000b2@unq.gbl.spaces', conversationType: 'personal', tenantId: TENANT };

const alex: User = { userId: '29:alex', aadObjectId: '00000000-0000-0000-0000-0000000000b1', name: 'Alex', conversationId: 'a:alex-personal' };
const carl: User = { userId: '29:carl', aadObjectId: '00000000-0000-0000-0000-0000000000b3', name: 'Carl', conversationId: 'a:carl-personal' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ RATE_LIMIT_SEARCHES_PER_HOUR: '400', RATE_LIMIT_INCIDENTS_PER_HOUR: '200' });
});
afterAll(async () => {
  await h.close();
});

/** What Teams sends when `u` uses the message extension, or clicks a card, in the 1:1 chat with another person. */
const inPeopleChat = (u: User, body: Record<string, unknown>) => h.post({ ...activity(h, u, body), conversation: PEOPLE_CHAT, channelData: { tenant: { id: TENANT } } });
const searchThere = (u: User) => inPeopleChat(u, { type: 'invoke', name: 'composeExtension/query', value: { commandId: 'searchVm', parameters: [{ name: 'vmName', value: 'vm-tls' }], queryOptions: { skip: 0, count: 25 } } });
const fetchTaskThere = (u: User) =>
  inPeopleChat(u, { type: 'invoke', name: 'composeExtension/fetchTask', value: { commandId: 'diagnoseMessage', commandContext: 'message', messagePayload: { id: '1', body: { contentType: 'html', content: 'vm-tlsoff-06 is down' } } } });
const clickThere = (u: User, vm: string) =>
  inPeopleChat(u, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'vm.diagnose', data: { vmId: vmIdOf(vm) } }, trigger: 'manual' }, replyToId: '1700000000002' });
const clickInChannel = (u: User, vm: string) =>
  h.post({ ...activity(h, u, { type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'vm.diagnose', data: { vmId: vmIdOf(vm) } }, trigger: 'manual' }, replyToId: '1700000000001' }), conversation: CHANNEL, channelData: { tenant: { id: TENANT } } });
const consentIn = (mark: number, conversationId: string) =>
  h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
const personalOf = async (u: User) => conversationIdOf((await h.app.store.users.get(u.userId))?.personal);

it('a person who never wrote to the bot and used it in a chat with a colleague is not reached in that chat', async () => {
  expect((await searchThere(carl)).status).toBe(200);
  expect((await fetchTaskThere(carl)).status).toBe(200);
  expect(await personalOf(carl)).toBeUndefined();
  // their next Diagnose click in a channel gets the consent card there, not in the colleague chat
  const mark = h.mark();
  expect(refusal(await clickInChannel(carl, 'vm-tlsoff-06'))).toBe('The consent card for vm-tlsoff-06 is in this conversation.');
  const consent = await consentIn(mark, CHANNEL.id);
  expect(await h.app.store.incidents.get(actionData(cardOf(consent), 'diagnose.start').incidentId)).toMatchObject({ requester: { id: carl.userId } });
  await h.drained();
  expect(h.since(mark).filter((c) => c.conversationId === PEOPLE_CHAT.id)).toEqual([]);
});

it('the chat a person wrote to the bot in stays theirs after they use the bot in a chat with a colleague', async () => {
  const m0 = h.mark();
  await h.post(activity(h, alex, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(m0).find((c) => c.conversationId === alex.conversationId));
  expect(await personalOf(alex)).toBe(alex.conversationId);
  expect((await searchThere(alex)).status).toBe(200);
  expect((await fetchTaskThere(alex)).status).toBe(200);
  await clickThere(alex, 'vm-healthy-01');
  // an Action.Submit of a card in that chat comes as a message with a value
  await inPeopleChat(alex, { type: 'message', value: { verb: 'vm.diagnose', vmId: vmIdOf('vm-healthy-01') } });
  await h.drained();
  expect(await personalOf(alex)).toBe(alex.conversationId);
  const mark = h.mark();
  expect(refusal(await clickInChannel(alex, 'vm-certexpired-04'))).toBe('I sent you the consent card for vm-certexpired-04 in your personal chat with me.');
  await consentIn(mark, alex.conversationId);
});

it('a message typed to the bot in its personal chat is what records it (a new chat after a reinstall replaces the old)', async () => {
  const moved: User = { ...alex, conversationId: 'a:alex-personal-2' };
  const mark = h.mark();
  await h.post(activity(h, moved, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === moved.conversationId));
  expect(await personalOf(alex)).toBe(moved.conversationId);
});
