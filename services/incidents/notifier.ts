import type { Activity, ConversationReference } from 'botbuilder';

/** Posts to a conversation outside a turn (proactive messages), and updates a posted message in place. */
export interface Notifier {
  send(conversation: Partial<ConversationReference>, activity: Partial<Activity>): Promise<string | undefined>;
  update(conversation: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>): Promise<void>;
}
