import type { Translate } from '../services/i18n';
import { SEVERITY, type Severity } from '../services/runbook/findings';
import type { SweepDigest, SweepVmResult } from '../services/sweeps/types';
import { CARD_BUDGET_BYTES, utf16Bytes } from './diagnosis';
import { bind, breakable, markdownSafe, md, type CardJson } from './render';
import template from './templates/sweep.json';

/** How many VMs the digest card lists (the worst first); the rest are counted ("and N more"). */
export const SWEEP_CARD_MAX_VMS = 10;

const RANK: Record<Severity, number> = { blocker: 0, critical: 1, warning: 2, info: 3 };
// never "Warning": yellow on a light theme is unreadable (cards/diagnosis.ts)
const COLOR: Record<Severity, string> = { blocker: 'Attention', critical: 'Attention', warning: 'Default', info: 'Accent' };

function severityOf(findingId: string): Severity {
  return (SEVERITY as Record<string, Severity | undefined>)[findingId] ?? 'info';
}

function rankOf(worst: string | null): number {
  return worst && worst in RANK ? RANK[worst as Severity] : 4;
}

/** The VMs with findings, worst first: the worst severity, then the most findings, then the name. */
export function worstFirst(vms: SweepVmResult[]): SweepVmResult[] {
  return vms
    .filter((v) => v.findings.length > 0)
    .sort((a, b) => rankOf(a.worst) - rankOf(b.worst) || b.findings.length - a.findings.length || a.vmName.localeCompare(b.vmName));
}

/** What sweep-core's digest adds (additive fields of services/sweeps/types.ts on its branch), read when present. */
type DigestExtras = Partial<{ skipped: Record<string, number>; eta: string }>;

export interface SweepCardData {
  digest: SweepDigest;
  /** the time the card is rendered at (the ETA is worked out from the rate so far) */
  now: Date;
  /** how the starter is called (a name); 'schedule' reads as "on schedule" */
  startedByName?: string;
  maxVms?: number;
}

/**
 * The digest card of a fleet sweep (issue #16): progress while it runs (done / total, ETA), then
 * the VMs per finding, the worst VMs first (bounded, "and N more") each with "Request fix", and
 * the ARM calls and Run Commands it took. Fewer VMs are listed when the card would not fit in a
 * Teams message.
 */
export function sweepCard(raw: Translate, d: SweepCardData): CardJson {
  const t = markdownSafe(raw);
  let max = Math.max(0, d.maxVms ?? SWEEP_CARD_MAX_VMS);
  let card = sweepCardAt(t, d, max);
  while (max > 0 && utf16Bytes(card) > CARD_BUDGET_BYTES) card = sweepCardAt(t, d, --max);
  return card;
}

/** `t` is markdown-safe (sweepCard). */
function sweepCardAt(t: Translate, d: SweepCardData, maxVms: number): CardJson {
  const g = d.digest;
  const counts = Object.entries(g.counts)
    .filter(([, n]) => n > 0)
    .map(([id, n]) => ({ id, n, severity: severityOf(id) }))
    .sort((a, b) => RANK[a.severity] - RANK[b.severity] || b.n - a.n || a.id.localeCompare(b.id));
  const affected = worstFirst(g.vms);
  const shown = affected.slice(0, maxVms);
  const more = Math.max(0, (g.affected ?? affected.length) - shown.length);
  const skipped = skippedLine(t, g);
  const running = g.state === 'running';
  const card = bind(template, {
    sweepId: g.id,
    stateColor: running ? 'Accent' : g.state === 'done' ? (counts.length ? 'Attention' : 'Good') : g.state === 'failed' ? 'Attention' : 'Default',
    hasCounts: counts.length > 0,
    counts: counts.map((c) => ({ count: String(c.n), title: `${t(`severity.${c.severity}`)}: ${t(`findings.${c.id}.title`)}` })),
    hasVms: shown.length > 0,
    vms: shown.map((v) => {
      const worst = (v.worst && v.worst in RANK ? v.worst : 'info') as Severity;
      return {
        id: v.vmId,
        name: breakable(md(v.vmName)),
        where: breakable(t('sweepUi.vmWhere', { resourceGroup: v.resourceGroup, subscription: v.subscriptionId })),
        color: COLOR[worst],
        findings: findingsLine(t, worst, v.findings),
      };
    }),
    s: {
      title: t(`sweepUi.title.${g.kind}`),
      scope: scopeLine(t, g),
      state: stateLine(t, g),
      eta: running && g.total > 0 ? etaLine(t, g, d.now) : '',
      countsTitle: t('sweepUi.countsTitle'),
      clean: !running && g.state === 'done' && counts.length === 0 ? t('sweepUi.clean') : '',
      vmsTitle: t('sweepUi.vmsTitle'),
      more: more > 0 ? t('sweepUi.more', { count: more }) : '',
      fixNote: t('sweepUi.fixNote'),
      skipped,
      requestFix: t('sweepUi.requestFix'),
      footer: t('sweepUi.footer', {
        armCalls: g.armCalls,
        runCommands: g.runCommands,
        at: g.startedAt,
        who: g.startedBy === 'schedule' ? t('sweepUi.bySchedule') : (d.startedByName ?? g.startedBy),
      }),
    },
  });
  card.msteams = { width: 'Full' };
  return card;
}

/** A VM's findings: its worst severity, then the first few titles (the card is bounded; the diagnosis shows them all). */
const TITLES_PER_VM = 3;
function findingsLine(t: Translate, worst: Severity, findings: string[]): string {
  const titles = findings.slice(0, TITLES_PER_VM).map((f) => t(`findings.${f}.title`));
  if (findings.length > TITLES_PER_VM) titles.push(t('sweepUi.moreFindings', { count: findings.length - TITLES_PER_VM }));
  return `${t(`severity.${worst}`)}: ${titles.join('; ')}`;
}

export function scopeLine(t: Translate, g: Pick<SweepDigest, 'scope'>): string {
  const subs = g.scope.subscriptionIds ?? [];
  const rg = g.scope.resourceGroup;
  if (subs.length && rg) return t('sweepUi.scope.both', { subscription: subs.join(', '), resourceGroup: rg });
  if (subs.length) return t('sweepUi.scope.subscription', { subscription: subs.join(', ') });
  if (rg) return t('sweepUi.scope.resourceGroup', { resourceGroup: rg });
  return t('sweepUi.scope.all');
}

export function stateLine(t: Translate, g: Pick<SweepDigest, 'state' | 'done' | 'total' | 'startedAt' | 'endedAt'>): string {
  switch (g.state) {
    case 'running':
      // the VM pages are still being read: how many there are is not known yet
      return g.total > 0 ? t('sweepUi.state.running', { done: g.done, total: g.total }) : t('sweepUi.state.listing');
    case 'done': {
      const ms = g.endedAt ? Math.max(0, Date.parse(g.endedAt) - Date.parse(g.startedAt)) : NaN;
      return t('sweepUi.state.done', { total: g.total, seconds: Number.isFinite(ms) ? Math.round(ms / 1000) : '?' });
    }
    case 'failed':
      return t('sweepUi.state.failed', { done: g.done, total: g.total });
    case 'cancelled':
      return t('sweepUi.state.cancelled', { done: g.done, total: g.total });
  }
}

/** The time left at the rate so far: nothing to go on before the first VM is done. */
export function etaLine(t: Translate, g: Pick<SweepDigest, 'done' | 'total' | 'startedAt'> & DigestExtras, now: Date): string {
  // the service's own estimate when it gives one, else the rate so far
  const expected = g.eta ? Date.parse(g.eta) - now.getTime() : NaN;
  const elapsed = now.getTime() - Date.parse(g.startedAt);
  if (!Number.isFinite(expected) && (g.done <= 0 || !Number.isFinite(elapsed) || elapsed <= 0)) return t('sweepUi.eta.unknown');
  const left = Number.isFinite(expected) ? Math.max(0, expected) : (elapsed / g.done) * Math.max(0, g.total - g.done);
  if (left < 60_000) return t('sweepUi.eta.underMinute');
  return t('sweepUi.eta.minutes', { count: Math.ceil(left / 60_000) });
}

const SKIP_REASONS = ['not-running', 'agent-not-ready', 'not-windows', 'busy', 'checked-recently', 'error'] as const;

/**
 * VMs the deep sweep did not diagnose, by reason (stopped, no agent, not Windows, busy, checked
 * in the last 24 h, an error): the service's counts when it gives them, else those of the VMs listed.
 */
function skippedLine(t: Translate, g: SweepDigest & DigestExtras): string {
  const by = new Map<string, number>();
  const add = (raw: string, n: number) => {
    const reason = raw.startsWith('error') ? 'error' : raw;
    const known = (SKIP_REASONS as readonly string[]).includes(reason) ? reason : 'error';
    if (n > 0) by.set(known, (by.get(known) ?? 0) + n);
  };
  if (g.skipped) for (const [reason, n] of Object.entries(g.skipped)) add(reason, n);
  else for (const v of g.vms) if (v.skipped) add(v.skipped, 1);
  if (by.size === 0) return '';
  const total = [...by.values()].reduce((a, b) => a + b, 0);
  const reasons = SKIP_REASONS.filter((r) => by.has(r)).map((r) => t('sweepUi.skip.reason', { reason: t(`sweepUi.skip.${r}`), count: by.get(r)! }));
  return t('sweepUi.skip.line', { count: total, reasons: reasons.join(', ') });
}
