import type { ConversationReference } from 'botbuilder';
import { translator } from '../services/i18n';
import type { ApprovalService } from '../services/incidents/approvals';
import type { Approval } from '../services/incidents/model';
import type { Notifier } from './notifier';
import type { Logger } from '../services/log';
import { AuditTrail, SYSTEM_ACTOR } from '../services/incidents/audit';
import type { AppStore } from '../services/store/store';
import { APPROVALS_CHANNEL_KEY } from './fix-presenter';
import { conversationIdOf } from './chat-address';

/** The approvals channel as stored by `approvals here`: where to post, and the team it belongs to. */
export type ApprovalsChannel = Partial<ConversationReference> & { teamId?: string };

export type GoneReason =
  | 'uninstalled'
  | 'bot-removed'
  | 'member-removed'
  | 'team-archived'
  | 'team-deleted'
  | 'channel-deleted'
  | 'writes-blocked';

export interface LifecycleDeps {
  store: AppStore;
  approvals: ApprovalService;
  notifier: Notifier;
  logger: Logger;
  /** stops every further request to the conversation in this process (the channel client) */
  markGone(conversationId: string, reason: string): void;
}

const base = (id: string | undefined) => (id ?? '').split(';')[0];

/**
 * What the bot does when it can no longer write somewhere: the app was uninstalled, the bot or
 * the user was removed, the team archived or deleted, the channel deleted, or a send was refused
 * for good (403 MessageWritesBlocked, 404 ConversationNotFound). It forgets every stored way
 * there (the approvals channel, approvers' personal chats, the card copies to update), so no
 * approval or step sends there again, and tells the approvers when their channel is gone.
 */
export class ConversationLifecycle {
  constructor(private readonly deps: LifecycleDeps) {}

  /** A conversation (personal chat, group chat, channel) can no longer be written to. */
  async conversationGone(conversationId: string, reason: GoneReason, userId?: string): Promise<void> {
    const id = base(conversationId);
    this.deps.markGone(id, reason);
    await this.forget((conv) => conv === id, reason, { conversationId: id, userId });
  }

  /** A team is archived, deleted, or the app removed from it: every channel of it is unreachable. */
  async teamGone(teamId: string, reason: GoneReason): Promise<void> {
    const team = base(teamId);
    this.deps.markGone(team, reason);
    const channel = await this.deps.store.settings.get<ApprovalsChannel>(APPROVALS_CHANNEL_KEY);
    const channelId = base(channel?.conversation?.id);
    const inTeam = !!channel && (channel.teamId === team || channelId === team);
    if (inTeam && channelId) this.deps.markGone(channelId, reason);
    await this.forget((conv) => conv === team || (inTeam && conv === channelId), reason, { teamId: team });
  }

  private async forget(matches: (conversationId: string) => boolean, reason: GoneReason, what: Record<string, string | undefined>): Promise<void> {
    const { store, approvals, logger } = this.deps;
    const forgotten: string[] = [];

    const channel = await store.settings.get<ApprovalsChannel>(APPROVALS_CHANNEL_KEY);
    const channelGone = !!channel?.conversation?.id && matches(base(channel.conversation.id));
    if (channelGone) {
      await store.settings.set(APPROVALS_CHANNEL_KEY, null);
      forgotten.push('approvals-channel');
    }

    const people = new Set<string>(what.userId ? [what.userId] : []);
    for (const aad of approvals.approverIds()) {
      const u = await store.users.findByAadObjectId(aad);
      if (u) people.add(u.id);
    }
    for (const userId of people) {
      const u = await store.users.get(userId);
      if (u?.personal && matches(base(conversationIdOf(u.personal)))) {
        await store.users.upsert({ ...u, personal: undefined, updatedAt: new Date().toISOString() });
        forgotten.push(`personal:${u.id}`);
      }
    }

    // the copies of approval cards still updated: pending approvals, and those whose fix is running
    const live = new Map<string, Approval>();
    for (const a of await store.approvals.listPending(500)) live.set(a.id, a);
    for (const job of await store.jobs.listByState(['queued', 'running'], 500)) {
      const a = await store.approvals.get(job.approvalId);
      if (a) live.set(a.id, a);
    }
    let copies = 0;
    for (const a of live.values()) copies += await store.approvals.removeCards(a.id, (c) => matches(base(conversationIdOf(c.conversation))));

    await new AuditTrail(store).record(SYSTEM_ACTOR, 'conversation.forgotten', null, { ...what, reason, forgotten, copies });
    logger.info({ ...what, reason, forgotten, copies }, 'forgot an unreachable conversation');
    if (channelGone) await this.tellApprovers(reason);
  }

  /** The approvals channel is gone: approvers hear it in their personal chats, in their language. */
  private async tellApprovers(reason: GoneReason): Promise<void> {
    const { store, approvals, notifier, logger } = this.deps;
    for (const aad of approvals.approverIds()) {
      const u = await store.users.findByAadObjectId(aad);
      if (!u?.personal) continue;
      const t = translator(u.lang ?? 'en', u.tz);
      try {
        await notifier.send(u.personal, { type: 'message', text: t('lifecycle.approvalsChannelGone', { reason: t(`lifecycle.reason.${reason}`) }) });
      } catch (e) {
        logger.warn({ err: e, userId: u.id }, 'could not tell an approver that the approvals channel is gone');
      }
    }
  }
}
