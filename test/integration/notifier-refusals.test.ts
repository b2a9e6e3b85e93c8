import { AdapterNotifier } from '../../bot/notifier';
import { channelDeliveryError, ConversationGoneError } from '../../bot/channel-transport';
import { isDomainError } from '../../services/errors';
import { silentLogger } from '../../services/log';
import { startHarness, type Harness } from '../support/bot-harness';

/**
 * A proactive post the channel refuses is not delivered, and `send` says so (dialogs/notifier.ts:
 * "send rejects when the message could not be posted"): the CloudAdapter hands a proactive turn's
 * failure to its turn-error handler, so without care the post resolved with no id and callers
 * (an approval card to an approver, the approvers' count) took it as sent.
 */
let h: Harness;
let notifier: AdapterNotifier;
beforeAll(async () => {
  h = await startHarness();
  notifier = new AdapterNotifier(h.app.adapter, '', silentLogger);
});
afterAll(async () => {
  await h.close();
});

const address = (id: string) => ({
  channelId: 'msteams',
  serviceUrl: h.connector.url,
  bot: { id: '28:bot', name: 'RDP Doctor' },
  conversation: { id, conversationType: 'personal', isGroup: false, tenantId: 'tenant-1' },
});
const refusalOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return undefined;
};

it('a post the channel accepts resolves with its activity id', async () => {
  const id = await notifier.send(address('a:fine'), { type: 'message', text: 'hello' });
  expect(id).toMatch(/^act-/);
  expect(h.connector.captured.find((c) => c.activityId === id)?.conversationId).toBe('a:fine');
});

it.each([
  [403, 'MessageWritesBlocked', 'a:bot-removed'],
  [403, 'BotNotInConversationRoster', 'a:not-in-roster'],
  [404, 'ConversationNotFound', 'a:deleted'],
])('a %i %s rejects with a domain error that keeps the channel\'s reason', async (status, code, id) => {
  h.connector.refusals.set(id, { status, code });
  const e = await refusalOf(notifier.send(address(id), { type: 'message', text: 'hello' }));
  expect(isDomainError(e)).toBe(true);
  expect(channelDeliveryError(e)).toBeInstanceOf(ConversationGoneError);
  expect(h.connector.captured.some((c) => c.conversationId === id)).toBe(false);
});

it('a 2xx without an activity id rejects: nothing can be updated or recorded as posted', async () => {
  h.connector.withoutIds.add('a:no-id');
  const e = await refusalOf(notifier.send(address('a:no-id'), { type: 'message', text: 'hello' }));
  expect(isDomainError(e)).toBe(true);
});

it('a refused post is not a failed turn: no apology goes anywhere', async () => {
  const mark = h.mark();
  h.connector.refusals.set('a:gone-again', { status: 403, code: 'MessageWritesBlocked' });
  await refusalOf(notifier.send(address('a:gone-again'), { type: 'message', text: 'hello' }));
  await h.drained();
  expect(h.since(mark)).toEqual([]);
});
