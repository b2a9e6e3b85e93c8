import type { Captured } from '../support/connector';
import { cardText } from '../support/connector';
import { startHarness, type Harness } from '../support/bot-harness';
import { actionData, cardOf } from '../support/journey';

/**
 * The language of the answers (issue #13, item 15): a message clearly written in Russian is
 * answered in Russian whatever the client's locale, and the reverse; what does not say (a VM name,
 * one word, a card click) keeps the conversation's language, else the locale. Transcripts over
 * real HTTP, against the demo fleet.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

let conv = 0;
const newConversation = () => `a:lang-${++conv}`;

/** Sends a message and returns everything the bot posted in that conversation for it. */
async function say(conversationId: string, text: string, locale: string): Promise<string> {
  const mark = h.mark();
  expect(await h.say(text, { conversationId, locale })).toBe(200);
  const first = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId));
  return shown([first, ...h.since(mark).filter((c) => c.conversationId === conversationId && c !== first)]);
}
const shown = (cs: Captured[]) => cs.map((c) => `${c.activity.text ?? ''}\n${cardText(cardOf(c))}`).join('\n');

describe('a Russian message in a client whose locale is en-US', () => {
  it('is answered in Russian, and the VM name that follows keeps Russian, through the consent click', async () => {
    const c = newConversation();
    expect(await say(c, 'RDP не работает, внутренняя ошибка', 'en-US')).toMatch(/К какой ВМ вы подключаетесь\?/);
    const mark = h.mark();
    expect(await say(c, 'vm-tlsoff-06', 'en-US')).toMatch(/Проверить vm-tlsoff-06\?/);
    const consent = h.since(mark).find((x) => x.conversationId === c && /diagnose\.start/.test(JSON.stringify(cardOf(x) ?? '')));
    if (!consent) throw new Error('no consent card');
    const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
    expect((await h.app.store.incidents.get(incidentId))?.lang).toBe('ru');
    // the click carries no text: the conversation's language answers it
    const r = await h.invoke('diagnose.start', { incidentId }, { conversationId: c, locale: 'en-US', replyToId: consent.activityId });
    expect(cardText((r.body as { value: unknown }).value)).toMatch(/Диагностика vm-tlsoff-06/);
  });

  it('a command word in Russian gets the Russian help card', async () => {
    expect(await say(newConversation(), 'помощь', 'en-US')).toMatch(/Что я умею/);
  });
});

describe('an English message in a client whose locale is ru-RU', () => {
  it('is answered in English', async () => {
    const c = newConversation();
    // a VM named in the first message: straight to the consent card (issue #14 item 5)
    expect(await say(c, 'vm-certexpired-04 does not work', 'ru-RU')).toMatch(/Check vm-certexpired-04\?/);
    const d = newConversation();
    expect(await say(d, 'Remote Desktop does not work for me', 'ru-RU')).toMatch(/What do you see when you connect\?/);
    expect(await say(d, 'Internal error', 'ru-RU')).toMatch(/Which VM do you connect to\?/);
  });
});

describe('short or ambiguous text keeps the locale', () => {
  it.each([
    ['ru-RU', 'vm-tlsoff-06', /Проверить vm-tlsoff-06\?/],
    ['en-US', 'vm-tlsoff-06', /Check vm-tlsoff-06\?/],
    ['ru-RU', 'help', /Что я умею/],
    ['en-US', '42', /What do you see when you connect\?|Which VM/],
  ])('%s: %p', async (locale, text, answer) => {
    expect(await say(newConversation(), text, locale)).toMatch(answer);
  });
});
