import { ActivityHandler, ConversationState, MemoryStorage, type AdaptiveCardInvokeResponse, type TurnContext } from 'botbuilder';
import { createAdapter } from '../bot/adapter';
import { loadConfig } from '../bot/config';
import { createHttpServer } from '../bot/server';
import { createLogger } from '../services/log';
import { SqliteStore } from '../services/store/sqlite';

/**
 * The baseline: a minimal echo bot on the same CloudAdapter (built by the product's own
 * createAdapter), the same restify server (the product's createHttpServer: body parser, turn
 * log line, readiness), in its own process like the bot. A message is echoed back through the
 * connector; a card action is answered with a one-line card in the invoke response.
 */
class EchoBot extends ActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity(`echo: ${context.activity.text ?? ''}`);
      await next();
    });
  }

  protected override async onAdaptiveCardInvoke(context: TurnContext): Promise<AdaptiveCardInvokeResponse> {
    const value = context.activity.value as { action?: { verb?: string } } | undefined;
    return {
      statusCode: 200,
      type: 'application/vnd.microsoft.card.adaptive',
      value: { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: `echo: ${value?.action?.verb ?? ''}` }] },
    };
  }
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.LOG_LEVEL);
  const store = SqliteStore.open(config.DATA_DIR); // only for /readyz, as in the product
  const adapter = createAdapter(config, logger, new ConversationState(new MemoryStorage()));
  const http = createHttpServer({ adapter, bot: new EchoBot(), store, logger, maxBodyBytes: config.MAX_BODY_BYTES, loopbackServiceUrlsOnly: !config.MicrosoftAppId });
  await http.listen(config.PORT, config.HOST);
  const stop = (): void => {
    http
      .close(2000)
      .then(() => store.close())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`echo bot failed: ${(e as Error).message}\n`);
  process.exit(1);
});
