import { startHarness, type Harness } from '../support/bot-harness';
import { cardText, type Captured } from '../support/connector';
import { actionData, activity, cardOf, type User } from '../support/journey';

/**
 * In a channel or group chat the bot hears only messages that @mention it, and card actions. Its
 * questions there are cards with buttons or a text box (answered without a mention) that say
 * to mention the bot when typing; and one member's mention never answers another member's
 * question. Transcripts over HTTP, as Teams delivers them.
 */
const alex: User = { userId: '29:alex', aadObjectId: '00000000-0000-0000-0000-0000000000b1', name: 'Alex', conversationId: '19:group@unq.gbl.spaces' };
const bea: User = { userId: '29:bea', aadObjectId: '00000000-0000-0000-0000-0000000000b2', name: 'Bea', conversationId: '19:group@unq.gbl.spaces' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const GROUP = { id: '19:group@unq.gbl.spaces', conversationType: 'groupChat', isGroup: true, tenantId: 'tenant-1' };
const THREAD = { id: '19:helpdesk@thread.tacv2;messageid=1700000000000', conversationType: 'channel', isGroup: true, tenantId: 'tenant-1' };

/** A member's message or card answer in a shared conversation; what the bot answered to it. */
async function turn(u: User, conversation: Record<string, unknown>, body: Record<string, unknown>): Promise<Captured> {
  const mark = h.mark();
  const r = await h.post({ ...activity(h, u, { type: 'message', ...body }), conversation, channelData: { tenant: { id: 'tenant-1' } } });
  expect(r.status).toBe(200);
  return h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversation.id));
}
const say = (u: User, conversation: Record<string, unknown>, text: string) =>
  turn(u, conversation, { text: `<at>RDP Doctor</at> ${text}`, entities: [{ type: 'mention', mentioned: { id: '28:rdp-doctor', name: 'RDP Doctor' }, text: '<at>RDP Doctor</at>' }] });
const answer = (u: User, conversation: Record<string, unknown>, reply: string) => turn(u, conversation, { value: { intakeReply: reply } });

const consentFor = async (c: Captured) => {
  const { incidentId } = actionData(cardOf(c), 'diagnose.start');
  return h.app.store.incidents.get(incidentId);
};

describe('a group chat with two members', () => {
  it('keeps each member\'s questions apart, and answers come from the cards', async () => {
    // Alex names no VM: the question is a card with a text box, and says to mention the bot
    const askVm = await say(alex, GROUP, "I can't connect, internal error");
    const vmCard = cardOf(askVm);
    expect(cardText(vmCard)).toMatch(/Which VM do you connect to\?[\s\S]*mention me \(@RDP Doctor\)[\s\S]*\[Check this VM\]/);
    expect(JSON.stringify(vmCard)).toMatch(/"type":"Input\.Text","id":"intakeReply"/);

    // Bea's mention starts her own intake (naming neither symptom nor VM), it does not answer Alex's question
    const askSymptom = await say(bea, GROUP, 'RDP does not work');
    expect(cardText(cardOf(askSymptom))).toMatch(/What do you see when you connect\?[\s\S]*An internal error has occurred[\s\S]*\[Internal error\]/);
    expect(JSON.stringify(cardOf(askSymptom))).toMatch(/"type":"Action\.Submit","title":"Internal error","data":\{"intakeReply":"Internal error"\}/);

    // Alex types the VM into the card; Bea clicks a symptom button, then types her VM
    const alexConsent = await answer(alex, GROUP, 'vm-certexpired-04');
    expect(cardText(cardOf(alexConsent))).toMatch(/Check vm-certexpired-04\?/);
    expect(await consentFor(alexConsent)).toMatchObject({ requester: { id: alex.userId }, vmName: 'vm-certexpired-04', symptom: 'internal-error' });
    const beaVm = await answer(bea, GROUP, 'Internal error');
    expect(cardText(cardOf(beaVm))).toMatch(/Which VM do you connect to\?/);
    const beaConsent = await answer(bea, GROUP, 'vm-tlsoff-06');
    expect(cardText(cardOf(beaConsent))).toMatch(/Check vm-tlsoff-06\?/);
    expect(await consentFor(beaConsent)).toMatchObject({ requester: { id: bea.userId }, vmName: 'vm-tlsoff-06', symptom: 'internal-error' });
  });

  it('an empty card answer is refused, not taken as a VM name', async () => {
    await say(alex, GROUP, 'internal error');
    const r = await answer(alex, GROUP, '   ');
    expect(r.activity.text).toMatch(/didn't get any text/);
  });
});

describe('a channel thread', () => {
  it('asks with a card and continues from the card\'s answer; cancel with a mention still works', async () => {
    const askVm = await say(alex, THREAD, 'internal error when I RDP');
    expect(cardText(cardOf(askVm))).toMatch(/Which VM[\s\S]*mention me/);
    const consent = await answer(alex, THREAD, 'vm-healthy-01');
    expect(cardText(cardOf(consent))).toMatch(/Check vm-healthy-01\?/);

    await say(bea, THREAD, 'internal error');
    const cancelled = await say(bea, THREAD, 'cancel');
    expect(cancelled.activity.text).toMatch(/^Cancelled./);
  });
});

describe('a personal chat', () => {
  it('still asks in plain text', async () => {
    const personal = { id: 'a:alex-personal', conversationType: 'personal', tenantId: 'tenant-1' };
    const ask = await turn(alex, personal, { text: 'internal error' });
    expect(ask.activity.text).toMatch(/Which VM do you connect to\?/);
    expect(ask.activity.attachments ?? []).toEqual([]);
  });
});
