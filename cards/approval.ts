import type { Translate } from '../services/i18n';
import type { SecurityRuleSpec } from '../services/azure/gateway';
import type { Approval, Job } from '../services/incidents/model';
import { FIXES, isFixId } from '../services/runbook/fixes';
import { runCommandText } from '../services/azure/validation';
import type { FixPlan } from '../services/runbook/plan';
import { getScript, SCRIPT_IDS, type ScriptId } from '../services/runbook/scripts';
import { CARD_BUDGET_BYTES, DETAILED_EVIDENCE, utf16Bytes } from './diagnosis';
import { bind, markdownSafe, md, type CardJson } from './render';
import { repairCardData, repairStatus, stepLabel } from './repair';
import { scriptView } from './script-view';
import template from './templates/approval.json';

export type ApprovalView = 'approver' | 'status';

const STEP_MARK = { pending: '○', running: '▶', done: '✔', skipped: '–', failed: '✖' } as const;
const STEP_COLOR = { pending: 'Default', running: 'Accent', done: 'Good', skipped: 'Default', failed: 'Attention' } as const;

/** What the fix will run, as the approver reads it: the script itself, or the Azure change. */
export function fixSource(fixId: string, params: Record<string, unknown>, plan?: FixPlan): { code: string; language: 'PowerShell' | 'Json' } {
  const planned = plan?.script?.id;
  // the text exactly as Run Command receives it: its hash is the one on the card and on the script's page
  if (planned && (SCRIPT_IDS as readonly string[]).includes(planned)) return { code: runCommandText(planned, getScript(planned as ScriptId).source), language: 'PowerShell' };
  if (plan && plan.nsg.length > 0) return { code: JSON.stringify({ azureOperation: fixId, parameters: params, nsgRules: plan.nsg.map((c) => ({ nsg: c.nsgName, before: c.before, after: c.after })) }, null, 2), language: 'Json' };
  if (isFixId(fixId)) {
    const def = FIXES[fixId];
    // the text exactly as Run Command receives it: its hash is the one on the card and on the script's page
    if (def.kind === 'script' && def.scriptId) return { code: runCommandText(def.scriptId, getScript(def.scriptId).source), language: 'PowerShell' };
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
  d: {
    approval: Approval;
    job?: Job | null;
    view: ApprovalView;
    refreshUserIds: string[];
    snapshotId?: string;
    publicBaseUrl: string;
    canUndo?: boolean;
    /** the viewer is an approver: all the evidence (else the least-disclosure view: no addresses, no rule details) */
    detailed?: boolean;
    noUndo?: { key: string; params: Record<string, string> } | null;
  },
): CardJson {
  const t = markdownSafe(raw);
  const { approval: a, job } = d;
  const src = fixSource(a.fixId, a.params, a.plan);
  const status = statusLine(t, a, job);
  const full = bindApproval(t, raw, d, evidenceLines(t, a, !!d.detailed), src, status);
  if (utf16Bytes(full) <= CARD_BUDGET_BYTES) return full;
  // many failed-sign-in sources, say: the first line of each finding's evidence, and how many more
  return bindApproval(t, raw, d, evidenceLines(t, a, !!d.detailed, 1), src, status);
}

function bindApproval(
  t: Translate,
  raw: Translate,
  d: Parameters<typeof approvalCard>[1],
  evidence: string[],
  src: ReturnType<typeof fixSource>,
  status: { text: string; color: string },
): CardJson {
  const { approval: a, job } = d;
  const def = isFixId(a.fixId) ? FIXES[a.fixId] : undefined;
  const who = (p?: { name?: string; id: string }) => md(p?.name || p?.id || '');
  // offline-repair (issue #15): its steps, resources, costs and how it ended (cards/repair.ts)
  const repairPlan = a.plan?.repair;
  const repair = repairPlan ? repairCardData(raw, repairPlan, job) : null;
  const card = bind(template, {
    approvalId: a.id,
    refreshUserIds: d.refreshUserIds,
    vmName: md(a.vmName),
    fixTitle: t(`fixes.${a.fixId}.title`),
    risk: def ? t(`fixes.risk.${def.risk}`) : '',
    restart: repair ? t('repair.plan.restartFact') : a.plan ? (a.plan.restart ? t('plans.restartIfChanged') : t('common.no')) : t(def?.needsRestart ? 'common.yes' : 'common.no'),
    requester: who(a.requester),
    // while pending: until when it can be decided; afterwards: when it was decided (or that it lapsed)
    expiresAt: t('format.moment', { at: a.state !== 'pending' && a.decidedAt ? a.decidedAt : a.expiresAt }),
    params: Object.entries(a.params).map(([name, value]) => ({ name: t(`fixes.param.${name}`), value: shown(t, value, name) })),
    statusColor: status.color,
    canDecide: d.view === 'approver' && a.state === 'pending',
    // issue #17 (dialogs): the approval that completes a two-person request is confirmed in a dialog (plan, first approval)
    confirmDialog: secondApproval(a),
    // the base card (every posted copy): Teams refreshes it for the approvers it knows (refresh.userIds);
    // an approver it does not know yet, or a client without refresh, asks for their view with this button
    canAsk: d.view === 'status' && a.state === 'pending',
    snapshotNote: d.snapshotId ? t('job.snapshotNote', { id: d.snapshotId.split('/').pop() ?? d.snapshotId }) : '',
    // a repair's dozen steps go in one text block (repairProgress), a fix's few in column sets
    steps: repair ? [] : (job?.steps ?? []).map((s) => ({ mark: STEP_MARK[s.state], color: STEP_COLOR[s.state], text: stepLabel(t, s.name, false) })),
    repair: repair ? { steps: repair.steps, resourcesTitle: repair.resourcesTitle, resources: repair.resources, notes: repair.notes } : null,
    repairProgress: repair?.progress ?? '',
    // the plan's numbered steps until the job's own steps (with their marks) take their place
    showRepairSteps: !!repair && (job?.steps ?? []).length === 0,
    repairOutcome: repair?.outcome ?? null,
    verification: job?.result && job.result.outcome !== 'already-fixed' ? verification(t, job.result) : null,
    planLines: a.plan ? planLines(raw, a.plan) : [],
    evidence,
    incidentId: a.incidentId,
    jobId: job?.id ?? '',
    canUndo: !!d.canUndo && !!job,
    // a finished fix without Undo says why (services/incidents/planner.ts noUndoFor, docs/undo.md)
    noUndo: !d.canUndo && job && d.noUndo ? { title: t('plans.undo.none.title'), text: t(d.noUndo.key, d.noUndo.params) } : null,
    script: scriptView(t, d.publicBaseUrl, src.code, src.language),
    s: {
      title: t('approval.title', { fix: t(`fixes.${a.fixId}.title`), vm: a.vmName }),
      status: status.text,
      vmLabel: t('consent.vm'),
      fixLabel: t('approval.fix'),
      riskLabel: t('approval.risk'),
      restartLabel: t('approval.restart'),
      requesterLabel: t('approval.requester'),
      expiresLabel: t(a.state === 'pending' ? 'approval.expires' : a.state === 'expired' ? 'approval.expiredAt' : 'approval.decidedAt'),
      what: t(`fixes.${a.fixId}.description`),
      showScript: t('approval.showScript'),
      viewScript: t('teams.script.view'),
      approve: t('approval.approve'),
      confirmDialog: t('dialogs.approve.open'),
      reject: t('approval.reject'),
      refresh: t('approval.refresh'),
      openDecision: t('approval.openDecision'),
      planTitle: t('plans.title'),
      repairStepsTitle: t('repair.plan.stepsTitle'),
      evidenceTitle: t('incidents.approval.evidenceTitle'),
      reasonLabel: t('incidents.reject.reasonLabel'),
      reasonPlaceholder: t('incidents.reject.reasonPlaceholder'),
      undo: t('plans.undo.button'),
    },
  });
  // Teams refreshes for everyone in small chats when userIds is absent; an empty list would refresh no one
  const refresh = card.refresh as { userIds?: unknown } | undefined;
  if (refresh && (!Array.isArray(refresh.userIds) || refresh.userIds.length === 0)) delete refresh.userIds;
  return card;
}

/** The approval still pending that needs one more approver after a first one: the next approval runs the fix. */
export function secondApproval(a: Approval): boolean {
  const votes = (a.votes ?? []).length;
  return a.state === 'pending' && votes > 0 && votes + 1 >= (a.approvalsRequired ?? 1);
}

/**
 * The evidence behind the request, one block per finding the fix addresses: what the diagnosis
 * saw when the fix was requested. Approvers read all of it; anyone else (a posted copy in a
 * channel, the requester's view) gets the findings card's least disclosure. `t` is markdown-safe.
 */
function evidenceLines(t: Translate, a: Approval, detailed: boolean, maxPerFinding = Infinity): string[] {
  return (a.findings ?? []).map((f) => {
    const all = f.evidence.map((e) => ({ key: e.key, text: t(e.key, e.params) }));
    const shown = detailed ? all : all.filter((e) => !DETAILED_EVIDENCE.test(e.key));
    const lines = shown.slice(0, maxPerFinding).map((e) => `- ${e.text}`);
    if (shown.length > maxPerFinding) lines.push(`- ${t('teams.findings.moreEvidence', { count: shown.length - maxPerFinding })}`);
    if (shown.length < all.length) lines.push(`- ${t('card.detailsForHelpdesk')}`);
    return [`**${t(`findings.${f.id}.title`)}**`, ...lines].join('\n');
  });
}

/** A parameter as the approver reads it: yes/no for flags, words for a choice ("scope: rdpkey"), the value otherwise. */
function shown(t: Translate, value: unknown, name: string): string {
  if (value === true || value === 'true') return t('common.yes');
  if (value === false || value === 'false') return t('common.no');
  const choice = `chat.paramValue.${name}.${String(value)}`;
  const words = t(choice);
  return words !== choice ? words : md(value);
}

function statusLine(t: Translate, a: Approval, job?: Job | null): { text: string; color: string } {
  const by = a.decidedBy?.name || a.decidedBy?.id || '';
  const votes = a.votes ?? [];
  if (a.state === 'pending' && votes.length > 0) {
    const names = votes.map((v) => v.by.name || v.by.id).join(', ');
    return { text: t('plans.votedBy', { by: names, count: votes.length, required: a.approvalsRequired ?? 2 }), color: 'Default' };
  }
  if (a.state === 'pending' && (a.approvalsRequired ?? 1) > 1) return { text: `${t('approval.status.pending')} ${t('plans.votes', { count: 0, required: a.approvalsRequired ?? 2 })}`, color: 'Default' };
  if (a.state === 'pending') return { text: t('approval.status.pending'), color: 'Default' };
  if (a.state === 'rejected' && a.reason) return { text: t('incidents.reject.status', { by, reason: a.reason }), color: 'Attention' };
  if (a.state === 'rejected') return { text: t('approval.status.rejected', { by }), color: 'Attention' };
  if (a.state === 'withdrawn') return { text: t('approval.status.withdrawn'), color: 'Attention' };
  if (a.state === 'expired') return { text: t('approval.status.expired'), color: 'Attention' };
  if (!job || job.state === 'queued') return { text: t('approval.status.approved', { by }), color: 'Accent' };
  const repair = a.plan?.repair ? repairStatus(t, job, by) : null;
  if (repair) return repair;
  if (job.state === 'running') return { text: t('job.status.running', { by }), color: 'Accent' };
  if (job.state === 'succeeded' && job.result?.outcome === 'already-fixed') return { text: t('plans.alreadyFixedStatus', { by }), color: 'Good' };
  if (job.state === 'succeeded') return { text: t('job.status.succeeded', { by }), color: 'Good' };
  if (job.state === 'interrupted') return { text: t('job.status.interrupted'), color: 'Attention' };
  return { text: t('job.status.failed', { step: job.error?.step ? stepLabel(t, job.error.step, false) : '-' }), color: 'Attention' };
}

const MAX_REMAINING_LINES = 12;

function verification(t: Translate, r: NonNullable<Job['result']>): { title: string; color: string; text: string } {
  const title = (id: string) => t(`findings.${id}.title`);
  const lines = [
    ...r.gone.map((id) => t('job.verify.gone', { finding: title(id) })),
    // a card has room for a dozen lines of what is left; the rest is counted (the findings card lists them all)
    ...r.remaining.slice(0, MAX_REMAINING_LINES).map((id) => t('job.verify.remaining', { finding: title(id) })),
    ...(r.remaining.length > MAX_REMAINING_LINES ? [t('job.verify.moreRemaining', { count: r.remaining.length - MAX_REMAINING_LINES })] : []),
    ...r.appeared.map((id) => t('job.verify.appeared', { finding: title(id) })),
  ];
  const clean = r.remaining.length === 0 && r.appeared.length === 0;
  // one text block, a line per finding: a block per line would weigh more than the words
  return { title: t(clean ? 'job.verify.titleClean' : 'job.verify.titleLeft'), color: clean ? 'Good' : 'Attention', text: (lines.length ? lines : [t('job.verify.nothing')]).join('\n\n') };
}

/** A security rule in one line, as an approver compares before and after. */
function ruleText(t: Translate, r: SecurityRuleSpec | null, missing: string): string {
  if (!r) return missing;
  const sources = r.sourceAddressPrefixes && r.sourceAddressPrefixes.length > 0 ? r.sourceAddressPrefixes.join(', ') : (r.sourceAddressPrefix ?? '*');
  const ports = r.destinationPortRanges && r.destinationPortRanges.length > 0 ? r.destinationPortRanges.join(', ') : (r.destinationPortRange ?? '*');
  const text = t('plans.rule', { access: r.access, protocol: r.protocol, ports, sources, priority: r.priority });
  return r.description ? `${text} ("${r.description}")` : text;
}

/**
 * The plan, line by line: the script and its parameters, each rule before -> after, what else it reaches.
 * Every outside value is escaped once for card markdown (a rule's text is built plain, then escaped as a parameter).
 */
export function planLines(raw: Translate, plan: FixPlan): string[] {
  const t = markdownSafe(raw);
  const lines: string[] = [];
  if (plan.script) {
    const params = plan.script.parameters.map((p) => `${p.name}=${p.value}`).join(', ');
    lines.push(params ? t('plans.script', { script: plan.script.id, params }) : t('plans.scriptNoParams', { script: plan.script.id }));
  }
  const noted = new Set<string>();
  for (const c of plan.nsg) {
    const name = (c.after ?? c.before)?.name ?? '';
    lines.push(t('plans.nsgChange', { nsg: c.nsgName, rule: name, before: ruleText(raw, c.before, raw('plans.newRule')), after: ruleText(raw, c.after, raw('plans.deleted')) }));
    if (c.standsFor && c.otherPorts.length > 0 && !noted.has(`${c.nsgId}|${c.standsFor}`)) {
      noted.add(`${c.nsgId}|${c.standsFor}`);
      lines.push(t('plans.otherPorts', { rule: c.standsFor, ports: c.otherPorts.join(', ') }));
    }
  }
  if (plan.alsoAffects.length > 0) lines.push(t('plans.alsoAffects', { targets: plan.alsoAffects.join(', ') }));
  return lines;
}
