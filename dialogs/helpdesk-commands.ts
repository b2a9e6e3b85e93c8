import { CardFactory, TurnContext } from 'botbuilder';
import type { WaterfallStepContext } from 'botbuilder-dialogs';
import { messageCard } from '../cards/diagnosis';
import { markdownSafe } from '../cards/render';
import { isDomainError } from '../services/errors';
import type { ApprovalService } from '../services/incidents/approvals';
import type { IncidentService } from '../services/incidents/incident-service';
import type { AppStore } from '../services/store/store';
import { samePerson } from '../services/incidents/identity';
import type { Command } from './commands';
import { errorText } from './error-text';
import { historyCard } from './history';
import { APPROVALS_CHANNEL_KEY, type FixPresenter } from './fix-presenter';
import type { CommandHandler } from './main-dialog';
import { personOf } from './person';
import { turnLang, turnT } from './turn';

export interface HelpdeskDeps {
  store: AppStore;
  incidents: IncidentService;
  approvals: ApprovalService;
  presenter: FixPresenter;
}

const MAX_LINES = 20;

/** status, approvals, history <vm>, approvals here (CONTRACTS.md §5), in English and Russian. */
export function helpdeskCommands(deps: HelpdeskDeps): Partial<Record<Command['kind'], CommandHandler>> {
  const { store, approvals, presenter } = deps;
  return {
    async status(step) {
      const t = markdownSafe(turnT(step.context));
      const me = personOf(step.context);
      const all = await store.incidents.listOpen(100);
      const mine = approvals.isApprover(me) ? all : all.filter((i) => samePerson(i.requester, me));
      const lines = mine
        .slice(0, MAX_LINES)
        .map((i) => t('status.line', { vm: i.vmName ?? '?', state: t(`incident.state.${i.state}`), requester: i.requester.name ?? i.requester.id, at: i.updatedAt.slice(0, 16).replace('T', ' ') }));
      await send(step, t(mine.length ? 'status.title' : 'status.none', { count: mine.length }), lines);
    },

    async approvals(step) {
      const t = turnT(step.context);
      const me = personOf(step.context);
      if (!approvals.isApprover(me)) {
        await step.context.sendActivity(t('approval.notApproverList'));
        return;
      }
      await approvals.expireDue();
      const pending = await store.approvals.listPending(10, 'newest');
      if (pending.length === 0) {
        await step.context.sendActivity(t('approval.none'));
        return;
      }
      await step.context.sendActivity(t('approval.listTitle', { count: pending.length }));
      for (const a of pending) {
        const sent = await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(await presenter.card(a, presenter.viewFor(a, me), turnLang(step.context)))] });
        if (sent?.id) await approvals.addCard(a.id, { conversation: TurnContext.getConversationReference(step.context.activity), activityId: sent.id, audience: 'approvers' });
      }
    },

    async history(step, cmd) {
      const t = turnT(step.context);
      if (cmd.kind !== 'history') return;
      if (!approvals.isApprover(personOf(step.context))) {
        await step.context.sendActivity(t('history.onlyHelpdesk'));
        return;
      }
      let vms;
      try {
        vms = await deps.incidents.resolveVmFor(personOf(step.context), cmd.vm);
      } catch (e) {
        if (!isDomainError(e)) throw e;
        await step.context.sendActivity(errorText(t, e, { what: cmd.vm, vm: cmd.vm }));
        return;
      }
      if (vms.length !== 1) {
        await step.context.sendActivity(vms.length ? t('intake.tooMany', { query: cmd.vm, count: vms.length }) : t('intake.noMatch', { query: cmd.vm }));
        return;
      }
      await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(await historyCard(t, store, vms[0]))] });
    },

    async approvalsHere(step) {
      const t = turnT(step.context);
      const me = personOf(step.context);
      if (step.context.activity.conversation?.conversationType !== 'channel') {
        await step.context.sendActivity(t('approval.channelOnlyInTeam'));
        return;
      }
      if (!approvals.isApprover(me)) {
        await store.audit.append({ at: new Date().toISOString(), actor: me.aadObjectId ?? me.id, action: 'approvals.channel.refused', details: { reason: 'not-approver' } });
        await step.context.sendActivity(t('approval.channelNotApprover'));
        return;
      }
      const ref = TurnContext.getConversationReference(step.context.activity);
      // post to the channel itself, not to the thread of this message
      const channelRef = { ...ref, conversation: { ...ref.conversation, id: String(ref.conversation?.id ?? '').split(';')[0] } };
      await store.settings.set(APPROVALS_CHANNEL_KEY, channelRef);
      await store.audit.append({ at: new Date().toISOString(), actor: me.aadObjectId ?? me.id, action: 'approvals.channel.set', details: { conversationId: channelRef.conversation.id } });
      await step.context.sendActivity(t('approval.channelSet'));
    },
  };
}

async function send(step: WaterfallStepContext, title: string, lines: string[]): Promise<void> {
  await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(messageCard({ title, text: lines.join('\n\n') }))] });
}
