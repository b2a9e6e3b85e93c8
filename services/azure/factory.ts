import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import type { Logger } from 'pino';
import { SdkAzureGateway, type SdkAzureGatewayOptions } from './sdk-gateway';
import { StaticDevelopmentCredential } from './static-credential';

export interface AzureGatewaySettings {
  /** AZURE_SUBSCRIPTION_IDS */
  subscriptionIds: readonly string[];
  /** optional resource-group allow-list within those subscriptions */
  resourceGroups?: readonly string[];
  /** AZURE_ARM_ENDPOINT: another Resource Manager (e.g. the simulator) */
  endpoint?: string;
  /** PEM text of AZURE_ARM_CA_FILE */
  caPem?: string;
  /** replaces the credential chosen below (tests, managed identity set up elsewhere) */
  credential?: TokenCredential;
  logger?: Logger;
  /** timing overrides (tests) */
  timings?: Partial<Omit<SdkAzureGatewayOptions, 'credential' | 'subscriptionIds' | 'scope' | 'endpoint' | 'caPem' | 'logger'>>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export function isLoopbackEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    return LOOPBACK_HOSTS.has(new URL(endpoint).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/**
 * The gateway as configured. A loopback endpoint gets a static development token (the
 * simulator accepts any bearer value, and no real identity must be sent there) and quicker
 * polling; anything else gets DefaultAzureCredential (managed identity, workload identity,
 * environment, Azure CLI...).
 */
export function createAzureGateway(settings: AzureGatewaySettings): SdkAzureGateway {
  const loopback = isLoopbackEndpoint(settings.endpoint);
  const credential = settings.credential ?? (loopback ? new StaticDevelopmentCredential() : new DefaultAzureCredential());
  const localTimings = loopback ? { pollIntervalInMs: 500, conflictRetryDelayInMs: 2000, agentPollIntervalInMs: 500, retryDelayInMs: 200 } : {};
  return new SdkAzureGateway({
    credential,
    subscriptionIds: settings.subscriptionIds,
    scope: { subscriptions: settings.subscriptionIds, resourceGroups: settings.resourceGroups },
    endpoint: settings.endpoint,
    caPem: settings.caPem,
    logger: settings.logger,
    ...localTimings,
    ...settings.timings,
  });
}
