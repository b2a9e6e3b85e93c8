import type { TurnContext } from 'botbuilder';
import type { Person } from '../services/incidents/model';

/** Who sent this activity. */
export function personOf(context: TurnContext): Person {
  const from = context.activity.from ?? { id: 'unknown', name: '' };
  return {
    id: String(from.id ?? 'unknown'),
    name: typeof from.name === 'string' ? from.name : undefined,
    aadObjectId: typeof from.aadObjectId === 'string' ? from.aadObjectId : undefined,
  };
}

/**
 * A channel or group chat: several people, and the bot hears only messages that @mention it
 * (or card actions). Personal chats are neither.
 */
export function isGroupScope(context: TurnContext): boolean {
  const c = context.activity.conversation;
  return c?.conversationType === 'channel' || c?.conversationType === 'groupChat' || c?.isGroup === true;
}
