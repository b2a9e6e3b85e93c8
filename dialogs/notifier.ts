import type { Activity } from 'botbuilder';
import type { ChatAddress } from '../services/incidents/model';

/** What became of an update: sent, given up after the channel's retries, or the conversation is gone. */
export type UpdateOutcome = 'updated' | 'failed' | 'gone';

/**
 * Posts to a conversation outside a turn (proactive messages), and updates a posted message in
 * place. `send` rejects when the message could not be posted. `update` never rejects and never
 * posts: updates of one message are coalesced (a newer state replaces one not sent yet), and
 * the promise says what became of the latest state. A chat port: the dialogs post through it and
 * bot/notifier.ts implements it; the conversation is the domain's stored ChatAddress.
 */
export interface Notifier {
  send(conversation: ChatAddress, activity: Partial<Activity>): Promise<string | undefined>;
  update(conversation: ChatAddress, activityId: string, activity: Partial<Activity>): Promise<UpdateOutcome>;
}
