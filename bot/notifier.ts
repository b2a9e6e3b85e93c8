import type { Activity, CloudAdapter, ConversationReference } from 'botbuilder';
import type { Notifier } from '../services/incidents/notifier';

/** Proactive messages through the CloudAdapter: the conversation reference stored with the incident is enough. */
export class AdapterNotifier implements Notifier {
  constructor(private readonly adapter: CloudAdapter, private readonly appId: string) {}

  async send(conversation: Partial<ConversationReference>, activity: Partial<Activity>): Promise<string | undefined> {
    let id: string | undefined;
    await this.adapter.continueConversationAsync(this.appId, conversation, async (context) => {
      const r = await context.sendActivity(activity);
      id = r?.id;
    });
    return id;
  }

  async update(conversation: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>): Promise<void> {
    await this.adapter.continueConversationAsync(this.appId, conversation, async (context) => {
      await context.updateActivity({ ...activity, id: activityId, conversation: conversation.conversation } as Partial<Activity>);
    });
  }
}
