import { CardFactory, TurnContext } from 'botbuilder';
import { messageCard } from '../cards/diagnosis';
import { markdownSafe, type CardJson } from '../cards/render';
import type { Translate } from '../services/i18n';
import { isDomainError } from '../services/errors';
import type { ApprovalService } from '../services/incidents/approvals';
import type { CardPlacement, Incident, Person } from '../services/incidents/model';
import type { IncidentService } from '../services/incidents/incident-service';
import { AuditTrail } from '../services/incidents/audit';
import type { AppStore } from '../services/store/store';
import { samePerson } from '../services/incidents/identity';
import type { Command } from './commands';
import { errorText } from './error-text';
import { historyCard } from './history';
import { APPROVALS_CHANNEL_KEY, type FixPresenter } from './fix-presenter';
import type { ApprovalsChannel } from './lifecycle';
import type { CommandHandler } from './main-dialog';
import { personOf } from './person';
import { turnLang, turnT, turnTimeZone } from './turn';
import { chatAddressOf, conversationIdOf } from './chat-address';

export interface HelpdeskDeps {
  /** chat-layer state only: settings (the approvals channel, the last listing) and the user directory */
  store: AppStore;
  incidents: IncidentService;
  approvals: ApprovalService;
  presenter: FixPresenter;
}

const MAX_LINES = 20;
/** settings key (+ conversation id) of the approvals the last listing in a conversation showed */
const LISTING_KEY = 'approvals.listing';

/** status, approvals, history <vm>, approvals here (CONTRACTS.md §5), in English and Russian. */
export function helpdeskCommands(deps: HelpdeskDeps): Partial<Record<Command['kind'], CommandHandler>> {
  const { store, approvals, presenter } = deps;
  const audit = new AuditTrail(store);
  return {
    async status(step) {
      const card = await statusCard(turnT(step.context), deps, personOf(step.context));
      await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(card)] });
    },

    async cancel(step) {
      const t = turnT(step.context);
      const stopped = await deps.incidents.cancelActive(personOf(step.context), (a) => (conversationIdOf(a) ?? '') === (step.context.activity.conversation?.id ?? ''));
      if (stopped.length === 0) {
        await step.context.sendActivity(t('cancel.nothing'));
        return;
      }
      const safe = markdownSafe(t);
      const lines = stopped.map(({ incident, runCommandSent, withdrawn }) => {
        const vm = incident.vmName ?? '';
        const line = runCommandSent ? safe('incidents.cancel.recalled', { vm }) : vm ? safe('incidents.cancel.stopped', { vm }) : safe('incidents.cancel.stoppedPick');
        return withdrawn > 0 ? `${line} ${safe('incidents.cancel.withdrawn', { count: withdrawn })}` : line;
      });
      await step.context.sendActivity(lines.join('\n\n'));
    },

    async approvals(step) {
      const t = turnT(step.context);
      const me = personOf(step.context);
      if (!approvals.isApprover(me)) {
        await step.context.sendActivity(t('approval.notApproverList'));
        return;
      }
      await approvals.expireDue();
      const pending = await approvals.listPending(10, 'newest');
      if (pending.length === 0) {
        await step.context.sendActivity(t('approval.none'));
        return;
      }
      // the previous listing's copies in this conversation stop being updated: this one replaces them
      const here = TurnContext.getConversationReference(step.context.activity);
      const listingKey = `${LISTING_KEY}:${here.conversation?.id ?? ''}`;
      const inThisConversation = (c: CardPlacement) => !!c.listing && conversationIdOf(c.conversation) === here.conversation?.id;
      for (const id of (await store.settings.get<string[]>(listingKey)) ?? []) await approvals.removeCards(id, inThisConversation);
      await store.settings.set(listingKey, pending.map((a) => a.id));
      await step.context.sendActivity(t('approval.listTitle', { count: pending.length }));
      // Approve and Reject right away only in the approver's own chat; elsewhere the base card
      // (everyone sees it; Teams brings each approver the buttons through refresh)
      const personal = (step.context.activity.conversation?.conversationType ?? 'personal') === 'personal';
      for (const a of pending) {
        const view = personal ? presenter.viewFor(a, me) : 'status';
        const sent = await step.context.sendActivity({ attachments: [CardFactory.adaptiveCard(await presenter.card(a, view, turnLang(step.context), turnTimeZone(step.context), personal))] });
        if (sent?.id) await approvals.addCard(a.id, { conversation: chatAddressOf(here), activityId: sent.id, audience: 'approvers', listing: true });
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
        await audit.record(me, 'approvals.channel.refused', null, { reason: 'not-approver' });
        await step.context.sendActivity(t('approval.channelNotApprover'));
        return;
      }
      const ref = TurnContext.getConversationReference(step.context.activity);
      // post to the channel itself, not to the thread of this message
      const team = (step.context.activity.channelData as { team?: { id?: unknown } } | undefined)?.team?.id;
      const channelId = String(ref.conversation?.id ?? '').split(';')[0];
      const channelRef: ApprovalsChannel = {
        ...ref,
        conversation: { ...ref.conversation, id: channelId } as ApprovalsChannel['conversation'],
        // a team's archive or deletion names the team, not the channel
        teamId: typeof team === 'string' ? team : undefined,
      };
      await store.settings.set(APPROVALS_CHANNEL_KEY, channelRef);
      await audit.record(me, 'approvals.channel.set', null, { conversationId: channelId });
      await step.context.sendActivity(t('approval.channelSet'));
    },
  };
}

/**
 * The open incidents as `status` lists them (approvers see all, others their own): the chat's
 * command and the helpdesk tab (bot/tab) show this same card.
 */
export async function statusCard(raw: Translate, deps: Pick<HelpdeskDeps, 'incidents' | 'approvals' | 'presenter'>, me: Person): Promise<CardJson> {
  const t = markdownSafe(raw);
  const { approvals, presenter } = deps;
  // open only: a healthy VM closes, a newer diagnosis supersedes, a verified fix resolves
  const all = await deps.incidents.listOpen(100);
  const mine = approvals.isApprover(me) ? all : all.filter((i) => samePerson(i.requester, me));
  const shown = mine.slice(0, MAX_LINES);
  const lines = await Promise.all(
    shown.map(async (i) =>
      t('status.line', {
        vm: i.vmName ?? '?',
        state: await stateLabel(t, approvals, i),
        requester: i.requester.name || (await presenter.displayName(i.requester)),
        at: i.updatedAt,
      }),
    ),
  );
  return messageCard({ title: t(mine.length ? 'status.title' : 'status.none', { count: mine.length }), text: lines.join('\n\n'), fullWidth: true });
}

/** Where an incident stands, as its reporter reads it: a diagnosed VM whose fix waits for an approver says so. */
async function stateLabel(t: Translate, approvals: ApprovalService, i: Incident): Promise<string> {
  if ((i.state === 'diagnosed' || i.state === 'blocked' || i.state === 'failed') && (await approvals.hasPending(i.id))) return t('incidents.status.awaitingApproval');
  return t(`incident.state.${i.state}`);
}
