import { ConfigError, type Config } from '../services/wiring/config';

/**
 * What only the bot's HTTP face asks of the configuration. Reading and validating the
 * environment is shared with the CLI (services/wiring/config.ts) and re-exported here so the
 * bot's modules keep one import.
 */
export { ConfigError, loadConfig, redactedSummary, type Config } from '../services/wiring/config';

/** Where people's browsers reach the bot (script pages): PUBLIC_BASE_URL, else this machine's port. */
export function publicBaseUrl(c: Pick<Config, 'PUBLIC_BASE_URL'>, listeningPort: number): string {
  return (c.PUBLIC_BASE_URL ?? `http://localhost:${listeningPort}`).replace(/\/+$/, '');
}

/**
 * The bot serves chat over HTTP: without an app id nothing authenticates who is talking, so real
 * Azure subscriptions (not a loopback endpoint such as the simulator) need an app id, or
 * ALLOW_UNAUTHENTICATED=true set on purpose. The CLI has no HTTP face and does not ask this.
 */
export function assertBotExposure(c: Config): void {
  const realAzure = c.AZURE_SUBSCRIPTION_IDS.length > 0 && !(c.AZURE_ARM_ENDPOINT && isLoopbackHost(c.AZURE_ARM_ENDPOINT));
  if (realAzure && !c.MicrosoftAppId && !c.ALLOW_UNAUTHENTICATED) {
    throw new ConfigError('AZURE_SUBSCRIPTION_IDS: real Azure subscriptions need MicrosoftAppId (unauthenticated chat could change VMs); set ALLOW_UNAUTHENTICATED=true only on purpose');
  }
}

function isLoopbackHost(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

