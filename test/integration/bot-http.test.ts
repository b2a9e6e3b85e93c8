import { cardText } from '../support/connector';
import { startHarness, type Harness } from '../support/bot-harness';

/** The host through real HTTP: the bot answers at the serviceUrl of a local connector, as in Teams. */
describe('bot over HTTP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  /** an activity in `conversation` as Teams sends it (a message from user 2 unless `extra` overrides it) */
  const activityIn = (conversation: Record<string, unknown>, extra: Record<string, unknown>) => ({
    type: 'message',
    channelId: 'msteams',
    serviceUrl: h.connector.url,
    locale: 'en-US',
    from: { id: '29:user-2' },
    recipient: { id: '28:rdp-doctor' },
    conversation,
    ...extra,
  });

  it('answers /healthz and /readyz', async () => {
    const base = `http://127.0.0.1:${h.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', storage: 'sqlite' });
  });

  it('welcomes a new personal chat and says it is in demo mode', async () => {
    const mark = h.mark();
    const r = await h.post(
      activityIn(
        { id: 'a:welcome-1', conversationType: 'personal' },
        { type: 'conversationUpdate', from: { id: '29:user-1' }, membersAdded: [{ id: '28:rdp-doctor' }, { id: '29:user-1' }] },
      ),
    );
    expect(r.status).toBe(200);
    const sent = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === 'a:welcome-1'));
    expect(sent.activity.text).toMatch(/RDP Doctor/);
    expect(cardText(sent.activity.attachments?.[0].content)).toMatch(/Demo mode/);
  });

  it('shows the help card, in Russian for a Russian locale', async () => {
    let mark = h.mark();
    await h.say('help', { conversationId: 'a:help-en' });
    const en = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === 'a:help-en'));
    expect(cardText(en.activity.attachments?.[0].content)).toMatch(/What I can do/);

    mark = h.mark();
    await h.say('help', { locale: 'ru-RU', conversationId: 'a:help-ru' });
    const ru = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === 'a:help-ru'));
    expect(cardText(ru.activity.attachments?.[0].content)).toMatch(/Что я умею/);
  });

  it('strips the @mention in a channel', async () => {
    const mark = h.mark();
    const r = await h.post(
      activityIn(
        { id: '19:channel@thread.skype;messageid=1', conversationType: 'channel' },
        { text: '<at>RDP Doctor</at> help', entities: [{ type: 'mention', text: '<at>RDP Doctor</at>', mentioned: { id: '28:rdp-doctor', name: 'RDP Doctor' } }] },
      ),
    );
    expect(r.status).toBe(200);
    const got = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId.startsWith('19:channel')));
    expect(cardText(got.activity.attachments?.[0].content)).toMatch(/What I can do/);
  });

  it('cancel works when nothing runs and in the middle of the intake', async () => {
    let mark = h.mark();
    await h.say('cancel', { conversationId: 'a:cancel' });
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /nothing to cancel/.test(c.activity.text ?? '')));
    mark = h.mark();
    await h.say('my RDP is broken', { conversationId: 'a:cancel' });
    await h.connector.waitFor((all) => all.slice(mark).length > 0);
    mark = h.mark();
    await h.say('отмена', { conversationId: 'a:cancel' });
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /Cancelled|Отменено/.test(c.activity.text ?? '')));
  });

  it.each([
    ['not JSON', '{"type":', 400],
    ['an array', '[1,2]', 400],
    ['no type', '{"text":"hi"}', 400],
  ])('refuses %s with 400', async (_name, body, status) => {
    const res = await fetch(`http://127.0.0.1:${h.port}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(status);
  });

  // shapes botbuilder reads without checking (TurnContext.getMentions, the members of a conversationUpdate):
  // each used to end its turn in a TypeError ("unhandled error in turn") instead of a clear refusal
  it.each([
    ['no sender', {}, { from: undefined }],
    ['entities that are not a list', {}, { entities: 'x' }],
    ['a mention that names no one', {}, { entities: [{ type: 'mention', text: '<at>x</at>' }] }],
    ['members added that are not a list', { type: 'conversationUpdate' }, { membersAdded: 'x' }],
    ['a member with no id', { type: 'conversationUpdate' }, { membersAdded: [{ name: 'x' }] }],
    ['attachments that are not a list', {}, { attachments: {} }],
    ['channel data that is not an object', {}, { channelData: 'x' }],
    ['a locale that is not a language tag', {}, { locale: '../../etc/passwd' }],
  ])('refuses an activity with %s with 400 and a reason', async (_name, kind, bad) => {
    const r = await h.post(activityIn({ id: 'a:shapes', conversationType: 'personal' }, { text: 'help', ...kind, ...bad }));
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ error: expect.stringMatching(/^expected a Bot Framework activity \(\w+/) });
  });

  it('answers a channel message that carries a mention but no text (no crash in the mention removal)', async () => {
    const mark = h.mark();
    const r = await h.post(
      activityIn(
        { id: '19:channel@thread.skype;messageid=2', conversationType: 'channel' },
        {
          attachments: [{ contentType: 'image/png', contentUrl: 'https://example.invalid/x.png' }],
          entities: [{ type: 'mention', text: '<at>RDP Doctor</at>', mentioned: { id: '28:rdp-doctor' } }],
        },
      ),
    );
    expect(r.status).toBe(200);
    const got = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId.startsWith('19:channel@thread.skype;messageid=2')));
    expect(got.activity.text).toMatch(/didn't get any text/);
  });

  it('without an app id, refuses a serviceUrl that is not on this machine (it would receive the replies)', async () => {
    const mark = h.mark();
    const r = await h.post({
      type: 'message',
      text: 'help',
      channelId: 'msteams',
      serviceUrl: 'https://smba.example.invalid/emea/',
      from: { id: '29:u' },
      recipient: { id: '28:b' },
      conversation: { id: 'a:ssrf' },
    });
    expect(r.status).toBe(403);
    expect(h.since(mark)).toEqual([]);
  });

  it('refuses a body over the size limit with 413', async () => {
    const res = await fetch(`http://127.0.0.1:${h.port}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'message', text: 'x'.repeat(400 * 1024) }),
    });
    expect(res.status).toBe(413);
  });

  it('answers an unknown card verb with a clear error and no crash', async () => {
    const r = await h.invoke('no.such.verb', { x: 1 });
    // HTTP 200: the Universal Actions answer carries its own statusCode (a 400 would be a generic failure in Teams)
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { message: expect.stringMatching(/recognise that button/) } });
  });

  it('tells the user when a message has no text', async () => {
    const mark = h.mark();
    await h.say('   ', { conversationId: 'a:empty' });
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /didn't get any text/.test(c.activity.text ?? '')));
  });
});

describe('bot with an app id', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 'test-secret', MicrosoftAppType: 'MultiTenant' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('refuses a POST without a valid token with 401', async () => {
    const mark = h.mark();
    const r = await h.post({
      type: 'message',
      text: 'help',
      channelId: 'msteams',
      serviceUrl: h.connector.url,
      from: { id: '29:u' },
      recipient: { id: '28:b' },
      conversation: { id: 'a:x' },
    });
    expect(r.status).toBe(401);
    const forged = await h.post({ type: 'message', text: 'help', channelId: 'msteams', serviceUrl: h.connector.url, from: { id: '29:u' }, recipient: { id: '28:b' }, conversation: { id: 'a:x' } }, { authorization: 'Bearer not-a-token' });
    expect(forged.status).toBe(401);
    expect(h.since(mark)).toEqual([]);
  });
});

describe('an unexpected error in a turn', () => {
  it('tells the user with an incident reference and keeps working', async () => {
    const broken = {
      findVms: () => Promise.reject(new TypeError('boom: a bug, not an Azure error')),
    } as unknown as import('../../services/azure/gateway').AzureGateway;
    const h2 = await startHarness({}, { gateway: broken });
    try {
      let mark = h2.mark();
      await h2.say('internal error on vm-web-01', { conversationId: 'a:boom' });
      const sorry = await h2.connector.waitFor((all) => all.slice(mark).find((c) => /something went wrong on my side/.test(c.activity.text ?? '')));
      expect(sorry.activity.text).toMatch(/reference: E-[0-9A-F]{8}/);
      // the broken dialog stack was cleared: the next message is answered normally
      mark = h2.mark();
      await h2.say('help', { conversationId: 'a:boom' });
      await h2.connector.waitFor((all) => all.slice(mark).find((c) => /What I can do/.test(JSON.stringify(c.activity))));
    } finally {
      await h2.close();
    }
  });
});
