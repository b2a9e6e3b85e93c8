import { readFileSync } from 'node:fs';
import { ApproverReach, type ApproverReachDeps } from '../dialogs/approver-reach';
import { createGraphClient } from '../services/graph/client';
import type { TeamsAppGraph } from '../services/graph/port';
import type { Logger } from '../services/log';
import type { AzureAccess } from '../services/wiring/azure';
import { isLoopbackEndpoint } from '../services/azure/factory';
import { DEMO_TEAMS_APP_ID } from '../services/simulator/routes-graph';
import type { Config } from './config';

/** Teams' global service URL for proactive posts (used only with an app id, when no activity of the tenant was seen yet). */
export const TEAMS_GLOBAL_SERVICE_URL = 'https://smba.trafficmanager.net/teams/';
/** The Teams app id demo mode gives the simulated app catalog when none is configured (the standalone simulator's default too). */
export { DEMO_TEAMS_APP_ID };

/** What the composition root already built that reaching approvers uses (the rest comes from the configuration). */
export type ApproverReachParts = Pick<ApproverReachDeps, 'store' | 'approvals' | 'presenter' | 'notifier' | 'jobs' | 'logger'>;

/** Where Graph is, if anywhere: GRAPH_ENDPOINT, the demo simulator's, or the public cloud with an app id. */
function graphOf(config: Config, azure: AzureAccess, logger: Logger): { graph: TeamsAppGraph | null; reason?: string; local?: boolean } {
  if (config.GRAPH_REACH === 'off') return { graph: null, reason: 'GRAPH_REACH=off' };
  const externalAppId = config.TEAMS_APP_ID ?? (config.MicrosoftAppId || (azure.simulator ? DEMO_TEAMS_APP_ID : ''));
  if (!externalAppId) return { graph: null, reason: 'no app id (MicrosoftAppId or TEAMS_APP_ID)' };
  const identity = {
    externalAppId,
    catalogAppId: config.TEAMS_APP_CATALOG_ID,
    appId: config.MicrosoftAppId,
    appPassword: config.MicrosoftAppPassword,
    tenantId: config.MicrosoftAppTenantId,
    managedIdentityClientId: config.MicrosoftAppType === 'UserAssignedMSI' ? config.MicrosoftAppId : undefined,
    logger,
  };
  if (config.GRAPH_ENDPOINT) {
    const caPem = config.GRAPH_CA_FILE ? readFileSync(config.GRAPH_CA_FILE, 'utf8') : undefined;
    return { graph: createGraphClient({ ...identity, endpoint: config.GRAPH_ENDPOINT, caPem }), local: isLoopbackEndpoint(config.GRAPH_ENDPOINT) };
  }
  if (azure.simulator && !config.MicrosoftAppId) {
    // demo mode: the simulator's Graph knows the approvers and has the app in its catalog
    for (const aad of config.APPROVER_IDS) azure.simulator.graph.addUser(aad);
    azure.simulator.graph.addApp(externalAppId);
    return { graph: createGraphClient({ ...identity, endpoint: azure.simulator.endpoint, caPem: azure.simulator.caPem }), local: true };
  }
  if (!config.MicrosoftAppId) return { graph: null, reason: 'no app id (local development)' };
  return { graph: createGraphClient(identity) };
}

/**
 * Reaching approvers who never wrote to the bot (issue #17, docs/graph.md): built here, told of
 * every published request by the presenter, fed every turn by the bot, started at once: the
 * installs for the configured approvers run in the background, or are awaited when Graph is a
 * loopback one (the simulator: demo mode and tests start with them done).
 */
export async function openApproverReach(config: Config, azure: AzureAccess, parts: ApproverReachParts): Promise<ApproverReach> {
  const { graph, reason, local } = graphOf(config, azure, parts.logger);
  const reach = new ApproverReach({
    ...parts,
    graph,
    graphOffReason: reason,
    tenantId: config.MicrosoftAppTenantId || undefined,
    serviceUrl: config.TEAMS_SERVICE_URL,
    fallbackServiceUrl: config.MicrosoftAppId ? TEAMS_GLOBAL_SERVICE_URL : undefined,
    botId: config.MicrosoftAppId ? `28:${config.MicrosoftAppId}` : '28:rdp-doctor',
  });
  parts.presenter.setReach(reach);
  await reach.start({ wait: local });
  return reach;
}
