import { randomBytes } from 'node:crypto';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type BotState,
  type TurnContext,
} from 'botbuilder';
import {
  AuthenticationConstants,
  AuthenticationError,
  ConnectorFactory,
  type AuthenticateRequestResult,
  type ClaimsIdentity,
  type ConnectorClient,
  type UserTokenClient,
} from 'botframework-connector';
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
  private readonly clients = new ClientCache<ConnectorClient>(MAX_CACHED_CLIENTS);
  private readonly tokenClients = new ClientCache<UserTokenClient>(MAX_CACHED_CLIENTS);

  constructor(
    private readonly logger: Logger,
    options: ConfigurationBotFrameworkAuthenticationOptions,
    httpClient?: ChannelHttpClient,
  ) {
    super(options, undefined, undefined, undefined, httpClient ? { httpClient } : undefined);
  }

  override async authenticateRequest(activity: Activity, authHeader: string): Promise<AuthenticateRequestResult> {
    try {
      const result = await super.authenticateRequest(activity, authHeader);
      return result.connectorFactory ? { ...result, connectorFactory: this.reusing(result.connectorFactory, result.claimsIdentity) } : result;
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

  override createConnectorFactory(claimsIdentity: ClaimsIdentity): ConnectorFactory {
    return this.reusing(super.createConnectorFactory(claimsIdentity), claimsIdentity);
  }

  override createUserTokenClient(claimsIdentity: ClaimsIdentity): Promise<UserTokenClient> {
    return this.tokenClients.get(appIdOf(claimsIdentity), () => super.createUserTokenClient(claimsIdentity));
  }

  /** A factory whose clients are shared by every turn with the same app id, service URL and audience. */
  private reusing(factory: ConnectorFactory, claimsIdentity: ClaimsIdentity): ConnectorFactory {
    const clients = this.clients;
    const appId = appIdOf(claimsIdentity);
    return new (class extends ConnectorFactory {
      create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
        return clients.get(`${appId}\n${audience ?? ''}\n${serviceUrl}`, () => factory.create(serviceUrl, audience));
      }
    })();
  }
}

/**
 * botbuilder's CloudAdapter asks for a new ConnectorClient (credentials, an HTTP pipeline of a
 * dozen policies) and a new UserTokenClient on every turn and every proactive message: the bench
 * profile showed building them at 3% of the bot's CPU, more than the requests they then send.
 * Both are stateless between requests (the credentials keep their token in botframework's own
 * cache and renew it when it runs out), so one per app id, audience and service URL serves every
 * turn. A channel has a handful of service URLs; the cache is bounded all the same, and a client
 * that could not be built is not kept.
 */
const MAX_CACHED_CLIENTS = 64;

class ClientCache<T> {
  private readonly entries = new Map<string, Promise<T>>();

  constructor(private readonly max: number) {}

  get(key: string, build: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) return hit;
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    const made = build();
    this.entries.set(key, made);
    made.catch(() => {
      if (this.entries.get(key) === made) this.entries.delete(key);
    });
    return made;
  }
}

/** The bot's app id as botframework reads it from the claims (audience, else appid; none without auth). */
function appIdOf(claimsIdentity: ClaimsIdentity): string {
  return claimsIdentity.getClaimValue(AuthenticationConstants.AudienceClaim) ?? claimsIdentity.getClaimValue(AuthenticationConstants.AppIdClaim) ?? '';
}

/** Short, human-readable id to quote to the helpdesk; the log line carries the same id. */
export function incidentReference(): string {
  return `E-${randomBytes(4).toString('hex').toUpperCase()}`;
}
