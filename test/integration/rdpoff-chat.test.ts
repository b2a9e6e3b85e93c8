import { translator } from '../../services/i18n';
import { cardText } from '../support/connector';
import { startHarness, type Harness } from '../support/bot-harness';
import { DEMO_EXPECTED } from '../support/demo-expectations';
import { actionData, cardOf } from '../support/journey';

/**
 * §1b through the chat: each demo VM of "Remote Desktop switched off" and "TermService misconfigured"
 * is diagnosed with exactly one Run Command (the read-only diagnose script, counted in the
 * simulator's operation log), and its finding is on the findings card, in English and Russian.
 */
let h: Harness;
let conv = 0;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const runCommandsFor = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.kind === 'runCommand' && o.vm === vm);
const VMS = ['vm-rdpoff-21', 'vm-listener-22', 'vm-svcdisabled-23', 'vm-svcaccount-24', 'vm-svccrash-25'];

async function diagnose(text: string, locale: string): Promise<{ incidentId: string; card: string }> {
  const conversationId = `a:rdpoff-${++conv}`;
  let mark = h.mark();
  expect(await h.say(text, { locale, conversationId })).toBe(200);
  const consent = await h.connector.waitFor((all) =>
    all.slice(mark).find((c) => c.conversationId === conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))),
  );
  const incidentId = actionData(cardOf(consent), 'diagnose.start').incidentId as string;
  mark = h.mark();
  expect((await h.invoke('diagnose.start', { incidentId }, { locale, conversationId, replyToId: consent.activityId })).status).toBe(200);
  const findings = await h.connector.waitFor((all) =>
    all.slice(mark).find((c) => c.kind === 'update' && c.activityId === consent.activityId && /"findings|Diagnosis of|Результаты диагностики/.test(cardText(cardOf(c)))),
  );
  return { incidentId, card: cardText(cardOf(findings)) };
}

describe('§1b findings through the chat, one Run Command each', () => {
  it.each(VMS)('%s', async (vm) => {
    const before = runCommandsFor(vm).map((o) => o.scriptId);
    const { incidentId, card } = await diagnose(`I can't RDP to ${vm}, internal error`, 'en-US');
    const incident = await h.app.store.incidents.get(incidentId);
    expect(incident?.diagnosis?.findings.map((f) => f.id)).toEqual(DEMO_EXPECTED[vm]);
    expect(runCommandsFor(vm).map((o) => o.scriptId).slice(before.length)).toEqual(['diagnose']);
    const id = DEMO_EXPECTED[vm][DEMO_EXPECTED[vm].length - 1];
    expect(card).toContain(translator('en')(`findings.${id}.title`));
  }, 120_000); // the first journey also warms the bot and the simulator up on a busy machine

  it('in Russian: the title and the evidence of Remote Desktop switched off', async () => {
    const { card } = await diagnose('внутренняя ошибка на vm-rdpoff-21', 'ru-RU');
    expect(card).toContain('Удалённый рабочий стол выключен');
    expect(card).toContain('fDenyTSConnections = 1');
  }, 120_000);
});
