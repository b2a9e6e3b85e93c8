import type { Captured } from '../support/connector';
import { cardText } from '../support/connector';
import { startHarness, type Harness } from '../support/bot-harness';
import { DEMO_BLOCKED, DEMO_EXPECTED } from '../support/demo-expectations';
import { actionData, cardOf, refusal } from '../support/journey';

/**
 * The diagnosis journey as a user lives it, over real HTTP, against the simulated fleet through
 * the real Azure SDK: words -> consent card -> progress -> findings card.
 */
let h: Harness;
let conv = 0;
beforeAll(async () => {
  // every demo VM is diagnosed by one user here: more than the default hourly limits
  h = await startHarness({ RATE_LIMIT_DIAGNOSES_PER_HOUR: '200', RATE_LIMIT_INCIDENTS_PER_HOUR: '200', RATE_LIMIT_SEARCHES_PER_HOUR: '400' });
});
afterAll(async () => {
  await h.close();
});

/** The "View the script" links of a card. */
function scriptUrls(card: unknown): string[] {
  return [...JSON.stringify(card).matchAll(/"type":"Action\.OpenUrl","title":"[^"]*","url":"([^"]+\/scripts\/[0-9a-f]{64})"/g)].map((m) => m[1]);
}

/** The text at a script link (the bot listens on 127.0.0.1; the link names localhost). */
async function fetchScript(url: string): Promise<string> {
  const res = await fetch(url.replace('//localhost:', '//127.0.0.1:'));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  return res.text();
}

const runCommandsFor = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.kind === 'runCommand' && o.vm === vm);

interface Journey {
  conversationId: string;
  consent: Captured;
  incidentId: string;
}

async function report(text: string, opts: { locale?: string; userId?: string; localTimezone?: string } = {}): Promise<Journey> {
  const conversationId = `a:journey-${++conv}`;
  const mark = h.mark();
  expect(await h.say(text, { ...opts, conversationId })).toBe(200);
  const consent = await h.connector.waitFor((all) =>
    all.slice(mark).find((c) => c.conversationId === conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))),
  );
  return { conversationId, consent, incidentId: actionData(cardOf(consent), 'diagnose.start').incidentId };
}

async function consentAndWait(j: Journey, opts: { locale?: string; userId?: string } = {}) {
  const mark = h.mark();
  const r = await h.invoke('diagnose.start', { incidentId: j.incidentId }, { ...opts, conversationId: j.conversationId, replyToId: j.consent.activityId });
  expect(r.status).toBe(200);
  const findings = await h.connector.waitFor((all) =>
    all
      .slice(mark)
      .find((c) => c.kind === 'update' && c.activityId === j.consent.activityId && /"findings|Diagnosis of|Результаты диагностики/.test(cardText(cardOf(c)))),
  );
  return { invoke: r, findings, after: () => h.since(mark) };
}

describe('diagnosis in English', () => {
  it('walks from "internal error" to the findings card naming the expired certificate, with one Run Command', async () => {
    const before = runCommandsFor('vm-certexpired-04').length;
    const j = await report("I can't RDP to vm-certexpired-04, internal error");
    const consentText = cardText(cardOf(j.consent));
    expect(consentText).toMatch(/Check vm-certexpired-04\?/);
    expect(consentText).toMatch(/Read-only: nothing on the VM is changed/);
    // the script is not on the card: a link to its exact text, pinned by its hash
    expect(JSON.stringify(cardOf(j.consent))).not.toContain('rdp-doctor-script: diagnose');
    const script = await fetchScript(scriptUrls(cardOf(j.consent))[0]);
    expect(script).toMatch(/^# rdp-doctor-script: diagnose\n/);
    expect(runCommandsFor('vm-certexpired-04').length).toBe(before); // nothing ran before consent

    const { invoke, findings, after } = await consentAndWait(j);
    const progress = (invoke.body as { type: string; value: unknown });
    expect(progress.type).toBe('application/vnd.microsoft.card.adaptive');
    expect(cardText(progress.value)).toMatch(/Diagnosing vm-certexpired-04/);

    const text = cardText(cardOf(findings));
    expect(text).toMatch(/The RDP certificate has expired/);
    expect(text).toMatch(/Certificate and key errors were logged/);
    expect(text).toMatch(/Renew the RDP certificate/);
    expect(runCommandsFor('vm-certexpired-04').slice(before).map((o) => o.scriptId)).toEqual(['diagnose']);
    // the requester also hears that the result is there
    await h.connector.waitFor(() => after().find((c) => c.kind === 'send' && /diagnosis of vm-certexpired-04 is ready/.test(c.activity.text ?? '')));

    const incident = await h.app.store.incidents.get(j.incidentId);
    expect(incident).toMatchObject({ state: 'diagnosed', vmName: 'vm-certexpired-04' });
    expect(incident?.diagnosis?.findings.map((f) => f.id)).toEqual(DEMO_EXPECTED['vm-certexpired-04']);
    const audit = await h.app.store.audit.list({ incidentId: j.incidentId });
    expect(audit.map((a) => a.action)).toEqual(['incident.opened', 'diagnosis.started', 'diagnosis.completed']);
  });

  it('a double click on consent runs the diagnosis once', async () => {
    const before = runCommandsFor('vm-healthy-01').length;
    const j = await report('internal error connecting to vm-healthy-01');
    const clicks = await Promise.all(
      [1, 2, 3].map(() => h.invoke('diagnose.start', { incidentId: j.incidentId }, { conversationId: j.conversationId, replyToId: j.consent.activityId })),
    );
    expect(clicks.map((c) => c.status)).toEqual([200, 200, 200]);
    await h.connector.waitFor((all) => all.find((c) => c.kind === 'update' && c.activityId === j.consent.activityId && /no problem/.test(cardText(cardOf(c)))));
    expect(runCommandsFor('vm-healthy-01').length - before).toBe(1);
  });

  it('someone else cannot start the diagnosis of my incident', async () => {
    const j = await report('internal error on vm-exposed-02');
    const r = await h.invoke('diagnose.start', { incidentId: j.incidentId }, { userId: '29:intruder', aadObjectId: '00000000-0000-0000-0000-0000000000e9', conversationId: j.conversationId });
    expect(refusal(r)).toMatch(/only the person who reported this problem/);
    expect((await h.app.store.incidents.get(j.incidentId))?.state).toBe('awaiting-consent');
  });

  it.each([
    ['a bad incident id', { incidentId: 'not-a-uuid' }],
    ['extra junk', { incidentId: 42 }],
  ])('refuses malformed card data: %s', async (_name, data) => {
    const r = await h.invoke('diagnose.start', data as Record<string, unknown>);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error' });
  });

  it('refuses an unknown incident with a sentence', async () => {
    const r = await h.invoke('diagnose.start', { incidentId: '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11' });
    expect(refusal(r)).toMatch(/could not find incident/);
  });
});

describe('diagnosis in Russian', () => {
  it('walks from «внутренняя ошибка» to the findings card for vm-tlsoff-06, in Russian', async () => {
    const j = await report('Не могу подключиться по RDP к vm-tlsoff-06: произошла внутренняя ошибка', { locale: 'ru-RU' });
    expect(cardText(cardOf(j.consent))).toMatch(/Проверить vm-tlsoff-06\?[\s\S]*Только чтение[\s\S]*\[Проверить\]/);
    const { findings } = await consentAndWait(j, { locale: 'ru-RU' });
    const text = cardText(cardOf(findings));
    expect(text).toMatch(/TLS 1\.2 отключён для сервера/);
    expect(text).toMatch(/Включить TLS 1\.2 для сервера/);
    expect(text).not.toMatch(/The |Evidence/);
  });

  it('the findings card, posted later by the job, shows times in the requester\'s zone and Russian numbers', async () => {
    const j = await report('внутренняя ошибка на vm-certexpired-04', { locale: 'ru-RU', localTimezone: 'Europe/Moscow' });
    // the consent click comes without a zone: the card the job posts uses the one stored with the incident
    const { findings } = await consentAndWait(j, { locale: 'ru-RU' });
    const text = cardText(cardOf(findings));
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    // «… с 29.11.2026 18:28 GMT+3.» in the evidence, «…, 8,3 с, 29.11.2026 18:28 GMT+3» in the stats
    expect(text).toMatch(/ с \d{2}\.\d{2}\.\d{4} \d{2}:\d{2} GMT\+3\./);
    expect(text).toMatch(/\d+(,\d)? с, \d{2}\.\d{2}\.\d{4} \d{2}:\d{2} GMT\+3/);
    expect(text).toMatch(/Найден\S* \d+ проблем/);
    expect((await h.app.store.incidents.get(j.incidentId))?.tz).toBe('Europe/Moscow');
  });
});

describe('blockers and VM choice', () => {
  it.each(DEMO_BLOCKED)('%s stops at its blocker without any Run Command', async (vm) => {
    const before = runCommandsFor(vm).length;
    const j = await report(`internal error on ${vm}`);
    const { findings } = await consentAndWait(j);
    const incident = await h.app.store.incidents.get(j.incidentId);
    expect(incident?.state).toBe('blocked');
    expect(incident?.diagnosis?.findings.map((f) => f.id)).toEqual(DEMO_EXPECTED[vm]);
    expect(runCommandsFor(vm).length).toBe(before);
    if (vm === 'vm-noagent-08') {
      expect(cardText(cardOf(findings))).toContain('[Offline repair guide]');
      // the guide for drive F: the rescue VM's scripts, written for that letter
      const mark = h.mark();
      const bad = await h.invoke('offline.guide', { incidentId: j.incidentId, drive: 'C' }, { conversationId: j.conversationId });
      expect(refusal(bad)).toMatch(/drive|letter/i);
      const r = await h.invoke('offline.guide', { incidentId: j.incidentId, drive: 'f' }, { conversationId: j.conversationId });
      expect(r.status).toBe(200);
      // the click's answer is a message the client shows as a banner: it says where the guide is, never nothing
      expect(r.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.activity.message' });
      expect((r.body as { value: string }).value).toMatch(/guide for drive F: is in the next message/);
      const guide = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.kind === 'send' && /Offline repair/.test(cardText(cardOf(c)))));
      // each step's script is a link to its exact text, written for drive F
      const scripts = await Promise.all(scriptUrls(cardOf(guide)).map(fetchScript));
      expect(scripts).toHaveLength(3);
      const all = scripts.join('\n');
      expect(all).toContain("[string]$Drive = 'F'");
      expect(cardText(cardOf(guide))).toMatch(/The attached disk is F:/);
      expect(all).not.toContain('__DRIVE__');
      expect(runCommandsFor(vm).length).toBe(before);
    }
  });

  it('offers a choice when several VMs match, and a pick leads to the consent card', async () => {
    const conversationId = 'a:pick';
    const mark = h.mark();
    await h.say('diagnose cert', { conversationId });
    const only = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId));
    // "cert" names one VM only: straight to consent
    expect(cardText(cardOf(only))).toMatch(/Check vm-certexpired-04\?/);

    const m2 = h.mark();
    await h.say('diagnose 0', { conversationId });
    const pick = await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === conversationId));
    expect(cardText(cardOf(pick))).toMatch(/9 VMs match "0"/);
    const { incidentId, vmId } = actionData(cardOf(pick), 'vm.pick', (d) => d.vmId.endsWith('/vm-healthy-01'));
    const r = await h.invoke('vm.pick', { incidentId, vmId }, { conversationId, replyToId: pick.activityId });
    expect(r.status).toBe(200);
    expect(cardText((r.body as { value: unknown }).value)).toMatch(/Check vm-healthy-01\?/);

    // a VM that was not offered is refused
    const tampered = await h.invoke('vm.pick', { incidentId, vmId: vmId.replace('vm-healthy-01', 'vm-secret-99') }, { conversationId });
    expect(refusal(tampered)).toMatch(/not valid/);
  });

  it('says so when no VM matches, and asks again', async () => {
    const conversationId = 'a:nomatch';
    const mark = h.mark();
    await h.say('internal error on vm-nothere-77', { conversationId });
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /No VM I can see matches "vm-nothere-77"/.test(c.activity.text ?? '')));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => /Which VM is it\?/.test(c.activity.text ?? '')));
    const m2 = h.mark();
    await h.say('vm-tlsoff-06', { conversationId });
    const consent = await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === conversationId));
    expect(cardText(cardOf(consent))).toMatch(/Check vm-tlsoff-06\?/);
  });

  it('asks for the symptom when the text says neither the symptom nor the VM', async () => {
    const conversationId = 'a:symptom';
    const mark = h.mark();
    await h.say('RDP does not work', { conversationId });
    const ask = await h.connector.waitFor((all) => all.slice(mark).find((c) => /What do you see when you connect\?/.test(JSON.stringify(c.activity))));
    // a card with short Action.Submit buttons (the playground has no imBack), the full messages in its body
    const actions = (cardOf(ask) as { actions: Array<{ type: string; title: string }> }).actions;
    expect(actions.map((a) => [a.type, a.title])).toEqual([
      ['Action.Submit', 'Internal error'],
      ['Action.Submit', 'Stuck configuring'],
      ['Action.Submit', "Can't connect"],
      ['Action.Submit', 'Something else'],
    ]);
    expect(cardText(cardOf(ask))).toMatch(/An internal error has occurred/);
    const m2 = h.mark();
    await h.say('An internal error has occurred', { conversationId });
    await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === conversationId && /Which VM do you connect to\?/.test(c.activity.text ?? '')));
    const m3 = h.mark();
    await h.say('vm-portclash-03', { conversationId });
    const consent = await h.connector.waitFor((all) => all.slice(m3).find((c) => c.conversationId === conversationId));
    expect(cardText(cardOf(consent))).toMatch(/Check vm-portclash-03\?[\s\S]*An internal error has occurred/);
  });
});

describe('the whole "can\'t RDP" family in the chat (issue #14 item 5)', () => {
  it.each([
    ['en-US', "I can't RDP to vm-tlsoff-06", /Check vm-tlsoff-06\?[\s\S]*Can't connect over RDP/],
    ['ru-RU', 'Не могу подключиться по RDP к vm-tlsoff-06', /Проверить vm-tlsoff-06\?[\s\S]*Не удаётся подключиться по RDP/],
  ])('%s: a first message naming the VM gets the consent card, no symptom question', async (locale, text, want) => {
    const conversationId = `a:family-${locale}`;
    const mark = h.mark();
    await h.say(text, { conversationId, locale });
    const first = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId));
    expect(cardText(cardOf(first))).toMatch(want);
    expect(h.since(mark).filter((c) => c.conversationId === conversationId).map((c) => JSON.stringify(c.activity)).join('\n')).not.toMatch(/What do you see|Что вы видите/);
  });

  it.each([
    ['en-US', 'The remote computer requires Network Level Authentication, which your computer does not support.', /Which VM do you connect to\?/, 'nla-required'],
    ['ru-RU', 'Удаленный сеанс отключен, поскольку отсутствуют доступные серверы лицензирования удаленных рабочих столов.', /К какой ВМ вы подключаетесь\?/, 'licensing'],
  ])('%s: pasted error text without a VM gets the VM question, and the symptom is recognised', async (locale, text, question, symptom) => {
    const conversationId = `a:pasted-${locale}`;
    const mark = h.mark();
    await h.say(text, { conversationId, locale });
    const ask = await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId));
    expect(ask.activity.text ?? '').toMatch(question);
    const m2 = h.mark();
    await h.say('vm-healthy-01', { conversationId, locale });
    const consent = await h.connector.waitFor((all) => all.slice(m2).find((c) => c.conversationId === conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
    const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
    expect(await h.app.store.incidents.get(incidentId)).toMatchObject({ vmName: 'vm-healthy-01', symptom });
  });

  it('the symptom orders the findings card: the likely cause is named and listed first within its severity', async () => {
    // vm-exposed-02: rdp-exposed-to-internet and brute-force-suspected, both critical
    const plain = await consentAndWait(await report('check vm-exposed-02'));
    const plainText = cardText(cardOf(plain.findings));
    expect(plainText).not.toMatch(/Most likely/);
    expect(plainText.indexOf('Password-guessing')).toBeGreaterThan(plainText.indexOf('open to the whole Internet'));
    const told = await consentAndWait(await report('Your credentials did not work on vm-exposed-02'));
    const toldText = cardText(cardOf(told.findings));
    expect(toldText).toMatch(/Most likely the cause of what you see \("Your credentials did not work"\): Password-guessing attack suspected\./);
    expect(toldText.indexOf('Password-guessing', toldText.indexOf('Most likely') + 40)).toBeLessThan(toldText.indexOf('open to the whole Internet'));
  });
});

describe('every VM of the demo fleet through the chat', () => {
  it.each(Object.entries(DEMO_EXPECTED).filter(([vm]) => vm !== 'vm-busy-09'))('%s yields exactly its findings', async (vm, expected) => {
    const j = await report(`internal error on ${vm}`);
    await consentAndWait(j);
    const incident = await h.app.store.incidents.get(j.incidentId);
    expect(incident?.diagnosis?.findings.map((f) => f.id)).toEqual(expected);
    if (vm === 'vm-healthy-01') expect(incident?.diagnosis?.findings.filter((f) => f.severity === 'critical')).toEqual([]);
  });
});

describe('rate limit', () => {
  it('refuses the diagnoses of one user past the hourly limit, and runs nothing for them', async () => {
    const limited = await startHarness({ RATE_LIMIT_DIAGNOSES_PER_HOUR: '2' });
    try {
      const runs = () => limited.app.azure.simulator!.operations().filter((o) => o.kind === 'runCommand').length;
      const statuses: string[] = [];
      for (let i = 0; i < 3; i++) {
        const conversationId = `a:limited-${i}`;
        const mark = limited.mark();
        await limited.say('internal error on vm-healthy-01', { conversationId, userId: '29:busy-user' });
        const consent = await limited.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === conversationId && /diagnose\.start/.test(JSON.stringify(c.activity))));
        const incidentId = /"incidentId":"([0-9a-f-]{36})"/.exec(JSON.stringify(consent.activity))![1];
        const r = await limited.invoke('diagnose.start', { incidentId }, { conversationId, userId: '29:busy-user', replyToId: consent.activityId });
        statuses.push((r.body as { type: string }).type);
        if (i === 2) expect(refusal(r)).toMatch(/many diagnoses in the last hour/);
      }
      expect(statuses).toEqual(['application/vnd.microsoft.card.adaptive', 'application/vnd.microsoft.card.adaptive', 'application/vnd.microsoft.activity.message']);
      await limited.drained(); // every background diagnosis has ended
      expect(runs()).toBe(2);
    } finally {
      await limited.close();
    }
  });
});

describe('what the bot sent in all of the above', () => {
  it('never uses imBack (unsupported in the Microsoft 365 Agents Playground), in a card or a suggested action', () => {
    const sent = h.connector.captured.map((c) => JSON.stringify(c.activity));
    expect(sent.length).toBeGreaterThan(20);
    expect(sent.filter((a) => /imBack/i.test(a))).toEqual([]);
  });
});
