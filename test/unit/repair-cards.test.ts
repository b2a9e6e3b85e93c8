import { approvalCard } from '../../cards/approval';
import { findingsCard } from '../../cards/diagnosis';
import { markdownSafe, md } from '../../cards/render';
import type { VmModel } from '../../services/azure/gateway';
import { LANGS, translator, type Lang } from '../../services/i18n';
import type { Approval, DiagnosisRecord, Job, JobStep } from '../../services/incidents/model';
import type { FixPlan } from '../../services/runbook/plan';
import { planRepair, REPAIR_STEPS } from '../../services/runbook/repair-plan';
import { activity } from '../support/card-catalogue';
import { cardLint } from '../support/card-lint';
import { cardProblems } from '../support/card-validation';
import { cardText } from '../support/connector';
import { TEAMS_MAX_ACTIVITY_BYTES, utf16Bytes } from '../support/teams-limits';

/**
 * What the helpdesk sees of an offline repair (issue #15): the findings card offers it beside the
 * offline guide; the approval card lists every step and every resource of the plan with its cost
 * in plain words, what is kept and the downtime; then the same card shows the repair's steps as
 * they run and how it ended. The plan is the real planRepair() of a hand-made compute model.
 */
const incidentId = '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11';
const sub = '00000000-0000-0000-0000-000000000001';
const model: VmModel = {
  id: `/subscriptions/${sub}/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-noagent-08`,
  name: 'vm-noagent-08',
  resourceGroup: 'rg-demo',
  subscriptionId: sub,
  location: 'westeurope',
  zone: '2',
  vmSize: 'Standard_D2s_v5',
  hyperVGeneration: 'V2',
  securityType: 'TrustedLaunch',
  osDiskId: `/subscriptions/${sub}/resourceGroups/rg-demo/providers/Microsoft.Compute/disks/vm-noagent-08_OsDisk_1_abc`,
  osDiskName: 'vm-noagent-08_OsDisk_1_abc',
  subnetId: `/subscriptions/${sub}/resourceGroups/rg-demo/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default`,
  dataDisks: [],
};
const repair = planRepair(incidentId, model);
const plan: FixPlan = { fixId: 'offline-repair', script: null, arm: 'offlineRepair', nsg: [], restart: false, alsoAffects: [], repair };
const base = 'https://rdp-doctor.example.com';
const approval = (lang: Lang, extra: Partial<Approval> = {}): Approval => ({
  id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId: model.id, vmName: model.name, fixId: 'offline-repair', params: {}, paramsHash: 'h',
  requester: { id: '29:user', name: 'Alex' }, lang, state: 'pending', createdAt: '2026-11-25T10:00:00Z', expiresAt: '2026-11-25T11:00:00Z', cards: [], plan, ...extra,
});
// the repair's step ids are job step names once the runner records them (JobStepName grows with issue #15)
const step = (name: string, state: JobStep['state']): JobStep => ({ name, state }) as unknown as JobStep;
const job = (lang: Lang, state: Job['state'], steps: JobStep[], extra: Partial<Job> = {}): Job => ({
  id: 'j1', approvalId: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId: model.id, vmName: model.name, fixId: 'offline-repair', params: {}, paramsHash: 'h',
  lang, state, steps, createdAt: '', updatedAt: '', plan, ...extra,
});
const decided = { state: 'approved' as const, decidedBy: { id: '29:approver', name: 'Helpdesk Hana' } };
const allDone = REPAIR_STEPS.map((s) => step(s, 'done'));

function cards(lang: Lang) {
  const t = translator(lang);
  const card = (a: Approval, j: Job | null, view: 'approver' | 'status' = 'status') => approvalCard(t, { approval: a, job: j, view, refreshUserIds: ['29:approver'], publicBaseUrl: base });
  const failedAt = REPAIR_STEPS.indexOf('swap-os-disk');
  return {
    pending: card(approval(lang), null, 'approver'),
    running: card(approval(lang, decided), job(lang, 'running', REPAIR_STEPS.map((s, i) => step(s, i < 4 ? 'done' : i === 4 ? 'running' : 'pending')))),
    succeeded: card(approval(lang, decided), job(lang, 'succeeded', allDone, { result: { gone: ['vm-agent-not-ready'], remaining: [], appeared: [] } })),
    failed: card(
      approval(lang, decided),
      job(lang, 'failed', REPAIR_STEPS.map((s, i) => step(s, i < failedAt ? 'done' : i === failedAt ? 'failed' : 'skipped')), {
        // the params repair-runner.ts puts on a failed repair's job
        error: { code: 'azure-error', step: 'swap-os-disk' as JobStep['name'], params: { failedStep: 'swap-os-disk', vmState: 'running', osDisk: model.osDiskId, originalDisk: model.osDiskId, rollback: 'done', rollbackFailures: 0 } },
      }),
    ),
  };
}

const words = {
  en: { kept: 'The original OS disk', removed: 'Removed at the end.', nic: 'free', vm: 'billed per minute while it runs', gb: 'billed per GB-month', noIp: 'No public IP', down: 'Downtime: the VM is stopped (deallocated)' },
  ru: { kept: 'Исходный диск ОС', removed: 'Удаляется в конце.', nic: 'бесплатно', vm: 'оплачивается поминутно, пока работает', gb: 'оплачивается за ГБ в месяц', noIp: 'Без публичного IP', down: 'Простой: ВМ остановлена' },
};

describe.each(LANGS)('the offline repair cards (%s)', (lang) => {
  // names from Azure are escaped for card markdown (vm-noagent-08\_OsDisk...), as the card does
  const t = markdownSafe(translator(lang));
  const all = cards(lang);
  const w = words[lang];

  it.each(Object.keys(all))('%s validates with the adaptivecards renderer, fits in a Teams message, and passes the card lint', (name) => {
    const card = all[name as keyof typeof all];
    expect(cardProblems(card)).toEqual([]);
    expect(utf16Bytes(activity(card))).toBeLessThan(TEAMS_MAX_ACTIVITY_BYTES);
    expect(cardLint(card)).toEqual([]);
  });

  it('the approval card lists every step of the plan, in order, in words', () => {
    const text = cardText(all.pending);
    const labels = repair.steps.map((s, i) => `${i + 1}. ${t(`repair.step.${s}`)}`);
    for (const l of labels) expect(text).toContain(l);
    expect(labels.map((l) => text.indexOf(l))).toEqual(labels.map((l) => text.indexOf(l)).sort((a, b) => a - b));
    expect(text).toContain(t('repair.plan.stepsTitle'));
  });

  it('the approval card names every resource created, with its cost and whether it is removed at the end', () => {
    const text = cardText(all.pending);
    for (const r of repair.creates) {
      const line = text.split('\n').find((l) => l.includes(`**${r.name}**`));
      expect([r.name, line]).toEqual([r.name, expect.stringContaining(t(r.costKey, { size: model.vmSize }))]);
      expect(line).toContain(t(`repair.kind.${r.kind}`));
      expect(line).toContain(r.removedAtEnd ? w.removed : t('repair.plan.becomesOsDisk'));
    }
    expect(text).toContain(w.nic);
    expect(text).toContain(`${w.vm}`);
    expect(text).toContain(md(model.vmSize));
    expect(text).toContain(`${t('approval.restart')}: ${t('repair.plan.restartFact')}`);
    expect(text).toContain(w.gb);
  });

  it('the approval card names the original OS disk as kept, says no public IP, and gives the downtime', () => {
    const text = cardText(all.pending);
    expect(text).toContain(t('repair.plan.kept', { disk: model.osDiskName }));
    expect(text).toContain(`${w.kept} **vm-noagent-08\\_OsDisk\\_1\\_abc**`);
    expect(text).toContain(w.noIp);
    expect(text).toContain(w.down);
    expect(text).toContain('TrustedLaunch');
    expect(text).toContain('Gen2');
    expect(cardText(all.pending)).toMatch(/\[(Approve|Одобрить)\]/);
  });

  it('the running repair shows its steps with their labels and marks, and no longer the numbered plan', () => {
    const text = cardText(all.running);
    REPAIR_STEPS.forEach((s, i) => expect(text).toContain(`${i < 4 ? '✔' : i === 4 ? '▶' : '○'} ${t(`repair.step.${s}`)}`));
    expect(text).not.toContain(`1. ${t('repair.step.snapshot')}`);
    expect(text).toContain(t('repair.status.running', { by: 'Helpdesk Hana' }));
    // every resource and what is kept stay on the card while it runs
    for (const r of repair.creates) expect(text).toContain(r.name);
  });

  it('a repaired VM: repaired, the re-diagnosis, and the original disk is kept until a person deletes it', () => {
    const text = cardText(all.succeeded);
    expect(text).toContain(t('repair.final.repaired'));
    expect(text).toContain(t('repair.final.keptDisk', { disk: model.osDiskName }));
    expect(text).toContain(t('job.verify.gone', { finding: t('findings.vm-agent-not-ready.title') }));
  });

  it('names the kept disk as the runner recorded it (result.keptOsDisk)', () => {
    const recorded = job(lang, 'succeeded', allDone, { result: { gone: [], remaining: [], appeared: [], keptOsDisk: { id: `${model.osDiskId}-recorded`, name: 'disk-as-recorded' } } as Job['result'] });
    const text = cardText(approvalCard(translator(lang), { approval: approval(lang, decided), job: recorded, view: 'status', refreshUserIds: [], publicBaseUrl: base }));
    expect(text).toContain(t('repair.final.keptDisk', { disk: 'disk-as-recorded' }));
  });

  it('a failed repair: the step it failed at, rolled back, and the state the VM is in', () => {
    const text = cardText(all.failed);
    const at = t('repair.step.swap-os-disk');
    expect(text).toContain(t('repair.status.failed', { step: at }));
    expect(text).toContain(t('repair.final.failed', { step: at }));
    expect(text).toContain(t('repair.final.rolledBack', { disk: model.osDiskName }));
    expect(text).toContain(t('repair.final.vmState', { state: t('repair.vmState.running') }));
    expect(text).not.toContain(t('repair.final.repaired'));
  });

  it('a roll-back that did not finish says so and names where to look', () => {
    const failed = job(lang, 'failed', allDone, { error: { code: 'azure-error', step: 'cleanup' as JobStep['name'], params: { failedStep: 'cleanup', rollback: 'incomplete', rollbackFailures: 1, vmState: 'deallocated' } } });
    const text = cardText(approvalCard(t, { approval: approval(lang, decided), job: failed, view: 'status', refreshUserIds: [], publicBaseUrl: base }));
    expect(text).toContain(t('repair.final.rollbackFailed', { incident: incidentId, resourceGroup: 'rg-demo' }));
    expect(text).toContain(t('repair.vmState.deallocated'));
    expect(text).not.toContain(t('repair.final.rolledBack', { disk: model.osDiskName }));
  });
});

describe('the findings card offers the offline repair beside the offline guide', () => {
  const agentDown = (fixes: DiagnosisRecord['fixes']): DiagnosisRecord => ({
    at: '2026-11-25T10:00:00Z',
    findings: [{ id: 'vm-agent-not-ready', severity: 'blocker', evidence: [{ key: 'runbook.evidence.agentStatus', params: { status: 'NotReady', version: '-' } }] }],
    fixes,
    runCommandCalls: 0,
    armCalls: 2,
    elapsedMs: 900,
    vm: { id: model.id, name: model.name, powerState: 'running', agentStatus: 'NotReady', osType: 'Windows' },
  });
  const withRepair = agentDown([
    { id: 'restart-vm', addresses: ['vm-agent-not-ready'] },
    { id: 'offline-repair' as DiagnosisRecord['fixes'][number]['id'], addresses: ['vm-agent-not-ready'] },
  ]);

  it.each(LANGS)('as the normal fix request of offline-repair, no parameters, next to the guide, saying a VM that does not boot shows the same (%s)', (lang) => {
    const t = translator(lang);
    const card = findingsCard(t, { incidentId, diagnosis: withRepair });
    expect(cardProblems(card)).toEqual([]);
    const text = cardText(card);
    // its name in the body (a button's title is never wrapped: card-lint), then Request…, then the guide's own row
    expect(text).toContain(`\n${t('repair.offer.title')}\n[${t('fixes.requestShort')}]\n`);
    expect(text.indexOf(t('repair.offer.title'))).toBeLessThan(text.indexOf(`[${t('offline.button')}]`));
    expect(cardLint(card)).toEqual([]);
    expect(text).toContain(t('repair.offer.noBoot'));
    expect(text).toContain(t('repair.offer.explain'));
    const requests = fixRequests(card);
    expect(requests).toContainEqual({ incidentId, fixId: 'offline-repair' });
    // once: beside the guide, not again among the fixes run inside the VM
    expect(requests.filter((r) => r.fixId === 'offline-repair')).toHaveLength(1);
  });

  it('not offered when the diagnosis does not offer it, nor to someone who may not request fixes', () => {
    const t = translator('en');
    const without = findingsCard(t, { incidentId, diagnosis: agentDown([{ id: 'restart-vm', addresses: ['vm-agent-not-ready'] }]) });
    expect(fixRequests(without).filter((r) => r.fixId === 'offline-repair')).toEqual([]);
    expect(cardText(without)).not.toContain(`\n${t('repair.offer.title')}\n[`);
    expect(cardText(without)).toContain('[Offline repair guide]');
    // the finding still names its fixes in words; what is gone is the request
    const plain = findingsCard(t, { incidentId, diagnosis: withRepair, requestable: false });
    expect(fixRequests(plain)).toEqual([]);
    expect(cardText(plain)).not.toContain(`\n${t('repair.offer.title')}\n[`);
  });
});

function fixRequests(card: unknown): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n && typeof n === 'object') {
      const o = n as { type?: string; verb?: string; data?: Record<string, unknown> };
      if (o.type === 'Action.Execute' && o.verb === 'fix.request' && o.data) out.push(o.data);
      for (const [k, v] of Object.entries(o)) if (k !== 'fallback') walk(v);
    }
  };
  walk(card);
  return out;
}
