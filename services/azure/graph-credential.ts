import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { isLoopbackEndpoint } from './factory';
import { StaticDevelopmentCredential } from './static-credential';

export type { TokenCredential } from '@azure/identity';

export interface GraphCredentialSettings {
  /** GRAPH_ENDPOINT (or the simulator's) */
  endpoint?: string;
  /** the bot's identity (MicrosoftAppId, MicrosoftAppPassword, MicrosoftAppTenantId) */
  appId?: string;
  appPassword?: string;
  tenantId?: string;
  /** a user-assigned managed identity's client id (MicrosoftAppType=UserAssignedMSI) */
  managedIdentityClientId?: string;
}

/**
 * The identity the Microsoft Graph client (services/graph) uses, chosen here because only
 * services/azure talks to @azure/identity: a loopback endpoint (the simulator) gets the static
 * development token, as AZURE_ARM_ENDPOINT does; else the bot's own client secret when it has
 * one; else the credential chain the Azure gateway uses (managed identity, workload identity, ...).
 */
export function graphCredential(s: GraphCredentialSettings): TokenCredential {
  if (isLoopbackEndpoint(s.endpoint)) return new StaticDevelopmentCredential();
  if (s.appId && s.appPassword && s.tenantId) return new ClientSecretCredential(s.tenantId, s.appId, s.appPassword);
  return new DefaultAzureCredential(s.managedIdentityClientId ? { managedIdentityClientId: s.managedIdentityClientId } : undefined);
}
