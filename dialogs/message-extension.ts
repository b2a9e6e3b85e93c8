import type {
  MessagingExtensionAction,
  MessagingExtensionActionResponse,
  MessagingExtensionQuery,
  MessagingExtensionResponse,
  TurnContext,
} from 'botbuilder';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { messageCard } from '../cards/diagnosis';
import { asAttachment, md } from '../cards/render';
import { diagnoseMessageCard, vmResult, type VmCardLine } from '../cards/vm';
import { parseVmId, VM_RESOURCE_ID } from '../services/azure/arm-ids';
import type { VmSummary } from '../services/azure/gateway';
import { isDomainError, type DomainError } from '../services/errors';
import type { Translate } from '../services/i18n';
import { MAX_CANDIDATES } from '../services/incidents/incident-service';
import { SYMPTOM_IDS, type Symptom } from '../services/runbook/symptoms';
import { errorText } from './error-text';
import { extractVmQuery, isVmQuery } from './intake-text';
import { readComplaint } from './msgext-text';
import { turnT } from './turn';
import type { VerbRouter } from './verbs';
import { consentPlaceText, registerVmDiagnoseVerb, startConsent, vmForPerson, type VmConsentDeps } from './vm-consent';

/** The manifest's commands (manifest/manifest.template.json composeExtensions[0]). */
export const SEARCH_COMMAND = 'searchVm';
export const SEARCH_PARAMETER = 'vmName';
export const MESSAGE_ACTION = 'diagnoseMessage';
/** Fewer characters match too much of a fleet to be worth a Resource Graph query (and a search of the person's hourly limit). */
export const MIN_SEARCH_CHARS = 2;
const MAX_NAME_CHARS = 64;
/** Teams shows 25 results a page at most. */
const MAX_PAGE = 25;

type Refusal = { error: string };

/**
 * The message extension (issue #17, docs/teams-surfaces.md): `searchVm` finds VMs by part of their
 * name with the intake's lookup (the person's search limit, the configured scope and
 * SELF_SERVICE_SCOPE apply) and inserts a VM card with **Diagnose**; `diagnoseMessage` reads the VM
 * and the symptom from a message (a complaint pasted in a channel), asks which VM in a dialog and
 * starts the normal consent flow. Every answer is an invoke answer (HTTP 200): a refusal or a
 * failure is a message in the person's language, never an error status.
 */
export class MessageExtension {
  constructor(private readonly deps: VmConsentDeps) {}

  async query(context: TurnContext, query: MessagingExtensionQuery): Promise<MessagingExtensionResponse> {
    const t = turnT(context);
    try {
      if (query?.commandId !== SEARCH_COMMAND) return messageResult(t('msgext.unknownCommand'));
      const params = Array.isArray(query.parameters) ? query.parameters : [];
      const param = params.find((p) => p?.name === SEARCH_PARAMETER) ?? params.find((p) => p?.name !== 'initialRun');
      const raw = typeof param?.value === 'string' ? plain(param.value) : '';
      const refused = checkSearchText(t, raw);
      if (refused) return messageResult(refused.error);
      let found: VmSummary[];
      try {
        // Teams sends a query per keystroke: a narrower text is answered from the last complete answer
        found = await vmForPerson(this.deps, context, raw, { reuse: true });
      } catch (e) {
        if (!isDomainError(e)) throw e;
        return messageResult(refusalText(t, e, raw));
      }
      if (found.length === 0) return messageResult(t('msgext.search.noMatch', { query: raw }));
      const skip = whole(query.queryOptions?.skip, 0, Number.MAX_SAFE_INTEGER, 0);
      const count = whole(query.queryOptions?.count, 1, MAX_PAGE, MAX_PAGE);
      // past the last page: an empty list tells the client there is no more
      const page = found.slice(skip, skip + count);
      return { composeExtension: { type: 'result', attachmentLayout: 'list', attachments: page.map((vm) => vmResult(t, line(vm))) } };
    } catch (e) {
      return messageResult(this.failed(t, e, context, 'query'));
    }
  }

  async fetchTask(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse> {
    const t = turnT(context);
    try {
      if (action?.commandId !== MESSAGE_ACTION) return note(t, t('msgext.unknownCommand'));
      const body = action.messagePayload?.body;
      const reading = readComplaint(body?.content, body?.contentType);
      if (!reading.text) return note(t, t('msgext.action.noMessage'));
      const vms: VmSummary[] = [];
      for (const q of reading.vmQueries) {
        let found: VmSummary[];
        try {
          found = await vmForPerson(this.deps, context, q);
        } catch (e) {
          if (!isDomainError(e)) throw e;
          // over the search limit: nothing more can be looked up this hour
          if (e.code === 'rate-limited') return note(t, refusalText(t, e, q), 'warning');
          continue; // a name outside the scope is a name not found
        }
        for (const vm of found) if (!vms.some((v) => v.id.toLowerCase() === vm.id.toLowerCase())) vms.push(vm);
      }
      const shown = vms.slice(0, MAX_CANDIDATES);
      const question = shown.length
        ? t('msgext.action.found', { count: shown.length })
        : reading.vmQueries.length
          ? t('msgext.action.noneFound', { names: reading.vmQueries.join(', ') })
          : t('msgext.action.noneNamed');
      return this.dialog(t, { text: reading.text, symptom: reading.symptom, vms: shown, question });
    } catch (e) {
      return note(t, this.failed(t, e, context, 'fetchTask'), 'attention');
    }
  }

  async submitAction(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse> {
    const t = turnT(context);
    try {
      if (action?.commandId !== MESSAGE_ACTION) return note(t, t('msgext.unknownCommand'));
      const parsed = SUBMIT.safeParse(action.data ?? {});
      if (!parsed.success) {
        this.deps.logger.warn({ issues: parsed.error.issues.slice(0, 3).map((i) => i.path.join('.')) }, 'message action data refused');
        return this.dialog(t, { text: '', symptom: 'not-stated', vms: [], question: t('msgext.action.typeLabelNone'), error: t('msgext.action.badData') });
      }
      const data = parsed.data;
      const symptom: Symptom = data.symptom ?? 'not-stated';
      const typed = plain(data.vmName ?? '');
      const retry = (error: string, vms: VmSummary[] = []) =>
        this.dialog(t, { text: '', symptom, vms, question: vms.length ? t('msgext.action.choose') : t('msgext.action.typeLabelNone'), error, typed });
      let found: VmSummary[];
      let what: string;
      if (typed) {
        // a name typed into the box wins over the choice: it is what the person last did
        what = extractVmQuery(typed) ?? typed;
        const refused = checkSearchText(t, what, 1);
        if (refused) return retry(refused.error);
      } else if (data.vmId) {
        what = parseVmId(data.vmId)?.name ?? data.vmId;
      } else {
        return retry(t('msgext.action.choose'));
      }
      try {
        found = await vmForPerson(this.deps, context, typed ? what : (data.vmId as string));
      } catch (e) {
        if (!isDomainError(e)) throw e;
        return retry(refusalText(t, e, what));
      }
      if (found.length === 0) return retry(typed ? t('intake.noMatch', { query: what }) : t('msgext.diagnose.notVisible'));
      if (found.length > MAX_CANDIDATES) return retry(t('msgext.action.tooMany', { query: what, count: found.length }));
      if (found.length > 1) return retry(t('msgext.action.several', { query: what }), found);
      let place;
      try {
        place = await startConsent(this.deps, context, found[0], symptom);
      } catch (e) {
        if (!isDomainError(e)) throw e;
        return retry(refusalText(t, e, found[0].name));
      }
      return note(t, consentPlaceText(context, place, found[0].name), 'good');
    } catch (e) {
      return note(t, this.failed(t, e, context, 'submitAction'), 'attention');
    }
  }

  private dialog(
    t: Translate,
    d: { text: string; symptom: Symptom; vms: VmSummary[]; question: string; error?: string; typed?: string },
  ): MessagingExtensionActionResponse {
    const card = diagnoseMessageCard(t, { ...d, vms: d.vms.map(line), typeLabel: t(d.vms.length ? 'msgext.action.typeLabel' : 'msgext.action.typeLabelNone') });
    return { task: { type: 'continue', value: { title: t('msgext.action.title'), width: 'medium', height: 'medium', card: asAttachment(card) } } };
  }

  /** An unexpected failure: logged with a reference the person can quote; they read the turn-error sentence. */
  private failed(t: Translate, e: unknown, context: TurnContext, step: string): string {
    const ref = randomUUID().slice(0, 8);
    this.deps.logger.error({ err: e, ref, step, conversationId: context.activity.conversation?.id }, 'message extension failed');
    return t('turnError', { ref });
  }
}

const armVmId = z.string().max(400).regex(VM_RESOURCE_ID);
/** What the dialog's submit may carry (Teams adds its own fields, e.g. `msgext`): anything else is ignored, a wrong type refused. */
const SUBMIT = z.object({
  msgext: z.literal(MESSAGE_ACTION).optional(),
  vmId: armVmId.optional(),
  vmName: z.string().max(400).optional(),
  symptom: z.enum(SYMPTOM_IDS).optional(),
});

/** Why a search text cannot be searched (null when it can): empty, too short, too long, or not part of a VM name. */
function checkSearchText(t: Translate, raw: string, min = MIN_SEARCH_CHARS): Refusal | null {
  const what = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  if (!raw) return { error: t('msgext.search.empty') };
  const isId = /^\/subscriptions\//i.test(raw);
  if (!isId && raw.length < min) return { error: t('msgext.search.tooShort', { min }) };
  if (!isId && raw.length > MAX_NAME_CHARS) return { error: t('msgext.search.tooLong', { what, max: MAX_NAME_CHARS }) };
  if (!isVmQuery(raw) || (isId && !parseVmId(raw))) return { error: t('msgext.search.notAName', { what, rules: t('chat.vmName.rules') }) };
  return null;
}

function refusalText(t: Translate, e: DomainError, what: string): string {
  return errorText(t, e, { what, vm: what });
}

function line(vm: VmSummary): VmCardLine {
  return { id: vm.id, name: vm.name, resourceGroup: vm.resourceGroup, subscriptionId: vm.subscriptionId, location: vm.location, powerState: vm.powerState };
}

function messageResult(text: string): MessagingExtensionResponse {
  return { composeExtension: { type: 'message', text } };
}

/**
 * A sentence in the dialog (where the consent card went, a refusal, a failure). A dialog card, not a
 * `message` task answer: Teams documents that answer for task/submit; for a message extension's
 * action the Agents Playground shows it as an empty dialog.
 */
function note(t: Translate, text: string, tone: 'good' | 'warning' | 'attention' | 'default' = 'default'): MessagingExtensionActionResponse {
  const card = messageCard({ title: t('msgext.action.title'), text: md(text), tone });
  return { task: { type: 'continue', value: { title: t('msgext.action.title'), width: 'medium', height: 'small', card: asAttachment(card) } } };
}

/** Typed text as plain characters (zero-width characters from a copied card dropped), trimmed. */
function plain(text: string): string {
  return text.replace(/[\u200b-\u200d\u2060\ufeff]/g, '').replace(/\u00a0/g, ' ').trim();
}

function whole(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) ? Math.min(max, Math.max(min, v)) : fallback;
}

/** The message extension and the `vm.diagnose` verb of the cards it inserts (bot/app.ts wires both with one call). */
export function createMessageExtension(router: VerbRouter, deps: VmConsentDeps): MessageExtension {
  registerVmDiagnoseVerb(router, deps);
  return new MessageExtension(deps);
}
