import { TestConnector, cardText } from '../support/connector';
import { activity, cardOf, actionData, invoke, type User } from '../support/journey';
import { processHarness, startBotProcess } from '../support/processes';

/**
 * SIGTERM while a diagnosis runs in the background: the bot stops accepting (503), finishes the
 * running job (the findings card still arrives), closes its store and exits 0.
 */
const user: User = { userId: '29:u', aadObjectId: '00000000-0000-0000-0000-0000000000a1', name: 'U', conversationId: 'a:shutdown' };
const connector = new TestConnector();
beforeAll(async () => {
  await connector.start();
});
afterAll(async () => {
  await connector.stop();
});

it('finishes the running diagnosis before it exits, and refuses new turns meanwhile', async () => {
  const bot = await startBotProcess({ SIM_RUN_COMMAND_LATENCY_MS: '2000' });
  const h = processHarness(bot.port, connector);
  await h.post(activity(h, user, { type: 'message', text: 'internal error on vm-healthy-01' }));
  const consent = await connector.waitFor((all) => all.find((c) => /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))));
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
  expect((await h.post(activity(h, user, invoke('diagnose.start', { incidentId }, consent.activityId)))).status).toBe(200);

  let running = true;
  const exited = new Promise<number | null>((r) =>
    bot.child.once('exit', (code) => {
      running = false;
      r(code);
    }),
  );
  bot.child.kill('SIGTERM');
  // the bot has taken the signal once it says it is not ready (or no longer listens)
  const deadline = Date.now() + 15000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${bot.port}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
    if (ready !== 200) break;
    if (Date.now() > deadline) throw new Error('the bot still says it is ready 15 s after SIGTERM');
    await new Promise((r) => setTimeout(r, 20));
  }
  const mark = h.mark();
  // refused means one of two things, each named: a 503 from the draining server, or a connection the
  // closed listener refuses (or closes) - not any error at all
  const late = await h.post(activity(h, user, { type: 'message', text: 'help' })).then(
    (r) => `HTTP ${r.status}`,
    (e: Error & { cause?: { code?: string } }) => `connection ${e.cause?.code ?? e.message}`,
  );
  expect(late).toMatch(/^(HTTP 503|connection (ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET))$/);
  // ... while the bot was still there, finishing the diagnosis (a dead bot refuses too)
  expect(running).toBe(true);

  expect(await exited).toBe(0);
  const findings = connector.captured.find((c) => c.kind === 'update' && c.activityId === consent.activityId && /Diagnosis of vm-healthy-01/.test(cardText(cardOf(c))));
  expect(findings).toBeDefined();
  // the refused turn was never served: no help card came back
  expect(h.since(mark).filter((c) => /What I can do/.test(`${c.activity.text ?? ''} ${cardText(cardOf(c))}`))).toEqual([]);
}, 60000);
