import { CardFactory } from 'botbuilder';
import { z } from 'zod';
import { consentCard, findingsCard, messageCard, offlineGuideCard, progressCard } from '../cards/diagnosis';
import { helpCard } from '../cards/help';
import { markdownSafe, type CardJson } from '../cards/render';
import { VM_RESOURCE_ID } from '../services/azure/arm-ids';
import type { DomainError } from '../services/errors';
import { translator } from '../services/i18n';
import type { DiagnosisObserver, IncidentService } from '../services/incidents/incident-service';
import type { Incident, Person } from '../services/incidents/model';
import type { Notifier } from './notifier';
import type { Logger } from '../services/log';
import { DIAGNOSE_RUN_TEXT } from '../services/runbook/script-pages';
import { errorText } from './error-text';
import { offlineGuide } from './offline-steps';
import { personOf } from './person';
import { turnT } from './turn';
import type { VerbHandler, VerbResult, VerbRouter } from './verbs';

const id = z.string().uuid();
const armVmId = z
  .string()
  .max(400)
  .regex(VM_RESOURCE_ID);

export interface DiagnosisVerbDeps {
  incidents: IncidentService;
  notifier: Notifier;
  logger: Logger;
  demoMode: boolean;
  /** where script pages are (cards link to them) */
  publicBaseUrl: () => string;
  /** approvers see all the evidence; others the cause in plain words (no addresses, no rule details) */
  isApprover?: (person: Person) => boolean;
}

/** The card verbs of the diagnosis journey (CONTRACTS.md §5) and the live card they keep up to date. */
/** Registers the verbs; returns the observer that keeps each incident's live card current (also for recovery). */
export function registerDiagnosisVerbs(router: VerbRouter, deps: DiagnosisVerbDeps): DiagnosisObserver {
  const { incidents } = deps;
  const observer = createObserver(deps);
  // a cancel typed in the chat updates the live card through the same observer
  incidents.useObserver(observer);
  const plainFor = (context: Parameters<typeof personOf>[0]) => !(deps.isApprover?.(personOf(context)) ?? true);

  const pick: VerbHandler<z.ZodObject<{ vmId: typeof armVmId; incidentId: typeof id }>> = {
    verb: 'vm.pick',
    schema: z.object({ vmId: armVmId, incidentId: id }),
    async handle(context, data) {
      const t = turnT(context);
      const incident = await incidents.pick(data.incidentId, data.vmId, personOf(context));
      if (incident.state !== 'awaiting-consent' || !incident.vmId) return { kind: 'card', card: stateCard(t, incident, plainFor(context)) };
      const vm = await incidents.resolveVm(incident.vmId);
      return {
        kind: 'card',
        card: consentCard(t, { incidentId: incident.id, vm: vm[0], symptom: incident.symptom, script: DIAGNOSE_RUN_TEXT, publicBaseUrl: deps.publicBaseUrl() }),
      };
    },
  };

  const start: VerbHandler<z.ZodObject<{ incidentId: typeof id }>> = {
    verb: 'diagnose.start',
    schema: z.object({ incidentId: id }),
    async handle(context, data, via) {
      const t = turnT(context);
      const person = personOf(context);
      // Execute replaces the clicked card with our answer: that message becomes the live card.
      const cardId = via === 'execute' ? context.activity.replyToId : undefined;
      const started = await incidents.startDiagnosis(data.incidentId, person, observer, cardId);
      if (!started) return { kind: 'card', card: stateCard(t, await incidents.get(data.incidentId), plainFor(context)) };
      const card = progressCard(t, { vmName: started.vmName ?? '', current: 'precheck' });
      if (via === 'submit') {
        const sent = await context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] });
        await incidents.setCard(started.id, sent?.id);
        return { kind: 'none' };
      }
      return { kind: 'card', card };
    },
  };

  const cancel: VerbHandler<z.ZodObject<{ incidentId: typeof id }>> = {
    verb: 'incident.cancel',
    schema: z.object({ incidentId: id }),
    async handle(context, data) {
      const t = turnT(context);
      const done = await incidents.cancel(data.incidentId, personOf(context));
      if (!done) return { kind: 'card', card: stateCard(t, await incidents.get(data.incidentId), plainFor(context)) };
      // the clicked card is replaced by this answer (the live card was updated to the same)
      return { kind: 'card', card: cancelledCard(t, done.incident, done.runCommandSent) };
    },
  };

  const offline: VerbHandler<z.ZodObject<{ incidentId: typeof id; drive: z.ZodString }>> = {
    verb: 'offline.guide',
    schema: z.object({ incidentId: id, drive: z.string() }),
    async handle(context, data, via) {
      const t = turnT(context);
      await incidents.get(data.incidentId); // a guide belongs to a known incident
      const guide = offlineGuide(t, data.drive);
      const card = offlineGuideCard(t, { ...guide, publicBaseUrl: deps.publicBaseUrl() });
      // a new message: the findings card stays as it is
      await context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] });
      // a click (Execute) needs an answer, and a client shows a message answer as a banner: never an empty one
      return via === 'execute' ? { kind: 'message', text: t('offline.posted', { drive: guide.drive }) } : { kind: 'none' };
    },
  };

  const help: VerbHandler<z.ZodObject<Record<string, never>>> = {
    verb: 'help.show',
    schema: z.object({}),
    async handle(context): Promise<VerbResult> {
      return { kind: 'card', card: helpCard(turnT(context), { demoMode: deps.demoMode }) };
    },
  };

  router.add(pick).add(start).add(cancel).add(offline).add(help);
  return observer;
}

/** The card that shows where an incident stands, for a click that came too late or twice. */
function stateCard(t: ReturnType<typeof turnT>, incident: Incident, plain: boolean): CardJson {
  if (incident.diagnosis && (incident.state === 'diagnosed' || incident.state === 'blocked')) {
    return findingsCard(t, { incidentId: incident.id, diagnosis: incident.diagnosis, plain, symptom: incident.symptom });
  }
  if (incident.state === 'diagnosing') return progressCard(t, { vmName: incident.vmName ?? '', current: 'runCommand' });
  if (incident.state === 'cancelled') return cancelledCard(t, incident, false);
  return messageCard({ title: t(`incident.state.${incident.state}`), text: t('incident.stateText', { vm: incident.vmName ?? '' }) });
}

/**
 * A cancelled incident's card: nothing more runs for it (an old consent card refuses); a Run
 * Command that was already inside the VM is said to be so, and its result is not shown.
 */
export function cancelledCard(t: ReturnType<typeof turnT>, incident: Incident, runCommandSent: boolean): CardJson {
  const safe = markdownSafe(t);
  const vm = incident.vmName ?? '';
  const text = runCommandSent ? safe('incidents.cancel.cardRecalled', { vm }) : vm ? safe('incidents.cancel.cardNothingRan', { vm }) : safe('incidents.cancel.cardNoVm');
  return messageCard({ title: t('incidents.cancel.cardTitle'), text, tone: 'warning' });
}

/**
 * The answer to a click on an old card (a fix request from findings that are no longer current):
 * what happened since, in the person's words, and "Diagnose again" where a fresh diagnosis helps.
 */
export function outOfDateCard(t: ReturnType<typeof turnT>, incident: Incident): CardJson {
  const safe = markdownSafe(t);
  const vm = incident.vmName ?? '';
  if (incident.state === 'cancelled') return cancelledCard(t, incident, false);
  const key =
    incident.state === 'resolved'
      ? 'incidents.outdated.resolved'
      : incident.state === 'closed'
        ? `incidents.outdated.${incident.closedReason === 'healthy' ? 'healthy' : 'superseded'}`
        : incident.state === 'fixing' || incident.state === 'diagnosing'
          ? `incidents.outdated.${incident.state}`
          : 'incidents.outdated.other';
  const again = incident.state !== 'fixing' && incident.state !== 'diagnosing' && incident.state !== 'picking';
  return messageCard({
    title: t('incidents.outdated.title'),
    text: safe(key, { vm }),
    tone: 'warning',
    ...(again ? { retry: { incidentId: incident.id, title: t('incidents.outdated.again') } } : {}),
  });
}

function createObserver(deps: DiagnosisVerbDeps): DiagnosisObserver {
  const { notifier, incidents } = deps;
  // the live card is updated in place; a failed update is the notifier's to retry and log,
  // never a reason to post a second card. Only an incident without a card yet gets one posted.
  const put = async (stale: Incident, card: CardJson, unlessCancelled = false) => {
    const activity = { type: 'message', attachments: [CardFactory.adaptiveCard(card)] };
    const incident = (await incidents.get(stale.id).catch(() => null)) ?? stale;
    // a progress step that lost the race with a cancel must not put the progress card back
    if (unlessCancelled && incident.state === 'cancelled') return;
    if (incident.cardActivityId) {
      await notifier.update(incident.conversation, incident.cardActivityId, activity);
      return;
    }
    await incidents.setCard(incident.id, await notifier.send(incident.conversation, activity));
  };
  return {
    async cancelled(incident, runCommandSent) {
      // the consent or progress card becomes the cancelled card: no button on it starts anything
      if (!incident.cardActivityId) return;
      await put(incident, cancelledCard(translator(incident.lang), incident, runCommandSent));
    },
    async phase(incident, phase) {
      // the consent click already answered with the precheck card, and the analysis takes
      // milliseconds before the findings replace it: only the long Run Command step is worth a card
      if (phase !== 'runCommand') return;
      await put(incident, progressCard(translator(incident.lang, incident.tz), { vmName: incident.vmName ?? '', current: phase }), true);
    },
    async done(incident, record) {
      const t = translator(incident.lang, incident.tz);
      await put(incident, findingsCard(t, { incidentId: incident.id, diagnosis: record, plain: !(deps.isApprover?.(incident.requester) ?? true), symptom: incident.symptom }));
      await notifier.send(incident.conversation, { type: 'message', text: t('findings.ready', { vm: record.vm.name }) });
    },
    async failed(incident, error: DomainError) {
      const t = translator(incident.lang, incident.tz);
      const text = errorText(t, error, { vm: incident.vmName ?? '', what: incident.vmName ?? '', ref: incident.id });
      await put(
        incident,
        messageCard({
          title: t('diagnosis.failedTitle', { vm: incident.vmName ?? '' }),
          text,
          tone: 'attention',
          ref: t('common.incidentRef', { ref: incident.id }),
          retry: { incidentId: incident.id, title: t('diagnosis.retry') },
        }),
      );
    },
  };
}
