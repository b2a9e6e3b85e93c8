import { CardFactory, TurnContext } from 'botbuilder';
import { z } from 'zod';
import { consentCard } from '../cards/diagnosis';
import { VM_RESOURCE_ID } from '../services/azure/arm-ids';
import type { VmSummary } from '../services/azure/gateway';
import { DomainError } from '../services/errors';
import type { IncidentService } from '../services/incidents/incident-service';
import type { ChatAddress, Symptom } from '../services/incidents/model';
import type { Logger } from '../services/log';
import { DIAGNOSE_RUN_TEXT } from '../services/runbook/script-pages';
import type { AppStore } from '../services/store/store';
import { chatAddressOf, conversationIdOf } from './chat-address';
import type { Notifier } from './notifier';
import { personOf } from './person';
import { turnLang, turnT, turnTimeZone } from './turn';
import type { VerbHandler, VerbRouter } from './verbs';

/**
 * The message extension's way into the normal consent flow (issue #17, docs/teams-surfaces.md):
 * the **Diagnose** button of a shared VM card (verb `vm.diagnose`) and the "Diagnose RDP" message
 * action both end here. The VM is looked up again for the person who clicked (their search limit,
 * the configured scope and SELF_SERVICE_SCOPE apply, so a tampered resource id gets nothing), then
 * an incident is opened with them as requester and the consent card is posted, exactly as typing
 * "diagnose <vm>" would.
 *
 * Where the consent card goes: a click in a channel or group chat (or a chat the bot is not part
 * of) is not a conversation with the bot, so the card goes to the person's personal chat with the
 * bot when the bot has one (they wrote to it, or the app was installed for them); else to the
 * conversation the click came from, as the channel flow does today. If that post fails (the bot
 * is not a member there) the incident is cancelled and the person is told to open a personal chat.
 */

export interface VmConsentDeps {
  incidents: IncidentService;
  notifier: Notifier;
  store: AppStore;
  logger: Logger;
  publicBaseUrl: () => string;
}

export type ConsentPlace = 'personal' | 'here';

/** The one VM `query` (a resource id or a name) means for the person of this turn; refusals are DomainErrors. */
export async function vmForPerson(deps: Pick<VmConsentDeps, 'incidents'>, context: TurnContext, query: string, opts: { reuse?: boolean } = {}): Promise<VmSummary[]> {
  return deps.incidents.resolveVmFor(personOf(context), query, opts);
}

/** Opens the incident for `vm` with this turn's person as requester and posts the consent card; returns where it went. */
export async function startConsent(deps: VmConsentDeps, context: TurnContext, vm: VmSummary, symptom: Symptom): Promise<ConsentPlace> {
  const person = personOf(context);
  const here = chatAddressOf(TurnContext.getConversationReference(context.activity));
  const user = person.id ? await deps.store.users.get(person.id) : undefined;
  const personal: ChatAddress | undefined = user?.personal;
  const place: ConsentPlace = personal && conversationIdOf(personal) !== conversationIdOf(here) ? 'personal' : 'here';
  const conversation = place === 'personal' && personal ? personal : here;
  const incident = await deps.incidents.open({
    requester: person,
    conversation,
    lang: turnLang(context),
    tz: turnTimeZone(context),
    symptom,
    candidates: [vm],
  });
  const t = turnT(context);
  const card = consentCard(t, { incidentId: incident.id, vm, symptom: incident.symptom, script: DIAGNOSE_RUN_TEXT, publicBaseUrl: deps.publicBaseUrl() });
  // a refused post may reject, or resolve with no id (the adapter's turn-error handler takes a
  // proactive turn's failure): either way no card was posted
  const sent = await deps.notifier.send(conversation, { type: 'message', attachments: [CardFactory.adaptiveCard(card)] }).catch((e: unknown) => {
    deps.logger.warn({ err: e, incidentId: incident.id, conversationId: conversationIdOf(conversation) }, 'consent card could not be posted');
    return undefined;
  });
  if (!sent) {
    // no card anyone could click: the incident is not left waiting for a consent that cannot come
    await deps.incidents.cancel(incident.id, person).catch((err: unknown) => deps.logger.warn({ err, incidentId: incident.id }, 'could not cancel an unreachable incident'));
    throw new DomainError('forbidden', 'consent card could not be posted', { params: { messageKey: 'msgext.diagnose.unreachable', vm: vm.name } });
  }
  await deps.incidents.setCard(incident.id, sent);
  return place;
}

/** The sentence that tells the person where the consent card went. */
export function consentPlaceText(context: TurnContext, place: ConsentPlace, vmName: string): string {
  return turnT(context)(place === 'personal' ? 'msgext.diagnose.sentPersonal' : 'msgext.diagnose.sentHere', { vm: vmName });
}

const armVmId = z.string().max(400).regex(VM_RESOURCE_ID);

/**
 * `vm.diagnose` `{ vmId }`: the **Diagnose** button of a VM card a search inserted. Anyone who sees
 * the card may click it; each click is that person's own request. The shared card stays as it is
 * (the answer is a message, not a card that would replace it).
 */
export function registerVmDiagnoseVerb(router: VerbRouter, deps: VmConsentDeps): void {
  const handler: VerbHandler<z.ZodObject<{ vmId: typeof armVmId }>> = {
    verb: 'vm.diagnose',
    schema: z.object({ vmId: armVmId }),
    async handle(context, data) {
      const t = turnT(context);
      const found = await vmForPerson(deps, context, data.vmId);
      // outside SELF_SERVICE_SCOPE the VM is not there for this person (the lookup filtered it)
      if (found.length !== 1) return { kind: 'message', text: t('msgext.diagnose.notVisible') };
      const place = await startConsent(deps, context, found[0], 'not-stated');
      return { kind: 'message', text: consentPlaceText(context, place, found[0].name) };
    },
  };
  router.add(handler);
}
