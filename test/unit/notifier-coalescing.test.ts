import type { Activity, CloudAdapter, TurnContext } from 'botbuilder';
import { ChannelGaveUpError, ConversationGoneError } from '../../bot/channel-transport';
import { AdapterNotifier } from '../../bot/notifier';
import { silentLogger } from '../../services/log';

/**
 * The notifier's promise for card updates: only the latest state of a message is sent once an
 * earlier one is on its way, an update that fails never becomes a new post, and a gone
 * conversation is reported as such. A stand-in adapter records what would reach the channel.
 */
function fakeAdapter(behaviour: (a: Partial<Activity>) => Promise<void>) {
  const updates: string[] = [];
  const sends: string[] = [];
  const adapter = {
    async continueConversationAsync(_appId: string, _ref: unknown, logic: (context: TurnContext) => Promise<void>) {
      const context = {
        async updateActivity(a: Partial<Activity>) {
          await behaviour(a);
          updates.push(String(a.text));
        },
        async sendActivity(a: Partial<Activity>) {
          sends.push(String(a.text));
          return { id: `sent-${sends.length}` };
        },
      } as unknown as TurnContext;
      await logic(context);
    },
  } as unknown as CloudAdapter;
  return { adapter, updates, sends };
}

const ref = { conversation: { id: 'a:chat', isGroup: false, conversationType: 'personal', name: '' } };

it('sends only the latest of the states queued behind one in flight', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const { adapter, updates, sends } = fakeAdapter((a) => (a.text === 'step 1' ? gate : Promise.resolve()));
  const n = new AdapterNotifier(adapter, '', silentLogger);
  const outcomes = [n.update(ref, 'card-1', { text: 'step 1' }), n.update(ref, 'card-1', { text: 'step 2' }), n.update(ref, 'card-1', { text: 'step 3' }), n.update(ref, 'card-2', { text: 'other card' })];
  await new Promise((r) => setImmediate(r));
  release();
  expect(await Promise.all(outcomes)).toEqual(['updated', 'updated', 'updated', 'updated']);
  expect(updates.filter((u) => u !== 'other card')).toEqual(['step 1', 'step 3']);
  expect(updates).toContain('other card');
  expect(sends).toEqual([]);
  expect(await n.drain(1000)).toBe(true);
});

it('a failed update is reported, never posted as a new message; a gone conversation says so', async () => {
  const { adapter, sends } = fakeAdapter(async (a) => {
    if (a.text === 'throttled') throw new ChannelGaveUpError('a:chat', 429, 8);
    throw new ConversationGoneError('a:chat', 403, 'MessageWritesBlocked');
  });
  const n = new AdapterNotifier(adapter, '', silentLogger);
  expect(await n.update(ref, 'card-1', { text: 'throttled' })).toBe('failed');
  expect(await n.update(ref, 'card-1', { text: 'blocked' })).toBe('gone');
  expect(sends).toEqual([]);
});
