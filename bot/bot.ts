import {
  CardFactory,
  TeamsActivityHandler,
  TurnContext,
  type AdaptiveCardInvokeResponse,
  type AdaptiveCardInvokeValue,
  type InvokeResponse,
  type MessagingExtensionAction,
  type MessagingExtensionActionResponse,
  type MessagingExtensionQuery,
  type MessagingExtensionResponse,
  type TaskModuleRequest,
  type TaskModuleResponse,
  type BotState,
  type StatePropertyAccessor,
  type UserState,
} from 'botbuilder';
import { DialogSet, DialogTurnStatus, type Dialog, type DialogState } from 'botbuilder-dialogs';
import { welcomeCard } from '../cards/welcome';
import type { ConversationLifecycle, GoneReason } from '../dialogs/lifecycle';
import type { VerbRouter } from '../dialogs/verbs';
import { setTurnLang } from '../dialogs/turn';
import { sharesCardOnly } from '../dialogs/msgext-text';
import { LANGS, pickLang, translator, type Lang } from '../services/i18n';
import { textLang } from '../services/i18n/text-lang';
import { incidentReference } from './adapter';
import type { Logger } from '../services/log';
import type { MessageExtensionHandlers, TaskModuleHandlers } from './surfaces';

/** The language a conversation was last clearly written in, and the client's locale then. */
interface ConversationLang {
  lang: Lang;
  locale: string;
}

/** Teams' own limit for a message a person can send; anything longer is not a request to the bot. */
export const MAX_MESSAGE_CHARS = 28000;

export interface BotDeps {
  /** the flows' state: per conversation in personal chats, per person in channels and group chats */
  conversationState: BotState;
  userState: UserState;
  mainDialog: Dialog;
  verbs: VerbRouter;
  logger: Logger;
  demoMode: boolean;
  /** forgets conversations the bot can no longer write to (uninstall, removal, archive, deletion) */
  lifecycle?: ConversationLifecycle;
  /** runs before every turn's handlers (e.g. remembering who the user is) */
  beforeTurn?: (context: TurnContext) => Promise<void>;
  /** the message extension (issue #17); absent: its invokes are not implemented */
  messageExtension?: MessageExtensionHandlers;
  /** the dialogs (task modules) opened from cards (issue #17); absent: not implemented */
  taskModules?: TaskModuleHandlers;
}

/**
 * The Teams activity handler: turns messages into dialog turns, card actions into verbs, and
 * greets new conversations. All chat text comes from the en/ru catalogues.
 */
export class RdpDoctorBot extends TeamsActivityHandler {
  private readonly dialogState: StatePropertyAccessor<DialogState>;
  private readonly language: StatePropertyAccessor<ConversationLang>;

  constructor(private readonly deps: BotDeps) {
    super();
    this.dialogState = deps.conversationState.createProperty<DialogState>('dialogState');
    this.language = deps.conversationState.createProperty<ConversationLang>('language');

    this.onMessage(async (context, next) => {
      const value = context.activity.value as unknown;
      const reply = cardReply(value);
      const lang = await this.chooseLang(context, reply ?? normalizeText(context));
      if (reply !== undefined) {
        // a question's card answered in a channel or group chat (a button, or the text box)
        context.activity.text = reply;
        if (reply) await this.runDialog(context);
        else await context.sendActivity(translator(lang)('badInput.emptyMessage'));
      } else if (value && typeof value === 'object' && !Array.isArray(value) && 'verb' in value) {
        // Action.Submit fallback of a card action: the same verbs as Action.Execute
        await deps.verbs.handleSubmit(context, value as Record<string, unknown>);
      } else if (sharesCardOnly(context.activity.text, context.activity.attachments)) {
        // a card shared from the message extension (msgext, issue #17): not a request to the bot
        deps.logger.debug({ conversationId: context.activity.conversation?.id }, 'shared card message ignored');
      } else if ((context.activity.text ?? '').length > MAX_MESSAGE_CHARS) {
        // a pasted log or script: say so instead of searching a VM in it
        const length = (context.activity.text ?? '').length;
        await context.sendActivity(translator(lang)('teams.tooLong', { length, max: MAX_MESSAGE_CHARS }));
      } else {
        const text = normalizeText(context);
        if (!text) {
          await context.sendActivity(translator(lang)('badInput.emptyMessage'));
        } else {
          context.activity.text = text;
          await this.runDialog(context);
        }
      }
      await next();
    });

    this.registerLifecycle();

    this.onMembersAdded(async (context, next) => {
      const lang = pickLang(context.activity.locale);
      const t = translator(lang);
      const botId = context.activity.recipient?.id;
      const added = context.activity.membersAdded ?? [];
      const botAdded = added.some((m) => m.id === botId);
      const personal = context.activity.conversation?.conversationType === 'personal' || !context.activity.conversation?.conversationType;
      // Greet once when the bot is installed, and each user who opens a personal chat; not every new team member.
      if (botAdded || (personal && added.some((m) => m.id !== botId))) {
        await context.sendActivity({
          text: t('welcome.text'),
          attachments: [CardFactory.adaptiveCard(welcomeCard(t, { demoMode: deps.demoMode }))],
        });
      }
      await next();
    });
  }

  private registerLifecycle(): void {
    const gone = async (context: TurnContext, reason: GoneReason, userId?: string) => {
      const lifecycle = this.deps.lifecycle;
      if (!lifecycle) return;
      const a = context.activity;
      const team = (a.channelData as { team?: { id?: unknown } } | undefined)?.team?.id;
      if (a.conversation?.conversationType === 'channel') await lifecycle.teamGone(typeof team === 'string' ? team : a.conversation.id, reason);
      else await lifecycle.conversationGone(a.conversation?.id ?? '', reason, userId);
    };
    this.onInstallationUpdateRemove(async (context, next) => {
      await gone(context, 'uninstalled', context.activity.from?.id);
      await next();
    });
    this.onMembersRemoved(async (context, next) => {
      const botId = context.activity.recipient?.id;
      const removed = context.activity.membersRemoved ?? [];
      if (removed.some((m) => m.id === botId)) await gone(context, 'bot-removed');
      else if (context.activity.conversation?.conversationType === 'personal') await gone(context, 'member-removed', removed[0]?.id);
      await next();
    });
    this.onTeamsChannelDeletedEvent(async (channel, _team, _context, next) => {
      if (channel.id) await this.deps.lifecycle?.conversationGone(channel.id, 'channel-deleted');
      await next();
    });
    this.onTeamsTeamArchivedEvent(async (team, _context, next) => {
      if (team.id) await this.deps.lifecycle?.teamGone(team.id, 'team-archived');
      await next();
    });
    for (const on of [this.onTeamsTeamDeletedEvent, this.onTeamsTeamHardDeletedEvent]) {
      on.call(this, async (team, _context, next) => {
        if (team.id) await this.deps.lifecycle?.teamGone(team.id, 'team-deleted');
        await next();
      });
    }
  }

  override async run(context: TurnContext): Promise<void> {
    if (this.deps.beforeTurn) {
      try {
        await this.deps.beforeTurn(context);
      } catch (e) {
        this.deps.logger.warn({ err: e }, 'beforeTurn failed');
      }
    }
    await super.run(context);
    await this.deps.conversationState.saveChanges(context, false);
    await this.deps.userState.saveChanges(context, false);
  }

  /**
   * Card actions (`adaptiveCard/action`) are answered here, always with HTTP 200: the Universal
   * Actions answer carries its own statusCode and Teams reads that. botbuilder would copy it to
   * the HTTP status (400) and answer a thrown error with 501, and Teams then shows only a generic
   * failure. Malformed actions and unknown verbs get an error answer, a failure a message with
   * the reference of the log line. Other invokes are left to the SDK.
   */
  protected override async onInvokeActivity(context: TurnContext): Promise<InvokeResponse> {
    if (context.activity.name !== 'adaptiveCard/action') return super.onInvokeActivity(context);
    const lang = await this.chooseLang(context, null);
    const t = translator(lang);
    const value = context.activity.value as { action?: { type?: unknown } | null } | undefined;
    if (!value || typeof value.action !== 'object' || value.action === null || value.action.type !== 'Action.Execute') {
      return { status: 200, body: invokeError(400, 'BadRequest', t('badInput.unknownVerb')) };
    }
    try {
      return { status: 200, body: await this.onAdaptiveCardInvoke(context, value as AdaptiveCardInvokeValue) };
    } catch (e) {
      const ref = incidentReference();
      this.deps.logger.error({ err: e, ref, conversationId: context.activity.conversation?.id, verb: String((value.action as { verb?: unknown }).verb).slice(0, 64) }, 'card action failed');
      return { status: 200, body: invokeError(500, 'InternalError', t('turnError', { ref })) };
    }
  }

  protected override async onAdaptiveCardInvoke(context: TurnContext, value: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    return this.deps.verbs.handleExecute(context, value);
  }

  // --- Teams surfaces (issue #17): each invoke is handed over in the turn's language ---
  protected override async handleTeamsMessagingExtensionQuery(context: TurnContext, query: MessagingExtensionQuery): Promise<MessagingExtensionResponse> {
    const handlers = this.deps.messageExtension;
    if (!handlers) return super.handleTeamsMessagingExtensionQuery(context, query);
    await this.chooseLang(context, null);
    return handlers.query(context, query);
  }

  protected override async handleTeamsMessagingExtensionFetchTask(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse> {
    const handlers = this.deps.messageExtension;
    if (!handlers) return super.handleTeamsMessagingExtensionFetchTask(context, action);
    await this.chooseLang(context, null);
    return handlers.fetchTask(context, action);
  }

  protected override async handleTeamsMessagingExtensionSubmitAction(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse> {
    const handlers = this.deps.messageExtension;
    if (!handlers) return super.handleTeamsMessagingExtensionSubmitAction(context, action);
    await this.chooseLang(context, null);
    return handlers.submitAction(context, action);
  }

  protected override async handleTeamsTaskModuleFetch(context: TurnContext, request: TaskModuleRequest): Promise<TaskModuleResponse> {
    const handlers = this.deps.taskModules;
    if (!handlers) return super.handleTeamsTaskModuleFetch(context, request);
    await this.chooseLang(context, null);
    return handlers.fetch(context, request);
  }

  protected override async handleTeamsTaskModuleSubmit(context: TurnContext, request: TaskModuleRequest): Promise<TaskModuleResponse> {
    const handlers = this.deps.taskModules;
    if (!handlers) return super.handleTeamsTaskModuleSubmit(context, request);
    await this.chooseLang(context, null);
    return handlers.submit(context, request);
  }
  // --- end Teams surfaces ---

  /**
   * The language of this turn: the one its text is clearly written in, whatever the client's
   * locale says (a Russian message from an en-US client is answered in Russian, and the reverse).
   * Text that does not say (a VM name, digits, one word, a card click) keeps the language the
   * conversation was last clearly written in under the same locale, else the locale's. Kept in
   * the dialog state's scope (per person in channels and group chats).
   */
  private async chooseLang(context: TurnContext, text: string | null | undefined): Promise<Lang> {
    const locale = String(context.activity.locale ?? '');
    const byLocale = pickLang(context.activity.locale, text);
    const said = typeof text === 'string' && text.length <= MAX_MESSAGE_CHARS ? textLang(text) : null;
    let remembered: ConversationLang | undefined;
    try {
      remembered = await this.language.get(context);
    } catch (e) {
      // no conversation to key the state by (a malformed activity): the locale decides
      this.deps.logger.debug({ err: e }, 'conversation language not readable');
    }
    const kept = remembered && remembered.locale === locale && (LANGS as readonly string[]).includes(remembered.lang) ? remembered.lang : undefined;
    const lang = said ?? kept ?? byLocale;
    if (said && said !== kept) {
      // only a language other than the locale's needs remembering
      const write = said === byLocale ? this.language.delete(context) : this.language.set(context, { lang: said, locale });
      await write.catch(() => undefined);
    }
    setTurnLang(context, lang);
    return lang;
  }

  /** Runs the main dialog; cancel and help work at any point (handled inside the dialogs). */
  async runDialog(context: TurnContext): Promise<void> {
    const dialogSet = new DialogSet(this.dialogState);
    dialogSet.add(this.deps.mainDialog);
    const dc = await dialogSet.createContext(context);
    const result = await dc.continueDialog();
    if (result.status === DialogTurnStatus.empty) await dc.beginDialog(this.deps.mainDialog.id);
  }

}

/** The answer a reply-prompt card sent (Action.Submit with `intakeReply`), trimmed; undefined for anything else. */
export function cardReply(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value) || 'verb' in value) return undefined;
  const reply = (value as { intakeReply?: unknown }).intakeReply;
  return typeof reply === 'string' ? plainText(reply).slice(0, 300) : undefined;
}

/**
 * Typed text as plain characters: zero-width characters dropped (a name copied from a card comes
 * back whole: cards/render.ts breakable), non-breaking spaces as spaces, trimmed.
 */
function plainText(text: string): string {
  return text.replace(/[\u200b-\u200d\u2060\ufeff]/g, '').replace(/\u00a0/g, ' ').trim();
}

/** The user's text without the bot's @mention (channels and group chats), trimmed. */
export function normalizeText(context: TurnContext): string {
  const activity = context.activity;
  let text = typeof activity.text === 'string' ? activity.text : '';
  // botbuilder edits activity.text in place and fails on an activity without one (a mention on an attachment-only message)
  if (activity.recipient?.id && typeof activity.text === 'string') text = TurnContext.removeRecipientMention(activity) ?? text;
  // Teams leaves the <at> markup when the mention entity is missing or for other mentions
  text = text.replace(/<at>[^<]*<\/at>/gi, ' ');
  return plainText(text);
}

/** A Universal Actions error answer (sent with HTTP 200; the client reads `statusCode`). */
export function invokeError(statusCode: 400 | 500, code: string, message: string): AdaptiveCardInvokeResponse {
  return { statusCode, type: 'application/vnd.microsoft.error', value: { code, message } as never };
}
