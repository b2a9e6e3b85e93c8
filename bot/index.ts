import 'dotenv/config';
import { createApp } from './app';
import { assertBotExposure, ConfigError, loadConfig, redactedSummary } from './config';
import { createLogger } from '../services/log';

/** `npm start`: configuration, then the app; SIGTERM/SIGINT stop it gracefully. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
    assertBotExposure(config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`rdp-doctor: configuration error: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const logger = createLogger(config.LOG_LEVEL);
  logger.info({ config: redactedSummary(config) }, 'starting');
  const app = await createApp(config, logger);
  const port = await app.start();
  logger.info({ port, url: `http://localhost:${port}/api/messages` }, 'RDP Doctor is listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app
      .stop()
      .then(() => process.exit(0))
      .catch((e: unknown) => {
        logger.error({ err: e }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`rdp-doctor: failed to start: ${(e as Error).message}\n`);
  process.exit(1);
});
