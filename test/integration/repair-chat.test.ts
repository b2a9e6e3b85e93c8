import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { translator, type Lang } from '../../services/i18n';
import { markdownSafe } from '../../cards/render';
import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { actionData, activity, cardOf, diagnoseAs, invoke, type User } from '../support/journey';

/**
 * The offline repair as the helpdesk meets it in the chat (issue #15, repair-card): the findings
 * card of the demo VM without a ready agent offers "Repair offline (rescue VM)" beside the offline
 * guide; clicking it is the normal fix request, and the approvers' card lists every step and every
 * resource of the sealed plan with its cost, in the requester's language. Approved, the same card
 * follows the repair to its end; what happened to the VM is read from the simulator's operation
 * log once the queue has drained, never from the bot's words.
 */
const VM = 'vm-noagent-08';
const endUser: User = { userId: '29:rc-end-user', aadObjectId: '00000000-0000-0000-0000-0000000000e1', name: 'Alex User', conversationId: 'a:rc-end-user' };
const approver: User = { userId: '29:rc-approver', aadObjectId: '00000000-0000-0000-0000-0000000000e2', name: 'Helpdesk Hana', conversationId: 'a:rc-approver' };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ APPROVER_IDS: approver.aadObjectId });
  const mark = h.mark();
  await h.post(activity(h, approver, { type: 'message', text: 'help' }));
  await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
}, 120_000);
afterAll(async () => {
  await h.close();
});

const changes = () => h.app.azure.simulator!.operations().filter((o) => o.kind !== 'read');

/** Diagnoses the VM as `user`, clicks "Repair offline (rescue VM)", and returns what the approver's copy of the approval says. */
async function requestRepair(user: User, text: string, lang: Lang) {
  const t = translator(lang);
  const { incidentId, findings } = await diagnoseAs(h, user, text, 60_000);
  const card = cardOf(findings);
  const words = cardText(card);
  expect(words).toContain(`\n${t('repair.offer.title')}\n[${t('fixes.requestShort')}]\n`);
  expect(words).toContain(`[${t('offline.button')}]`);
  expect(words).toContain(t('repair.offer.noBoot'));
  const offer = actionData(card, 'fix.request', (d) => d.fixId === 'offline-repair');
  expect(offer).toEqual({ incidentId, fixId: 'offline-repair' });

  const mark = h.mark();
  const r = await h.post(activity(h, user, invoke('fix.request', offer, findings.activityId)));
  expect(r.status).toBe(200);
  expect(String((r.body as { value?: unknown }).value)).toContain(t('approval.requested'));
  const [approval] = (await h.app.store.approvals.listByIncident(incidentId)).filter((a) => a.state === 'pending');
  expect(approval.fixId).toBe('offline-repair');
  const copy = await h.connector.waitFor((all) =>
    all.slice(mark).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? '')) && actionData(cardOf(c), 'approval.refresh').approvalId === approval.id),
  );
  // the approver's own view (Approve and Reject) comes through refresh, as in Teams
  const view = await h.post(activity(h, approver, invoke('approval.refresh', { approvalId: approval.id }, copy.activityId)));
  return { incidentId, approval, posted: cardText(cardOf(copy)), approverView: cardText((view.body as { value: unknown }).value) };
}

describe('from the findings card to the approval card', () => {
  it.each([
    ['en', 'en-US', `I can't RDP to ${VM}, internal error`],
    ['ru', 'ru-RU', `Не могу подключиться к ${VM}, внутренняя ошибка`],
  ] as const)('%s: the request lists every step and resource of the sealed plan, with costs; nothing changes before the approval', async (lang, locale, text) => {
    const before = changes().length;
    const { approval, posted, approverView } = await requestRepair({ ...endUser, locale, conversationId: `${endUser.conversationId}-${lang}` }, text, lang);
    const plan = approval.plan?.repair;
    expect(plan).toBeDefined();
    if (!plan) return;
    // the posted copies are in the requester's language; the approver's own view in the approver's (an English client)
    for (const [card, words] of [[posted, lang], [approverView, 'en']] as const) {
      const t = translator(words);
      plan.steps.forEach((s, i) => expect(card).toContain(`${i + 1}. ${t(`repair.step.${s}`)}`));
      for (const r of plan.creates) {
        const line = card.split('\n').find((l) => l.includes(`**${r.name}**`));
        expect([r.name, line]).toEqual([r.name, expect.stringContaining(t(r.removedAtEnd ? 'repair.plan.removedAtEnd' : 'repair.plan.becomesOsDisk'))]);
      }
      expect(card).toContain(markdownSafe(t)('repair.plan.kept', { disk: plan.keepsOriginalDisk.name }));
      expect(card).toContain(t('repair.plan.noPublicIp'));
      expect(card).toContain(t('repair.plan.downtime'));
      expect(card).toContain(t('repair.cost.nic'));
    }
    expect(approverView).toMatch(/\[Approve\][\s\S]*\[Reject\]/);
    expect(posted).not.toMatch(/\[Approve\]|\[Одобрить\]/);
    await h.drained();
    expect(changes().slice(before)).toEqual([]);
  }, 180_000);
});

describe('approved: the same card follows the repair to its end', () => {
  it('shows the steps, then "repaired", the re-diagnosis and the kept original disk; the operation log has one rescue VM and one swap', async () => {
    const t = translator('en');
    const { approval } = await requestRepair({ ...endUser, conversationId: `${endUser.conversationId}-run` }, `I can't RDP to ${VM}, internal error`, 'en');
    const before = changes().length;
    const mark = h.mark();
    const r = await h.post(activity(h, approver, invoke('approval.approve', { approvalId: approval.id })));
    expect(r.status).toBe(200);
    await h.drained();
    const job = (await h.app.store.jobs.get((await h.app.store.approvals.get(approval.id))!.jobId!))!;
    expect(job.state).toBe('succeeded');
    const ops = changes().slice(before);
    const kinds = ops.map((o) => o.kind);
    // counted from the operation log (services/simulator/operation-log.ts): one rescue VM created and deleted, one swap of the OS disk
    const count = (kind: string) => kinds.filter((k) => k === kind).length;
    expect({ vmCreate: count('vmCreate'), vmDelete: count('vmDelete'), swapOsDisk: count('swapOsDisk'), failed: ops.filter((o) => o.failed).length }).toEqual({ vmCreate: 1, vmDelete: 1, swapOsDisk: 1, failed: 0 });
    expect(ops.find((o) => o.kind === 'swapOsDisk')?.vm).toBe(VM);
    const last = h.connector.captured.slice(mark).filter((c) => c.conversationId.startsWith(approver.conversationId) || c.conversationId.startsWith(`${endUser.conversationId}-run`));
    const finalCard = [...last].reverse().map((c) => cardText(cardOf(c))).find((text) => text.includes(t('repair.final.repaired')));
    expect(finalCard).toBeDefined();
    const plan = approval.plan!.repair!;
    expect(finalCard).toContain(markdownSafe(t)('repair.final.keptDisk', { disk: plan.keepsOriginalDisk.name }));
    for (const s of plan.steps) expect(finalCard).toContain(`✔ ${t(`repair.step.${s}`)}`);
    expect(finalCard).toContain(t('job.verify.gone', { finding: t('findings.vm-agent-not-ready.title') }));
  }, 300_000);
});

describe('rdp-doctor diagnose (the built CLI) lists the repair as the fix', () => {
  const root = join(__dirname, '..', '..');
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'bin', 'rdp-doctor.js'), 'diagnose', VM, '--fleet', join(root, 'services', 'simulator', 'fleets', 'demo-fleet.json'), ...args], { env: { PATH: process.env.PATH ?? '', SIM_SCRIPTS: 'emulate' }, timeout: 60000 }, (err, stdout) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout }),
      );
    });
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'cli', 'index.js'))) throw new Error('run `npm run build` first (npm test does it)');
  });

  it.each(['en', 'ru'] as const)('text (%s): the repair under the blocker, where it runs, and that a VM that does not boot looks the same', async (lang) => {
    const t = translator(lang);
    const r = await run(['--lang', lang]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`    > ${t('fixes.offline-repair.title')} (offline-repair)\n      ${t('repair.cli.hint')}\n`);
    expect(r.stdout).toContain(`    ${t('repair.cli.noBoot')}\n`);
  }, 90_000);

  it('--json keeps the shape of CONTRACTS §4: the repair is one more fix of the finding', async () => {
    const r = await run(['--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { findings: Array<{ id: string }>; fixes: Array<{ id: string; addresses: string[] }> };
    expect(out.findings.map((f) => f.id)).toEqual(['vm-agent-not-ready']);
    expect(out.fixes).toContainEqual({ id: 'offline-repair', addresses: ['vm-agent-not-ready'] });
  }, 90_000);
});
