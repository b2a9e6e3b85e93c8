import { TurnContext } from 'botbuilder';
import { clientTimeZone, pickLang, UTC } from '../services/i18n';
import type { AppStore } from '../services/store/store';
import { conversationIdOf } from './chat-address';

/**
 * Remembers who talked to the bot and, for personal chats, how to reach them later: approval
 * requests go to approvers' personal chats, and refresh.userIds needs their Teams ids.
 */
export async function recordUser(store: AppStore, context: TurnContext): Promise<void> {
  const from = context.activity.from;
  // lifecycle events (a removal, an uninstall) say nothing about how to reach the user
  if (!from?.id || context.activity.type === 'conversationUpdate' || context.activity.type === 'installationUpdate') return;
  const personal = isBotsOwnChat(context);
  const existing = await store.users.get(from.id);
  const aad = typeof from.aadObjectId === 'string' ? from.aadObjectId : existing?.aadObjectId;
  const zone = clientTimeZone(context.activity);
  const next = {
    id: from.id,
    aadObjectId: aad,
    name: from.name || existing?.name,
    lang: context.activity.locale ? pickLang(context.activity.locale) : existing?.lang,
    tz: zone !== UTC ? zone : existing?.tz,
    personal: personal ? TurnContext.getConversationReference(context.activity) : existing?.personal,
    updatedAt: new Date().toISOString(),
  };
  const same =
    existing &&
    existing.aadObjectId === next.aadObjectId &&
    existing.name === next.name &&
    existing.lang === next.lang &&
    existing.tz === next.tz &&
    conversationIdOf(existing.personal) === conversationIdOf(next.personal) &&
    existing.personal?.serviceUrl === next.personal?.serviceUrl;
  if (!same) await store.users.upsert(next);
}

/**
 * Whether this turn proves its conversation is the person's 1:1 chat with the bot: a message they
 * typed in a personal conversation (the bot gets messages only from chats it is in). Invokes do not:
 * a message extension used, or a card it inserted clicked, in a 1:1 chat between two people comes
 * with conversationType 'personal' and that chat's id, and the bot cannot post there. A card's
 * submit (a message with a value) may come from such a card too. The app's installation
 * (conversationUpdate) is recorded by ApproverReach.observe.
 */
function isBotsOwnChat(context: TurnContext): boolean {
  const a = context.activity;
  return a.type === 'message' && a.conversation?.conversationType === 'personal' && a.value === undefined;
}
