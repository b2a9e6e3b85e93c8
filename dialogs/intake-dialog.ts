import { CardFactory, MessageFactory, TurnContext } from 'botbuilder';
import {
  ChoicePrompt,
  ListStyle,
  TextPrompt,
  WaterfallDialog,
  type DialogTurnResult,
  type FoundChoice,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import { consentCard, vmPickCard } from '../cards/diagnosis';
import { replyPromptCard } from '../cards/reply-prompt';
import { isDomainError } from '../services/errors';
import type { IncidentService } from '../services/incidents/incident-service';
import { MAX_CANDIDATES } from '../services/incidents/incident-service';
import type { Symptom } from '../services/incidents/model';
import { DIAGNOSE_RUN_TEXT } from '../services/runbook/script-pages';
import { errorText } from './error-text';
import { detectSymptom, extractVmQuery, isVmQuery } from './intake-text';
import { InterruptibleDialog } from './interruptible-dialog';
import { isGroupScope, personOf } from './person';
import { turnLang, turnT, turnTimeZone } from './turn';

export const INTAKE_DIALOG = 'intake';
const WATERFALL = 'intake.waterfall';
const SYMPTOM_PROMPT = 'intake.symptom';
const VM_PROMPT = 'intake.vm';
const SYMPTOMS: Symptom[] = ['internal-error', 'configuring-session', 'cannot-connect', 'other'];
const MAX_VM_TRIES = 3;

export interface IntakeOptions {
  text?: string;
  vm?: string;
  /** set when the waterfall loops back to ask for the VM again */
  retry?: { symptom: Symptom; tries: number };
}

interface IntakeState {
  symptom?: Symptom;
  vmQuery?: string;
  tries: number;
}

/**
 * From the user's first words to an incident with one VM: the symptom (from the text or a
 * choice), the VM (name, partial name or resource id), a pick card when several match. The
 * consent card it ends with starts the read-only diagnosis.
 */
export class IntakeDialog extends InterruptibleDialog {
  constructor(private readonly incidents: IncidentService, demoMode: boolean, private readonly publicBaseUrl: () => string) {
    super(INTAKE_DIALOG, demoMode);
    // an answer that is no choice but names a VM ("vm-web-01 won't connect") is taken, not asked again
    this.addDialog(new ChoicePrompt(SYMPTOM_PROMPT, async (p) => p.recognized.succeeded || extractVmQuery(p.context.activity.text ?? '') !== null).configure({ style: ListStyle.none }));
    this.addDialog(new TextPrompt(VM_PROMPT, async (p) => p.recognized.succeeded && !!p.recognized.value?.trim()));
    this.addDialog(
      new WaterfallDialog(WATERFALL, [this.symptomStep.bind(this), this.vmStep.bind(this), this.resolveStep.bind(this)]),
    );
    this.initialDialogId = WATERFALL;
  }

  private state(step: WaterfallStepContext): IntakeState {
    return step.values as IntakeState;
  }

  private async symptomStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const opts = (step.options ?? {}) as IntakeOptions;
    const st = this.state(step);
    st.tries = opts.retry?.tries ?? 0;
    const text = opts.text ?? '';
    st.vmQuery = opts.retry ? undefined : (opts.vm ?? extractVmQuery(text) ?? undefined);
    // A VM named in the first message goes straight to consent: the symptom orders the
    // explanation, never the checks, so a question about it is not worth a turn. Without a VM,
    // a message that says only "it fails" ("RDP is broken") gets the question.
    const detected = detectSymptom(text);
    const symptom = opts.retry?.symptom ?? (st.vmQuery ? (detected ?? 'not-stated') : detected === 'generic' ? null : detected);
    if (symptom) return step.next(symptom);
    const t = turnT(step.context);
    // short button labels; the full messages people see in their client are in the card's body
    const labels = SYMPTOMS.map((s) => t(`chat.symptomButton.${s}`));
    const details = SYMPTOMS.filter((s) => s !== 'other')
      .map((s) => t('chat.symptomDetail', { label: t(`chat.symptomButton.${s}`), message: t(`symptoms.${s}`) }))
      .join('\n');
    const hint = isGroupScope(step.context) ? t('groupChat.mentionToReply') : undefined;
    const card = (question: string) =>
      MessageFactory.attachment(CardFactory.adaptiveCard(replyPromptCard({ question, hint, details, choices: labels })));
    return step.prompt(SYMPTOM_PROMPT, {
      prompt: card(t('intake.askSymptom')),
      retryPrompt: card(t('intake.askSymptomRetry')),
      // a typed answer may be the label or the full message
      choices: SYMPTOMS.map((s, i) => ({ value: labels[i], synonyms: [t(`symptoms.${s}`)] })),
      style: ListStyle.none,
    });
  }

  private async vmStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const st = this.state(step);
    const result = step.result as Symptom | FoundChoice | undefined;
    if (typeof result === 'string') st.symptom = result;
    else {
      // the answer to "What do you see?": a full complaint may name the VM as well ("I can't RDP to
      // web-01: An internal error has occurred"), which must not be asked for again; such a sentence
      // is read as a first message is (the choice prompt's fuzzy match of a sentence is a guess)
      // the text as bot.ts hands it to the dialogs: the @mention and its markup already removed
      const typed = step.context.activity.text ?? '';
      const named = st.vmQuery ? null : extractVmQuery(typed);
      if (named) st.vmQuery = named;
      st.symptom = named ? (detectSymptom(typed) ?? 'not-stated') : result ? SYMPTOMS[result.index] : 'not-stated';
    }
    if (st.vmQuery) return step.next(st.vmQuery);
    const t = turnT(step.context);
    const question = t(st.tries > 0 ? 'intake.askVmAgain' : 'intake.askVm');
    if (isGroupScope(step.context)) {
      const card = replyPromptCard({
        question,
        hint: t('groupChat.mentionToReply'),
        input: { placeholder: t('groupChat.vmPlaceholder'), submit: t('groupChat.vmSubmit'), required: t('groupChat.vmNeeded') },
      });
      return step.prompt(VM_PROMPT, { prompt: MessageFactory.attachment(CardFactory.adaptiveCard(card)) });
    }
    return step.prompt(VM_PROMPT, { prompt: question });
  }

  private async resolveStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const st = this.state(step);
    const t = turnT(step.context);
    const raw = String(step.result ?? '').trim();
    const query = extractVmQuery(raw) ?? raw;
    const what = query.length > 80 ? `${query.slice(0, 77)}...` : query;
    if (!isVmQuery(query)) {
      // nothing Azure could match: say what is wrong and what a VM name looks like, before any search
      const detail = t(/\s/.test(query) ? 'chat.vmName.noName' : 'chat.vmName.notAName', { what, rules: t('chat.vmName.rules') });
      await step.context.sendActivity(t('errors.bad-input', { detail }));
      return this.askAgain(step, st);
    }
    let found;
    try {
      found = await this.incidents.resolveVmFor(personOf(step.context), query);
    } catch (e) {
      if (!isDomainError(e)) throw e;
      await step.context.sendActivity(errorText(t, e, { what, vm: what }));
      // over the limit: asking again would only be refused again
      return e.code === 'rate-limited' ? step.endDialog() : this.askAgain(step, st);
    }
    if (found.length === 0) {
      await step.context.sendActivity(t('intake.noMatch', { query }));
      return this.askAgain(step, st);
    }
    if (found.length > MAX_CANDIDATES) {
      await step.context.sendActivity(t('intake.tooMany', { query, count: found.length }));
      return this.askAgain(step, st);
    }
    let incident;
    try {
      incident = await this.incidents.open({
        requester: personOf(step.context),
        conversation: TurnContext.getConversationReference(step.context.activity),
        lang: turnLang(step.context),
        tz: turnTimeZone(step.context),
        symptom: st.symptom ?? 'not-stated',
        candidates: found,
      });
    } catch (e) {
      if (!isDomainError(e)) throw e;
      await step.context.sendActivity(errorText(t, e));
      return step.endDialog();
    }
    const card =
      found.length === 1
        ? consentCard(t, { incidentId: incident.id, vm: found[0], symptom: incident.symptom, script: DIAGNOSE_RUN_TEXT, publicBaseUrl: this.publicBaseUrl() })
        : vmPickCard(t, { incidentId: incident.id, query, vms: found });
    const sent = await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] });
    await this.incidents.setCard(incident.id, sent?.id);
    return step.endDialog(incident.id);
  }

  private async askAgain(step: WaterfallStepContext, st: IntakeState): Promise<DialogTurnResult> {
    const tries = st.tries + 1;
    if (tries >= MAX_VM_TRIES) {
      await step.context.sendActivity(turnT(step.context)('intake.giveUp'));
      return step.endDialog();
    }
    const options: IntakeOptions = { retry: { symptom: st.symptom ?? 'not-stated', tries } };
    return step.replaceDialog(WATERFALL, options);
  }
}
