import { TurnContext } from 'botbuilder';
import type { AppStore } from '../services/store/store';

/**
 * Remembers who talked to the bot and, for personal chats, how to reach them later: approval
 * requests go to approvers' personal chats, and refresh.userIds needs their Teams ids.
 */
export async function recordUser(store: AppStore, context: TurnContext): Promise<void> {
  const from = context.activity.from;
  if (!from?.id || context.activity.type === 'conversationUpdate') return;
  const personal = context.activity.conversation?.conversationType === 'personal';
  const existing = await store.users.get(from.id);
  const aad = typeof from.aadObjectId === 'string' ? from.aadObjectId : existing?.aadObjectId;
  const next = {
    id: from.id,
    aadObjectId: aad,
    name: from.name || existing?.name,
    personal: personal ? TurnContext.getConversationReference(context.activity) : existing?.personal,
    updatedAt: new Date().toISOString(),
  };
  const same =
    existing &&
    existing.aadObjectId === next.aadObjectId &&
    existing.name === next.name &&
    existing.personal?.conversation?.id === next.personal?.conversation?.id &&
    existing.personal?.serviceUrl === next.personal?.serviceUrl;
  if (!same) await store.users.upsert(next);
}
