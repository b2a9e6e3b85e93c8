import { ConversationState, MemoryStorage, type Activity, type ConversationReference, type TurnContext } from 'botbuilder';
import { createAdapter } from '../../bot/adapter';
import type { ChannelHttpClient } from '../../bot/channel-transport';
import { loadConfig } from '../../bot/config';
import { silentLogger } from '../../services/log';

/**
 * The connector clients the adapter reuses across turns (the bench profile showed building them
 * per turn): every reply still goes to the service URL of its own conversation, in a turn and
 * proactively, and one client serves every turn of a service URL.
 */
function recordingChannel() {
  const sent: Array<{ method: string; url: string }> = [];
  const httpClient = {
    async sendRequest(request: { method: string; url: string }) {
      sent.push({ method: request.method, url: request.url });
      return { request, status: 200, headers: { get: () => undefined, toJson: () => ({}) }, bodyAsText: JSON.stringify({ id: `act-${sent.length}` }) };
    },
  } as unknown as ChannelHttpClient;
  return { sent, httpClient };
}

function message(serviceUrl: string, conversationId: string): Activity {
  return {
    type: 'message',
    id: `in-${conversationId}`,
    channelId: 'msteams',
    serviceUrl,
    from: { id: '29:user', name: 'User' },
    recipient: { id: '28:bot', name: 'Bot' },
    conversation: { id: conversationId, isGroup: false, conversationType: 'personal', name: '' },
    text: 'hello',
  } as Activity;
}

const EMEA = 'https://smba.example.net/emea/';
const AMER = 'https://smba.example.net/amer/';

it('one connector client per service URL serves every turn and proactive message, and each reply goes to its own service URL', async () => {
  const { sent, httpClient } = recordingChannel();
  const adapter = createAdapter(loadConfig({}), silentLogger, new ConversationState(new MemoryStorage()), httpClient);
  const clients: unknown[] = [];
  const tokenClients: unknown[] = [];
  const reply = (text: string) => async (context: TurnContext) => {
    clients.push(context.turnState.get(adapter.ConnectorClientKey));
    tokenClients.push(context.turnState.get(adapter.UserTokenClientKey));
    await context.sendActivity(text);
  };

  await adapter.processActivityDirect('', message(EMEA, 'a:one'), reply('one'));
  await adapter.processActivityDirect('', message(EMEA, 'a:two'), reply('two'));
  await adapter.processActivityDirect('', message(AMER, 'a:three'), reply('three'));
  const reference: Partial<ConversationReference> = { serviceUrl: EMEA, channelId: 'msteams', conversation: { id: 'a:one', isGroup: false, conversationType: 'personal', name: '' }, bot: { id: '28:bot', name: 'Bot' } };
  await adapter.continueConversationAsync('', reference, reply('proactive'));
  await adapter.continueConversationAsync('', reference, reply('proactive again'));
  await adapter.continueConversationAsync('', { ...reference, serviceUrl: AMER, conversation: { ...reference.conversation!, id: 'a:three' } }, reply('proactive amer'));

  expect(sent.map((r) => `${r.method} ${r.url.replace(/\/activities.*$/, '')}`)).toEqual([
    `POST ${EMEA}v3/conversations/a%3Aone`,
    `POST ${EMEA}v3/conversations/a%3Atwo`,
    `POST ${AMER}v3/conversations/a%3Athree`,
    `POST ${EMEA}v3/conversations/a%3Aone`,
    `POST ${EMEA}v3/conversations/a%3Aone`,
    `POST ${AMER}v3/conversations/a%3Athree`,
  ]);
  // one client per service URL (and audience: a turn names it, a proactive message leaves it to the default), not one per turn
  expect(clients[1]).toBe(clients[0]);
  expect(clients[2]).not.toBe(clients[0]);
  expect(clients[4]).toBe(clients[3]);
  expect(clients[5]).not.toBe(clients[3]);
  expect(new Set(clients).size).toBeLessThanOrEqual(4);
  expect(new Set(tokenClients).size).toBe(1);
});
