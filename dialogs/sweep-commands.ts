import { CardFactory, TurnContext } from 'botbuilder';
import type { WaterfallStepContext } from 'botbuilder-dialogs';
import { z } from 'zod';
import { messageCard, progressCard } from '../cards/diagnosis';
import { markdownSafe } from '../cards/render';
import { scopeLine } from '../cards/sweep';
import { VM_RESOURCE_ID } from '../services/azure/arm-ids';
import { DomainError, isDomainError } from '../services/errors';
import type { ApprovalService } from '../services/incidents/approvals';
import { AuditTrail } from '../services/incidents/audit';
import type { DiagnosisObserver, IncidentService } from '../services/incidents/incident-service';
import type { Person } from '../services/incidents/model';
import type { AppStore } from '../services/store/store';
import type { SweepDigest, Sweeps } from '../services/sweeps/types';
import { chatAddressOf } from './chat-address';
import type { Command } from './commands';
import { errorText } from './error-text';
import { APPROVALS_CHANNEL_KEY } from './fix-presenter';
import type { ApprovalsChannel } from './lifecycle';
import type { CommandHandler } from './main-dialog';
import { personOf } from './person';
import type { SweepPresenter } from './sweep-presenter';
import { turnLang, turnT, turnTimeZone } from './turn';
import type { VerbHandler, VerbRouter } from './verbs';

export interface SweepChatDeps {
  /** the sweep service; undefined where this installation has none */
  sweeps: () => Sweeps | undefined;
  approvals: ApprovalService;
  presenter: SweepPresenter;
  /** chat-layer state: the approvals channel, who is who */
  store: AppStore;
}

const LISTED = 10;
const base = (id: string | undefined) => (id ?? '').split(';')[0];

/**
 * Sweeps are for approvers, and their cards name VMs and what is wrong with them: they are
 * started and listed in a personal chat or in the approvals channel, nowhere else.
 */
async function where(store: AppStore, context: TurnContext): Promise<'ok' | 'elsewhere'> {
  const conversation = context.activity.conversation;
  const type = conversation?.conversationType ?? 'personal';
  if (type === 'personal') return 'ok';
  if (type !== 'channel') return 'elsewhere';
  const channel = await store.settings.get<ApprovalsChannel>(APPROVALS_CHANNEL_KEY);
  return channel?.conversation?.id && base(channel.conversation.id) === base(conversation?.id) ? 'ok' : 'elsewhere';
}

/** `sweep` / `проверка парка` and `sweeps` / `проверки` (dialogs/sweep-parse.ts). */
export function sweepCommands(deps: SweepChatDeps): Partial<Record<Command['kind'], CommandHandler>> {
  const { approvals, presenter, store } = deps;
  const audit = new AuditTrail(store);

  /** The person may start or list sweeps here; else they have been told why not. */
  const allowed = async (step: WaterfallStepContext, me: Person, refusalKey: string): Promise<boolean> => {
    const t = turnT(step.context);
    if (!approvals.isApprover(me)) {
      await audit.record(me, 'sweep.refused', null, { reason: 'not-approver' });
      await step.context.sendActivity(t(refusalKey));
      return false;
    }
    if ((await where(store, step.context)) !== 'ok') {
      await step.context.sendActivity(t('sweepUi.cmd.wrongPlace'));
      return false;
    }
    return true;
  };

  return {
    async sweep(step, cmd) {
      if (cmd.kind !== 'sweep') return;
      const t = turnT(step.context);
      const me = personOf(step.context);
      if (!(await allowed(step, me, 'sweepUi.cmd.notApprover'))) return;
      if (cmd.error) {
        const safe = markdownSafe(t);
        await step.context.sendActivity(t('sweepUi.cmd.bad', { detail: safe(`sweepUi.cmd.${cmd.error.key}`, cmd.error.params), usage: t('sweepUi.cmd.usage') }));
        return;
      }
      const sweeps = deps.sweeps();
      if (!sweeps) {
        await step.context.sendActivity(t('sweepUi.cmd.unavailable'));
        return;
      }
      const here = TurnContext.getConversationReference(step.context.activity);
      let digest: SweepDigest;
      try {
        digest = await sweeps.start({
          kind: cmd.deep ? 'deep' : 'fast',
          scope: cmd.scope,
          // the approver's Entra object id: the identity every rights check uses
          startedBy: me.aadObjectId ?? me.id,
          replyTo: here.conversation?.id,
        });
      } catch (e) {
        if (!isDomainError(e)) throw e;
        await step.context.sendActivity(errorText(t, e));
        return;
      }
      const lang = turnLang(step.context);
      const tz = turnTimeZone(step.context);
      const name = me.name || me.id;
      // the card at once (done 0 of N), then kept current by the presenter (the sweep's observer)
      const sent = await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(presenter.card(digest, lang, tz, name))] });
      if (!sent?.id) return;
      await presenter.place(digest.id, { conversation: chatAddressOf(here), activityId: sent.id, lang, tz }, name);
      // reports that came before the card was placed were not shown: the latest state now
      const latest = await sweeps.get(digest.id);
      if (latest && (latest.state !== digest.state || latest.done !== digest.done)) await presenter.show(latest);
    },

    async sweeps(step) {
      const t = turnT(step.context);
      const me = personOf(step.context);
      if (!(await allowed(step, me, 'sweepUi.cmd.notApproverList'))) return;
      const sweeps = deps.sweeps();
      if (!sweeps) {
        await step.context.sendActivity(t('sweepUi.cmd.unavailable'));
        return;
      }
      const recent = await sweeps.list(LISTED);
      if (recent.length === 0) {
        await step.context.sendActivity(t('sweepUi.list.none'));
        return;
      }
      const safe = markdownSafe(t);
      const lines = await Promise.all(
        recent.map(async (s) =>
          safe('sweepUi.list.line', {
            at: s.startedAt,
            kind: t(`sweepUi.kind.${s.kind}`),
            scope: s.scope.subscriptionIds?.length || s.scope.resourceGroup ? scopeLine(t, s) : t('sweepUi.list.allScope'),
            state: stateShort(t, s),
            affected: s.affected ?? s.vms.filter((v) => v.findings.length > 0).length,
            who: s.startedBy === 'schedule' ? t('sweepUi.bySchedule') : await nameOf(store, s.startedBy),
          }),
        ),
      );
      await step.context.sendActivity({
        attachments: [CardFactory.adaptiveCard(messageCard({ title: t('sweepUi.list.title', { count: recent.length }), text: lines.join('\n\n'), fullWidth: true }))],
      });
    },
  };
}

function stateShort(t: ReturnType<typeof turnT>, s: SweepDigest): string {
  return t(`sweepUi.state.${s.state}`, { done: s.done, total: s.total, seconds: s.endedAt ? Math.round(Math.max(0, Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000) : '?' });
}

/** An approver's name as the bot knows it (sweeps record the Entra object id of who started them). */
async function nameOf(store: AppStore, who: string): Promise<string> {
  const u = (await store.users.findByAadObjectId(who)) ?? (await store.users.get(who));
  return u?.name || who;
}

export interface SweepVerbDeps extends SweepChatDeps {
  incidents: IncidentService;
  /** the live diagnosis card's observer (registerDiagnosisVerbs) */
  diagnosisObserver: DiagnosisObserver;
}

// a sweep id as the service makes it (a UUID today); anything else never reaches the service
const sweepId = z.string().min(1).max(100).regex(/^[A-Za-z0-9._:-]+$/);
const sweepFix = z.object({ sweepId, vmId: z.string().max(400).regex(VM_RESOURCE_ID) });

const refuse = (code: DomainError['code'], messageKey: string, params: Record<string, string> = {}) => new DomainError(code, messageKey, { params: { ...params, messageKey } });

/**
 * "Request fix" on a sweep's card: an approver starts the normal diagnosis of that VM in this
 * conversation; its findings card offers the fixes, and each request goes through the normal
 * approval. The card's data is not trusted: the sweep must exist and list that VM with findings.
 */
export function registerSweepVerbs(router: VerbRouter, deps: SweepVerbDeps): void {
  const { approvals, incidents } = deps;
  const audit = new AuditTrail(deps.store);
  const fix: VerbHandler<typeof sweepFix> = {
    verb: 'sweep.fix',
    schema: sweepFix,
    async handle(context, data) {
      const t = turnT(context);
      const me = personOf(context);
      if (!approvals.isApprover(me)) {
        await audit.record(me, 'sweep.fix.refused', null, { reason: 'not-approver', sweepId: data.sweepId });
        throw refuse('forbidden', 'sweepUi.fix.notApprover');
      }
      const sweeps = deps.sweeps();
      if (!sweeps) throw refuse('not-found', 'sweepUi.cmd.unavailable');
      const digest = await sweeps.get(data.sweepId);
      if (!digest) throw refuse('not-found', 'sweepUi.fix.unknownSweep');
      const listed = digest.vms.find((v) => v.vmId.toLowerCase() === data.vmId.toLowerCase() && v.findings.length > 0);
      if (!listed) {
        await audit.record(me, 'sweep.fix.refused', null, { reason: 'not-in-sweep', sweepId: digest.id });
        throw refuse('bad-input', 'sweepUi.fix.notInSweep');
      }
      let found;
      try {
        found = await incidents.resolveVm(listed.vmId);
      } catch (e) {
        if (isDomainError(e) && e.code === 'not-found') throw refuse('not-found', 'sweepUi.fix.vmGone', { vm: listed.vmName });
        throw e;
      }
      if (found.length !== 1) throw refuse('not-found', 'sweepUi.fix.vmGone', { vm: listed.vmName });
      const here = TurnContext.getConversationReference(context.activity);
      const incident = await incidents.open({ requester: me, conversation: chatAddressOf(here), lang: turnLang(context), tz: turnTimeZone(context), symptom: 'not-stated', candidates: found });
      await audit.record(me, 'sweep.fix.diagnose', null, { sweepId: digest.id, incidentId: incident.id, vmId: listed.vmId });
      // a new message (the digest card stays): the live card of the diagnosis, replaced by its findings
      const sent = await context.sendActivity({ attachments: [CardFactory.adaptiveCard(progressCard(t, { vmName: found[0].name, current: 'precheck' }))] });
      try {
        await incidents.startDiagnosis(incident.id, me, deps.diagnosisObserver, sent?.id);
      } catch (e) {
        // the progress card says why nothing runs, rather than waiting forever
        if (isDomainError(e) && sent?.id) {
          const card = messageCard({ title: t('diagnosis.failedTitle', { vm: found[0].name }), text: errorText(t, e, { vm: found[0].name }), tone: 'attention' });
          await context.updateActivity({ id: sent.id, type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
        }
        throw e;
      }
      // Execute: a banner under the digest card, which stays as it is; Submit: a message
      return { kind: 'message', text: markdownSafe(t)('sweepUi.fix.started', { vm: found[0].name }) };
    },
  };
  router.add(fix);
}
