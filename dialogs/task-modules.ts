import { CardFactory, TurnContext, type TaskModuleRequest, type TaskModuleResponse } from 'botbuilder';
import { z } from 'zod';
import { findingsCard, messageCard } from '../cards/diagnosis';
import { approveDialogCard, dialogInput, fixDialogCard, isDialogFix, type DialogFixId, type DialogInput } from '../cards/dialogs';
import { markdownSafe, type CardJson } from '../cards/render';
import { DomainError, isDomainError } from '../services/errors';
import { translator, type Translate } from '../services/i18n';
import type { ApprovalService } from '../services/incidents/approvals';
import { samePerson } from '../services/incidents/identity';
import type { IncidentService } from '../services/incidents/incident-service';
import type { Approval, Incident } from '../services/incidents/model';
import { rdpPortCheck } from '../services/runbook/causes/listener';
import type { Logger } from '../services/log';
import { errorText } from './error-text';
import type { FixPresenter } from './fix-presenter';
import type { Notifier } from './notifier';
import { personOf } from './person';
import { turnT } from './turn';
import type { VerbRouter } from './verbs';

/**
 * The dialogs (task modules) of issue #17: a fix whose parameter needs explaining
 * (restrict-rdp-source's CIDR, change-rdp-port's port), opened from the findings card, and the
 * approval that completes a two-person request, opened from the approval card.
 *
 * `task/fetch` shows the dialog; `task/submit` runs the card's own verb (`fix.request`,
 * `approval.approve`) through the verb router, so the schema, the validators and the service
 * call are the card's, never a copy. A refused value shows the dialog again with the sentence
 * and the typed value; a refusal of anything else (an unknown incident, a fix not offered,
 * someone else's incident, a decided approval) says so in the dialog and changes nothing. When
 * it is done the dialog closes with a message and the card it came from is updated.
 */
export interface TaskModuleDeps {
  incidents: IncidentService;
  approvals: ApprovalService;
  presenter: FixPresenter;
  verbs: VerbRouter;
  notifier: Notifier;
  logger: Logger;
}

const uuid = z.string().uuid();
const fixRef = z.object({ dialog: z.literal('fix'), incidentId: uuid, fixId: z.string().max(40) });
const approveRef = z.object({ dialog: z.literal('approve'), approvalId: uuid });
const dialogRef = z.discriminatedUnion('dialog', [fixRef, approveRef]);
// what an input sends back: Input.Text a string, Input.Number a string or a number (clients differ)
const typedValue = z.union([z.string(), z.number()]).optional();

type DialogRef = z.infer<typeof dialogRef>;

/** What a dialog turn ends with: the dialog (again), or closed with a sentence. */
type Shown = { kind: 'dialog'; title: string; card: CardJson } | { kind: 'closed'; text: string };

/** The refusal a dialog shows instead of its form: nothing was changed. */
class Refusal extends Error {
  constructor(readonly text: string) {
    super(text);
  }
}

/** bot/surfaces.ts TaskModuleHandlers, structurally (nothing imports bot/). */
export interface TaskModules {
  fetch(context: TurnContext, request: TaskModuleRequest): Promise<TaskModuleResponse>;
  submit(context: TurnContext, request: TaskModuleRequest): Promise<TaskModuleResponse>;
}

export function createTaskModules(deps: TaskModuleDeps): TaskModules {
  const { incidents, approvals, presenter } = deps;

  const refuse = (t: Translate, e: DomainError): never => {
    throw new Refusal(errorText(t, e));
  };

  /** The incident and the fix a fix dialog is about, or the refusal: the requester or an approver, a fix this diagnosis offers. */
  const fixContext = async (context: TurnContext, ref: z.infer<typeof fixRef>): Promise<{ incident: Incident; fixId: DialogFixId; input: DialogInput }> => {
    const t = turnT(context);
    const me = personOf(context);
    let incident: Incident;
    try {
      incident = await incidents.get(ref.incidentId);
    } catch (e) {
      if (isDomainError(e)) return refuse(t, e);
      throw e;
    }
    if (!samePerson(incident.requester, me) && !approvals.isApprover(me)) {
      refuse(t, new DomainError('not-allowed', 'not the requester', { params: { detailKey: 'approval.onlyRequesterOrApprover' } }));
    }
    const offered = incident.diagnosis?.fixes.some((f) => f.id === ref.fixId) ?? false;
    if (!isDialogFix(ref.fixId) || !offered) {
      refuse(t, new DomainError('bad-input', 'fix not offered', { params: { detailKey: 'approval.fixNotOffered', fix: ref.fixId } }));
    }
    if (!incident.diagnosis || !['diagnosed', 'blocked'].includes(incident.state)) {
      refuse(t, new DomainError('approval-invalid', 'not ready', { params: { detailKey: 'approval.notReady', state: incident.state } }));
    }
    const fixId = ref.fixId as DialogFixId;
    return { incident, fixId, input: dialogInput(fixId) };
  };

  /** What the parameter means on this VM, in the reader's words. */
  const fixNotes = (t: Translate, incident: Incident, fixId: DialogFixId): { explain: string; notes: string[] } => {
    const safe = markdownSafe(t);
    const facts = incident.diagnosis?.facts ?? null;
    const check = rdpPortCheck(facts);
    const vm = incident.vmName ?? '';
    if (fixId === 'restrict-rdp-source') {
      // Teams passes no client address to a bot (the activity's clientInfo has locale, country,
      // platform and time zone only), and the diagnosis records only failed sign-in sources,
      // which are someone else's: no address is offered, none is guessed
      return { explain: safe('dialogs.restrict.explain', { vm, port: check.port }), notes: [t('dialogs.restrict.noAddress'), t('dialogs.restrict.safer')] };
    }
    const held = check.heldBy.map((l) => safe('dialogs.port.heldBy', { port: check.port, process: l.proc, pid: l.pid, services: l.svc.length ? l.svc.join(', ') : '-' }));
    return {
      explain: safe('dialogs.port.explain', { vm, port: check.port }),
      notes: [
        ...(held.length ? held : [t('dialogs.port.nothingSeen', { port: check.port })]),
        t('dialogs.port.refused', { reserved: check.reserved.join(', '), from: check.dynamicFrom }),
        t('dialogs.port.onVm', { port: check.port }),
      ],
    };
  };

  const fixDialog = (t: Translate, incident: Incident, fixId: DialogFixId, input: DialogInput, value: string, error: string): Shown => {
    const { explain, notes } = fixNotes(t, incident, fixId);
    return {
      kind: 'dialog',
      title: t(`fixes.${fixId}.title`),
      card: fixDialogCard(t, { incidentId: incident.id, fixId, vmName: incident.vmName ?? '', input, value, error, explain, notes }),
    };
  };

  /** The approval a confirmation dialog is about, or the refusal: pending, and this person may give the next approval. */
  const approvalContext = async (context: TurnContext, ref: z.infer<typeof approveRef>): Promise<Approval> => {
    const t = turnT(context);
    const me = personOf(context);
    let approval: Approval;
    try {
      approval = await approvals.get(ref.approvalId);
    } catch (e) {
      if (isDomainError(e)) return refuse(t, e);
      throw e;
    }
    if (approval.state !== 'pending' || Date.parse(approval.expiresAt) <= Date.now()) throw new Refusal(t('dialogs.approve.decided'));
    if (!approvals.isApprover(me)) refuse(t, new DomainError('not-allowed', 'not an approver', { params: { detailKey: 'approval.notApprover' } }));
    if (presenter.viewFor(approval, me) !== 'approver') {
      const key = (approval.votes ?? []).some((v) => samePerson(v.by, me)) ? 'plans.twoPerson.sameApprover' : 'approval.self';
      refuse(t, new DomainError('approval-invalid', 'may not approve', { params: { detailKey: key } }));
    }
    return approval;
  };

  const approveDialog = async (t: Translate, approval: Approval): Promise<Shown> => {
    const first = (approval.votes ?? [])[0];
    const firstBy = first ? await presenter.displayName(first.by) : '';
    return { kind: 'dialog', title: t('dialogs.approve.heading'), card: approveDialogCard(t, { approval, firstBy, firstAt: first?.at ?? '' }) };
  };

  /** The requester's findings card says which fix was requested from it (its live card, else the card clicked). */
  const updateFindings = async (context: TurnContext, incidentId: string, fixId: DialogFixId, value: string) => {
    const incident = await incidents.get(incidentId);
    if (!incident.diagnosis) return;
    const t = translator(incident.lang, incident.tz);
    const requested = markdownSafe(t)('dialogs.fix.requested', { fix: t(`fixes.${fixId}.title`), value });
    const card = findingsCard(t, { incidentId, diagnosis: incident.diagnosis, plain: !approvals.isApprover(incident.requester), symptom: incident.symptom, requested });
    const activity = { type: 'message', attachments: [CardFactory.adaptiveCard(card)] };
    if (incident.cardActivityId) await deps.notifier.update(incident.conversation, incident.cardActivityId, activity);
    else if (context.activity.replyToId) await deps.notifier.update(TurnContext.getConversationReference(context.activity), context.activity.replyToId, activity);
  };

  const open = async (context: TurnContext, ref: DialogRef): Promise<Shown> => {
    const t = turnT(context);
    if (ref.dialog === 'approve') return approveDialog(t, await approvalContext(context, ref));
    const { incident, fixId, input } = await fixContext(context, ref);
    return fixDialog(t, incident, fixId, input, '', '');
  };

  const submit = async (context: TurnContext, ref: DialogRef, data: Record<string, unknown>): Promise<Shown> => {
    const t = turnT(context);
    if (ref.dialog === 'approve') {
      const before = await approvalContext(context, ref);
      const outcome = await deps.verbs.run(context, 'approval.approve', { approvalId: before.id });
      if (outcome.kind !== 'ok') throw new Refusal(outcome.message);
      // decided by someone else in the meantime: the verb answered with the card as it stands
      const after = await approvals.get(before.id);
      const me = personOf(context);
      const mine = (after.decidedBy && samePerson(after.decidedBy, me)) || (after.votes ?? []).some((v) => samePerson(v.by, me));
      if (!mine) throw new Refusal(t('dialogs.approve.decided'));
      const card = outcome.result.kind === 'card' ? outcome.result.card : undefined;
      // the card this dialog was opened from shows the decision; the posted copies are the verb's to update
      const clicked = context.activity.replyToId;
      if (card && clicked && !after.cards.some((c) => c.activityId === clicked)) {
        await deps.notifier.update(TurnContext.getConversationReference(context.activity), clicked, { type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
      }
      return { kind: 'closed', text: t(after.state === 'approved' ? 'dialogs.approve.done' : 'dialogs.approve.voted') };
    }
    const { incident, fixId, input } = await fixContext(context, ref);
    const raw = typedValue.safeParse(data[input.id]);
    const value = raw.success && raw.data !== undefined ? String(raw.data).trim() : '';
    if (!value) return fixDialog(t, incident, fixId, input, '', t(input.errorKey));
    const outcome = await deps.verbs.run(context, 'fix.request', { incidentId: incident.id, fixId, [input.id]: value });
    // malformed for the card's schema (too long, say): the input's own rule, in the dialog
    if (outcome.kind === 'error') return fixDialog(t, incident, fixId, input, value.slice(0, 100), t(input.errorKey));
    // the fix's validator refused the value: the dialog again, with its sentence and what was typed
    if (outcome.kind === 'refused' && outcome.error.code === 'bad-input') return fixDialog(t, incident, fixId, input, value, outcome.message);
    if (outcome.kind === 'refused') throw new Refusal(outcome.message);
    // the findings are no longer current (fixed since, cancelled): the card the verb answers with, in words
    if (outcome.result.kind !== 'message') throw new Refusal(t('dialogs.fix.outdated'));
    await updateFindings(context, incident.id, fixId, value);
    return { kind: 'closed', text: outcome.result.text };
  };

  /** Runs one dialog turn; a refusal is shown in the dialog (a failure goes to the bot's turn error handler, which logs it with a reference). */
  const guarded = async (context: TurnContext, work: () => Promise<Shown>): Promise<Shown> => {
    const t = turnT(context);
    try {
      return await work();
    } catch (e) {
      if (e instanceof Refusal) return notice(t, e.text);
      if (isDomainError(e)) return notice(t, errorText(t, e));
      deps.logger.warn({ conversationId: context.activity.conversation?.id }, 'dialog failed');
      throw e;
    }
  };

  const parseRef = (t: Translate, value: unknown): DialogRef => {
    const parsed = dialogRef.safeParse(value);
    if (!parsed.success) throw new Refusal(t('badInput.unknownVerb'));
    return parsed.data;
  };

  const asTaskResponse = (shown: Shown): TaskModuleResponse => {
    if (shown.kind === 'closed') return { task: { type: 'message', value: shown.text } };
    return { task: { type: 'continue', value: { title: shown.title, width: 'medium', card: CardFactory.adaptiveCard(shown.card) } } };
  };

  const dataOf = (request: TaskModuleRequest): Record<string, unknown> => {
    const data = request?.data as unknown;
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
  };

  return {
    async fetch(context, request) {
      const data = dataOf(request);
      return asTaskResponse(await guarded(context, async () => open(context, parseRef(turnT(context), data))));
    },
    async submit(context, request) {
      const data = dataOf(request);
      return asTaskResponse(await guarded(context, async () => submit(context, parseRef(turnT(context), data), data)));
    },
  };
}

/** A refusal inside the dialog: its sentence, no input, nothing changed. */
function notice(t: Translate, text: string): Shown {
  return { kind: 'dialog', title: t('dialogs.refusedHeading'), card: messageCard({ title: t('dialogs.refusedTitle'), text, tone: 'attention' }) };
}
