import type { Translate } from '../services/i18n';
import type { Approval } from '../services/incidents/model';
import type { CauseInput } from '../services/runbook/causes';
import { FIXES, isFixId } from '../services/runbook/fixes';
import { planLines } from './approval';
import { bind, markdownSafe, md, type CardJson } from './render';
import approveTemplate from './templates/dialog-approve.json';
import fixTemplate from './templates/dialog-fix.json';

import { type DialogFixId } from './dialog-fixes';

export { DIALOG_FIXES, isDialogFix, type DialogFixId } from './dialog-fixes';

/*
 * The dialogs (task modules, issue #17) opened from the findings and approval cards: the fixes
 * whose parameter needs explaining, and the approval that completes a two-person request.
 * Adaptive Cards like every other card (same binder, same checks); dialogs/task-modules.ts
 * decides what goes in them.
 */

/** The one input a fix dialog asks for (a text or a number input of the fix's cause module). */
export type DialogInput = Extract<CauseInput, { type: 'text' | 'number' }>;

/** The input a fix's dialog asks for: its cause module's text or number input (the findings card shows the same). */
export function dialogInput(fixId: DialogFixId): DialogInput {
  const input = (FIXES[fixId].inputs ?? []).find((i): i is DialogInput => i.type === 'text' || i.type === 'number');
  if (!input) throw new Error(`dialog fix ${fixId} has no text or number input`);
  return input;
}

/**
 * A fix's dialog: what the parameter means on this VM (`notes`, already in words), the input with
 * the value typed last (kept when it was refused) and the refusal's sentence above it.
 */
export function fixDialogCard(
  raw: Translate,
  d: { incidentId: string; fixId: DialogFixId; vmName: string; input: DialogInput; value: string; error: string; explain: string; notes: string[] },
): CardJson {
  const t = markdownSafe(raw);
  const def = FIXES[d.fixId];
  const i = d.input;
  const input =
    i.type === 'text'
      ? { type: i.type, id: i.id, label: t(i.labelKey), placeholder: i.placeholder ?? '', errorMessage: t(i.errorKey), regex: i.regex, maxLength: i.maxLength, value: d.value }
      : { type: i.type, id: i.id, label: t(i.labelKey), placeholder: i.placeholder ?? '', errorMessage: t(i.errorKey), min: i.min, max: i.max, value: d.value };
  const card = bind(fixTemplate, {
    incidentId: d.incidentId,
    fixId: d.fixId,
    input,
    notes: d.notes.map((text) => ({ text })),
    s: {
      title: t('dialogs.fix.title', { fix: raw(`fixes.${d.fixId}.title`), vm: d.vmName }),
      explain: d.explain,
      error: d.error,
      facts: t('fixes.meta', { risk: t(`fixes.risk.${def.risk}`), restart: t(def.needsRestart ? 'common.yes' : 'common.no') }),
      submit: t('dialogs.fix.submit'),
    },
  });
  // an empty or non-numeric value is no value (Input.Number holds numbers only)
  dropEmptyValue(card, i.id, i.type === 'number' ? /^\d{1,5}$/ : /./);
  return card;
}

function dropEmptyValue(card: CardJson, id: string, valid: RegExp): void {
  for (const el of card.body as Array<Record<string, unknown>>) {
    if (el.id !== id) continue;
    if (typeof el.value !== 'string' || !valid.test(el.value)) delete el.value;
    else if (el.type === 'Input.Number') el.value = Number(el.value);
  }
}

/**
 * The approval that completes a two-person request: what the first approver approved (the
 * parameters and the plan sealed in the request) and that this approval runs the fix.
 */
export function approveDialogCard(raw: Translate, d: { approval: Approval; firstBy: string; firstAt: string }): CardJson {
  const t = markdownSafe(raw);
  const a = d.approval;
  const def = isFixId(a.fixId) ? FIXES[a.fixId] : undefined;
  const fix = raw(`fixes.${a.fixId}.title`);
  return bind(approveTemplate, {
    approvalId: a.id,
    vmName: md(a.vmName),
    fixTitle: md(fix),
    risk: def ? t(`fixes.risk.${def.risk}`) : '',
    restart: a.plan ? (a.plan.restart ? t('plans.restartIfChanged') : t('common.no')) : t(def?.needsRestart ? 'common.yes' : 'common.no'),
    requester: md(a.requester.name || a.requester.id),
    params: Object.entries(a.params).map(([name, value]) => ({ name: t(`fixes.param.${name}`), value: md(value) })),
    planLines: a.plan ? planLines(raw, a.plan) : [],
    s: {
      title: t('dialogs.approve.title', { fix, vm: a.vmName }),
      first: t('dialogs.approve.first', { by: d.firstBy, at: d.firstAt, count: (a.votes ?? []).length + 1, required: a.approvalsRequired ?? 1 }),
      vmLabel: t('consent.vm'),
      fixLabel: t('approval.fix'),
      riskLabel: t('approval.risk'),
      restartLabel: t('approval.restart'),
      requesterLabel: t('approval.requester'),
      planTitle: t('plans.title'),
      runs: t('dialogs.approve.runs'),
      submit: t('dialogs.approve.submit'),
    },
  });
}
