import { randomBytes } from 'node:crypto';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type BotState,
  type TurnContext,
} from 'botbuilder';
import { pickLang, t } from '../services/i18n';
import type { Logger } from '../services/log';
import { isChannelDeliveryError, type ChannelHttpClient } from './channel-transport';
import type { Config } from './config';

/** CloudAdapter with the bot's identity; an empty app id means local development without auth. */
export function createAdapter(config: Config, logger: Logger, conversationState: BotState, httpClient?: ChannelHttpClient): CloudAdapter {
  const auth = new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: config.MicrosoftAppId,
      MicrosoftAppPassword: config.MicrosoftAppPassword,
      // resolved by loadConfig: SingleTenant when an app id is set without a type
      MicrosoftAppType: config.MicrosoftAppType,
      MicrosoftAppTenantId: config.MicrosoftAppTenantId,
    } as ConfigurationBotFrameworkAuthenticationOptions,
    undefined,
    undefined,
    undefined,
    httpClient ? { httpClient } : undefined,
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
      await context.sendActivity(t(pickLang(context.activity.locale, context.activity.text), 'turnError', { ref }));
    } catch (e) {
      logger.error({ err: e, ref }, 'could not tell the user about the error');
    }
  };
  return adapter;
}

/** Short, human-readable id to quote to the helpdesk; the log line carries the same id. */
export function incidentReference(): string {
  return `E-${randomBytes(4).toString('hex').toUpperCase()}`;
}
