import { BotState, type Storage, type TurnContext } from 'botbuilder';

/**
 * Where a conversation flow keeps its state. In a personal chat: the conversation (one person).
 * In a channel thread or a group chat: the conversation AND the person, because everyone there
 * talks to the bot in the same conversation, and one member's @mention must not answer the
 * question the bot asked another member.
 */
export class DialogScopeState extends BotState {
  constructor(storage: Storage) {
    super(storage, (context) => Promise.resolve(dialogStateKey(context)));
  }
}

export function dialogStateKey(context: TurnContext): string {
  const a = context.activity;
  const channelId = a.channelId;
  const conversationId = a.conversation?.id;
  if (!channelId || !conversationId) throw new Error('dialog state needs activity.channelId and activity.conversation.id');
  const group = a.conversation.conversationType === 'channel' || a.conversation.conversationType === 'groupChat' || a.conversation.isGroup === true;
  if (!group) return `${channelId}/conversations/${conversationId}`;
  const userId = a.from?.id;
  if (!userId) throw new Error('dialog state in a group conversation needs activity.from.id');
  return `${channelId}/conversations/${conversationId}/users/${userId}`;
}
