import type {
  MessagingExtensionAction,
  MessagingExtensionActionResponse,
  MessagingExtensionQuery,
  MessagingExtensionResponse,
  TaskModuleRequest,
  TaskModuleResponse,
  TurnContext,
} from 'botbuilder';
import type restify from 'restify';

/**
 * The Teams surfaces beside the chat (issue #17): the message extension, the dialogs (task
 * modules) and the helpdesk tab. The bot (bot/bot.ts) hands each invoke to these after it has
 * chosen the turn's language (turnT(context)); the HTTP server (bot/server.ts) lets the tab add
 * its routes. Each is optional: without it the invoke is left to botbuilder (501, not implemented).
 */

/** `composeExtension/query`, `composeExtension/fetchTask`, `composeExtension/submitAction` (manifest composeExtensions). */
export interface MessageExtensionHandlers {
  query(context: TurnContext, query: MessagingExtensionQuery): Promise<MessagingExtensionResponse>;
  fetchTask(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse>;
  submitAction(context: TurnContext, action: MessagingExtensionAction): Promise<MessagingExtensionActionResponse>;
}

/** `task/fetch` and `task/submit`: the dialogs opened from the findings and approval cards. */
export interface TaskModuleHandlers {
  fetch(context: TurnContext, request: TaskModuleRequest): Promise<TaskModuleResponse>;
  submit(context: TurnContext, request: TaskModuleRequest): Promise<TaskModuleResponse>;
}

/** Routes the bot's own HTTP server serves besides /api/messages (the helpdesk tab's page and API). */
export type RouteRegistrar = (server: restify.Server) => void;
