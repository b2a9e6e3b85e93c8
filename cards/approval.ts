import type { Translate } from '../services/i18n';
import type { Approval, Job } from '../services/incidents/model';
import { FIXES, isFixId } from '../services/runbook/fixes';
import { getScript } from '../services/runbook/scripts';
import { bind, codeBlock, markdownSafe, md, type CardJson } from './render';
import template from './templates/approval.json';

export type ApprovalView = 'approver' | 'status';

const STEP_MARK = { pending: '○', running: '▶', done: '✔', skipped: '–', failed: '✖' } as const;
const STEP_COLOR = { pending: 'Default', running: 'Accent', done: 'Good', skipped: 'Default', failed: 'Attention' } as const;

/** What the fix will run, as the approver reads it: the script itself, or the Azure change. */
export function fixSource(fixId: string, params: Record<string, unknown>): { code: string; language: 'PowerShell' | 'Json' } {
  if (isFixId(fixId)) {
    const def = FIXES[fixId];
    if (def.kind === 'script' && def.scriptId) return { code: getScript(def.scriptId).source, language: 'PowerShell' };
  }
  return { code: JSON.stringify({ azureOperation: fixId, parameters: params }, null, 2), language: 'Json' };
}

/**
 * The approval card, one card for the whole life of a fix request: approvers see Approve and
 * Reject while it is pending, everybody else sees where it stands; the job's steps and the
 * verification appear on it as they happen.
 */
export function approvalCard(
  raw: Translate,
  d: { approval: Approval; job?: Job | null; view: ApprovalView; refreshUserIds: string[]; snapshotId?: string },
): CardJson {
  const t = markdownSafe(raw);
  const { approval: a, job } = d;
  const def = isFixId(a.fixId) ? FIXES[a.fixId] : undefined;
  const src = fixSource(a.fixId, a.params);
  const who = (p?: { name?: string; id: string }) => md(p?.name || p?.id || '');
  const status = statusLine(t, a, job);
  const card = bind(template, {
    approvalId: a.id,
    refreshUserIds: d.refreshUserIds,
    vmName: md(a.vmName),
    fixTitle: t(`fixes.${a.fixId}.title`),
    risk: def ? t(`fixes.risk.${def.risk}`) : '',
    restart: t(def?.needsRestart ? 'common.yes' : 'common.no'),
    requester: who(a.requester),
    expiresAt: a.expiresAt,
    params: Object.entries(a.params).map(([name, value]) => ({ name: t(`fixes.param.${name}`), value: shown(t, value) })),
    statusColor: status.color,
    canDecide: d.view === 'approver' && a.state === 'pending',
    snapshotNote: d.snapshotId ? t('job.snapshotNote', { id: d.snapshotId.split('/').pop() ?? d.snapshotId }) : '',
    steps: (job?.steps ?? []).map((s) => ({ mark: STEP_MARK[s.state], color: STEP_COLOR[s.state], text: t(`job.step.${s.name}`) })),
    verification: job?.result ? verification(t, job.result) : null,
    script: codeBlock(src.code, src.language),
    s: {
      title: t('approval.title', { fix: t(`fixes.${a.fixId}.title`), vm: a.vmName }),
      status: status.text,
      vmLabel: t('consent.vm'),
      fixLabel: t('approval.fix'),
      riskLabel: t('approval.risk'),
      restartLabel: t('approval.restart'),
      requesterLabel: t('approval.requester'),
      expiresLabel: t('approval.expires'),
      what: t(`fixes.${a.fixId}.description`),
      showScript: t('approval.showScript'),
      approve: t('approval.approve'),
      reject: t('approval.reject'),
      refresh: t('approval.refresh'),
    },
  });
  // Teams refreshes for everyone in small chats when userIds is absent; an empty list would refresh no one
  const refresh = card.refresh as { userIds?: unknown } | undefined;
  if (refresh && (!Array.isArray(refresh.userIds) || refresh.userIds.length === 0)) delete refresh.userIds;
  return card;
}

/** A parameter as the approver reads it: yes/no for flags, the value otherwise. */
function shown(t: Translate, value: unknown): string {
  if (value === true || value === 'true') return t('common.yes');
  if (value === false || value === 'false') return t('common.no');
  return md(value);
}

function statusLine(t: Translate, a: Approval, job?: Job | null): { text: string; color: string } {
  const by = a.decidedBy?.name || a.decidedBy?.id || '';
  if (a.state === 'pending') return { text: t('approval.status.pending'), color: 'Warning' };
  if (a.state === 'rejected') return { text: t('approval.status.rejected', { by }), color: 'Attention' };
  if (a.state === 'expired') return { text: t('approval.status.expired'), color: 'Attention' };
  if (!job || job.state === 'queued') return { text: t('approval.status.approved', { by }), color: 'Accent' };
  if (job.state === 'running') return { text: t('job.status.running', { by }), color: 'Accent' };
  if (job.state === 'succeeded') return { text: t('job.status.succeeded', { by }), color: 'Good' };
  if (job.state === 'interrupted') return { text: t('job.status.interrupted'), color: 'Attention' };
  return { text: t('job.status.failed', { step: job.error?.step ? t(`job.step.${job.error.step}`) : '-' }), color: 'Attention' };
}

function verification(t: Translate, r: NonNullable<Job['result']>): { title: string; color: string; lines: string[] } {
  const title = (id: string) => t(`findings.${id}.title`);
  const lines = [
    ...r.gone.map((id) => t('job.verify.gone', { finding: title(id) })),
    ...r.remaining.map((id) => t('job.verify.remaining', { finding: title(id) })),
    ...r.appeared.map((id) => t('job.verify.appeared', { finding: title(id) })),
  ];
  const clean = r.remaining.length === 0 && r.appeared.length === 0;
  return { title: t(clean ? 'job.verify.titleClean' : 'job.verify.titleLeft'), color: clean ? 'Good' : 'Warning', lines: lines.length ? lines : [t('job.verify.nothing')] };
}
