import type { Translate } from '../services/i18n';
import type { Job } from '../services/incidents/model';
import { REPAIR_STEPS, type RepairPlan } from '../services/runbook/repair-plan';
import { markdownSafe } from './render';

/**
 * The offline repair (issue #15) as the helpdesk reads it on the approval card, which is also
 * its progress and final card: every step in order, every resource it creates with its exact
 * name and its cost in plain words, what is kept, the downtime; then how it ended. `raw` is the
 * plain translator: a value from Azure is escaped once, as a parameter of the outermost
 * sentence (a sentence that goes inside another goes in plain).
 */
export interface RepairCardData {
  /** the steps, numbered, as one markdown list (shown until the job's own steps replace them) */
  steps: string;
  resourcesTitle: string;
  resources: Array<{ text: string; fate: string }>;
  /** the rescue VM's shape, the scripts, no public IP, the kept disk, the downtime, the roll-back (for the decision; fewer once it runs) */
  notes: string[];
  /** the job's steps, a line each with its mark (one text block: twelve column sets would not fit in a Teams message) */
  progress: string;
  /** how it ended, once the job has (null while pending or running) */
  outcome: { title: string; color: string; text: string } | null;
}

export const isRepairStep = (name: string): boolean => (REPAIR_STEPS as readonly string[]).includes(name);

/** The label of a job step: the repair's own words for its steps, else the fix's (`job.step.<name>`), else the id. */
export function stepLabel(t: Translate, name: string, repair: boolean): string {
  if (repair) {
    const key = `repair.step.${name}`;
    const words = t(key);
    if (words !== key) return words;
  }
  const key = `job.step.${name}`;
  const words = t(key);
  return words !== key ? words : name;
}

export function repairCardData(raw: Translate, plan: RepairPlan, job?: Job | null): RepairCardData {
  const t = markdownSafe(raw);
  const vm = plan.vm;
  const costParams = { size: vm.vmSize, disk: vm.osDiskName };
  return {
    steps: plan.steps.map((s, i) => `${i + 1}. ${stepLabel(raw, s, true)}`).join('\n'),
    resourcesTitle: t('repair.plan.resourcesTitle', { resourceGroup: vm.resourceGroup }),
    resources: plan.creates.map((r) => ({
      text: t('repair.plan.resource', { kind: raw(`repair.kind.${r.kind}`), name: r.name, cost: raw(r.costKey, costParams) }),
      fate: raw(r.removedAtEnd ? 'repair.plan.removedAtEnd' : 'repair.plan.becomesOsDisk'),
    })),
    notes: notesFor(job, [
      t('repair.plan.rescue', {
        size: vm.vmSize,
        location: vm.location,
        zone: vm.zone ? raw('repair.plan.zone', { zone: vm.zone }) : '',
        generation: vm.hyperVGeneration === 'V2' ? 'Gen2' : 'Gen1',
        security: vm.securityType ?? raw('repair.plan.securityStandard'),
      }),
      raw('repair.plan.noPublicIp'),
      t('repair.plan.scripts', { drive: plan.drive, scripts: plan.offlineScriptIds.join(', ') }),
      t('repair.plan.kept', { disk: plan.keepsOriginalDisk.name }),
      raw('repair.plan.downtime'),
      raw('repair.plan.failure'),
    ]),
    progress: (job?.steps ?? []).map((s) => `${STEP_MARK[s.state]} ${stepLabel(raw, s.name, true)}`).join('\n\n'),
    outcome: outcome(raw, plan, job),
  };
}

const STEP_MARK = { pending: '○', running: '▶', done: '✔', skipped: '–', failed: '✖' } as const;

/** Everything before the decision; while it runs, what is kept and the downtime; once it has ended, the outcome says the rest. */
function notesFor(job: Job | null | undefined, all: string[]): string[] {
  const [, , , kept, downtime] = all;
  if (!job) return all;
  if (job.state === 'queued' || job.state === 'running') return [kept, downtime];
  return [];
}

/** A failed repair whose roll-back did not finish: the runner's `error.params.rollback` is `incomplete` (repair-runner.ts). */
function rollbackFailed(job: Job): boolean {
  const p = job.error?.params ?? {};
  return p.rollback === 'incomplete' || p.rollback === 'failed' || p.rolledBack === 'false';
}

/** The original OS disk as the runner recorded it (`result.keptOsDisk`, `error.params.originalDisk`), else as planned. */
function originalDisk(plan: RepairPlan, job: Job): string {
  const kept = (job.result as { keptOsDisk?: { name?: string } } | undefined)?.keptOsDisk?.name;
  const named = job.error?.params?.originalDisk;
  const last = (v: string) => v.split('/').filter(Boolean).pop() ?? v;
  return kept || (typeof named === 'string' && named ? last(named) : plan.keepsOriginalDisk.name);
}

/** The VM's state after a failed repair, in words, when the runner reported it (`vmState` or `powerState`). */
function vmStateText(raw: Translate, job: Job): string {
  const p = job.error?.params ?? {};
  const state = p.vmState ?? p.powerState;
  if (state === undefined || state === '') return '';
  const key = `repair.vmState.${String(state)}`;
  const words = raw(key);
  return markdownSafe(raw)('repair.final.vmState', { state: words !== key ? words : String(state) });
}

function outcome(raw: Translate, plan: RepairPlan, job?: Job | null): RepairCardData['outcome'] {
  if (!job) return null;
  const t = markdownSafe(raw);
  if (job.state === 'succeeded' && job.result?.outcome !== 'already-fixed') {
    return { title: raw('repair.final.repaired'), color: 'Good', text: t('repair.final.keptDisk', { disk: originalDisk(plan, job) }) };
  }
  if (job.state !== 'failed') return null;
  const step = job.error?.step ? stepLabel(raw, job.error.step, true) : '-';
  const lines = [
    rollbackFailed(job)
      ? t('repair.final.rollbackFailed', { incident: plan.incidentId, resourceGroup: plan.vm.resourceGroup })
      : t('repair.final.rolledBack', { disk: originalDisk(plan, job) }),
    vmStateText(raw, job),
  ].filter((l) => l !== '');
  return { title: t('repair.final.failed', { step }), color: 'Attention', text: lines.join('\n\n') };
}

/** The status line of a repair job that runs or failed (null: the fix's own words fit). `t` is markdown-safe. */
export function repairStatus(t: Translate, job: Job | null | undefined, by: string): { text: string; color: string } | null {
  if (!job) return null;
  if (job.state === 'running') return { text: t('repair.status.running', { by }), color: 'Accent' };
  if (job.state === 'failed') {
    const step = job.error?.step ? stepLabel(t, job.error.step, true) : '-';
    return { text: t(rollbackFailed(job) ? 'repair.status.rollbackFailed' : 'repair.status.failed', { step }), color: 'Attention' };
  }
  return null;
}
