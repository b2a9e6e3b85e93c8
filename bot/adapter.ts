import { randomBytes } from 'node:crypto';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type BotState,
  type TurnContext,
} from 'botbuilder';
import { AuthenticationError, type AuthenticateRequestResult } from 'botframework-connector';
import type { Activity } from 'botbuilder';
import { turnLang } from '../dialogs/turn';
import { t } from '../services/i18n';
import type { Logger } from '../services/log';
import { isChannelDeliveryError, type ChannelHttpClient } from './channel-transport';
import type { Config } from './config';

/** CloudAdapter with the bot's identity; an empty app id means local development without auth. */
export function createAdapter(config: Config, logger: Logger, conversationState: BotState, httpClient?: ChannelHttpClient): CloudAdapter {
  const auth = new VerifyingAuthentication(
    logger,
    {
      MicrosoftAppId: config.MicrosoftAppId,
      MicrosoftAppPassword: config.MicrosoftAppPassword,
      // resolved by loadConfig: SingleTenant when an app id is set without a type
      MicrosoftAppType: config.MicrosoftAppType,
      MicrosoftAppTenantId: config.MicrosoftAppTenantId,
    } as ConfigurationBotFrameworkAuthenticationOptions,
    httpClient,
  );
  const adapter = new CloudAdapter(auth);

  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    const ref = incidentReference();
    logger.error(
      { err: error, ref, conversationId: context.activity.conversation?.id, activityType: context.activity.type },
      'unhandled error in turn',
    );
    try {
      // a broken dialog stack must not trap the user in the same error on every message
      await conversationState.delete(context);
    } catch (e) {
      logger.error({ err: e, ref }, 'could not reset conversation state');
    }
    if (context.activity.type === 'invoke') return; // the invoke response carries the failure
    // the channel refused or is gone: an apology would take the same way and fail the same way
    if (isChannelDeliveryError(error)) return;
    try {
      // the turn's language when it was chosen (bot.ts), else the locale and the text
      await context.sendActivity(t(turnLang(context), 'turnError', { ref }));
    } catch (e) {
      logger.error({ err: e, ref }, 'could not tell the user about the error');
    }
  };
  return adapter;
}

/**
 * A request whose token cannot be verified is refused as unauthenticated (401), whatever the
 * reason: botbuilder answers 500 with its internal message when the sign-in metadata cannot be
 * fetched (no network, a proxy), which a forged token would otherwise get. The log says why.
 */
class VerifyingAuthentication extends ConfigurationBotFrameworkAuthentication {
  constructor(
    private readonly logger: Logger,
    options: ConfigurationBotFrameworkAuthenticationOptions,
    httpClient?: ChannelHttpClient,
  ) {
    super(options, undefined, undefined, undefined, httpClient ? { httpClient } : undefined);
  }

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    try {
      return await super.authenticateRequest(activity, authHeader);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (e instanceof AuthenticationError) {
        this.logger.warn({ reason, channelId: activity.channelId }, 'request refused: the token is not valid');
        throw e;
      }
      this.logger.warn({ reason, channelId: activity.channelId }, 'request refused: the token could not be verified (sign-in metadata unreachable?)');
      throw new AuthenticationError('Unauthorized: the token could not be verified', 401);
    }
  }
}

/** Short, human-readable id to quote to the helpdesk; the log line carries the same id. */
export function incidentReference(): string {
  return `E-${randomBytes(4).toString('hex').toUpperCase()}`;
}
