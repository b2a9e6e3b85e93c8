import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AzureGateway } from '../azure/gateway';
import { createAzureGateway, type AzureGatewaySettings } from '../azure/factory';
import type { Logger } from '../log';
import { fleetSubscriptions, loadFleetFile } from '../simulator/fleet';
import { startSimulator, type SimulatorHandle } from '../simulator/server';
import type { ScriptEngine } from '../simulator/interior';
import { createInterior } from '../simulator/pwsh-interior';
import { createVmInterior } from '../simulator/vm-interior';
import { ConfigError, type Config } from './config';

/*
 * Azure access for both composition roots (bot/index.ts, cli/index.ts): the real cloud, another
 * ARM endpoint, or the in-process simulator of demo mode.
 */

/** Retry, poll and time-out settings of the gateway (tests make them short). */
export type GatewayTimings = AzureGatewaySettings['timings'];

export interface AzureAccess {
  gateway: AzureGateway;
  /** 'demo': the in-process simulator; 'endpoint': another ARM endpoint (e.g. `npm run simulator`); 'azure': the real cloud. */
  mode: 'demo' | 'endpoint' | 'azure' | 'injected';
  /** the simulator's ARM endpoint in demo mode */
  endpoint?: string;
  readiness: Array<() => Promise<void>>;
  /** demo mode only: the in-process simulator (its live fleet and operation log) */
  simulator?: SimulatorHandle;
  /** demo mode only: what runs the scripts inside the simulated VMs (SIM_SCRIPTS) */
  scriptEngine?: ScriptEngine;
  close(): Promise<void>;
}

/** Where demo mode's fleet comes from when SIM_FLEET is not set: the one shipped in the repo. */
export function defaultFleetPath(): string {
  // works from dist/services/wiring (the JSON is not copied to dist) and from services/wiring (ts-jest)
  for (const base of [join(__dirname, '..'), join(__dirname, '..', '..', '..', 'services')]) {
    const p = join(base, 'simulator', 'fleets', 'demo-fleet.json');
    try {
      readFileSync(p);
      return p;
    } catch {
      /* next */
    }
  }
  throw new Error('the shipped demo fleet (services/simulator/fleets/demo-fleet.json) is missing');
}

/** Demo Run Command latency when not configured: long enough to see the progress card, short enough to demo. */
const DEMO_RUN_COMMAND_LATENCY_MS = 8000;

/**
 * Azure access as configured: the real cloud, another Resource Manager endpoint, or, when no
 * subscription is configured, the simulator started in-process with the demo fleet.
 */
export async function openAzure(config: Config, logger: Logger, injected?: AzureGateway, timings?: GatewayTimings): Promise<AzureAccess> {
  if (injected) return { gateway: injected, mode: 'injected', readiness: [], close: async () => undefined };

  if (config.AZURE_ARM_ENDPOINT) {
    const caPem = config.AZURE_ARM_CA_FILE ? readFileSync(config.AZURE_ARM_CA_FILE, 'utf8') : undefined;
    const subscriptionIds = config.AZURE_SUBSCRIPTION_IDS.length ? config.AZURE_SUBSCRIPTION_IDS : fleetSubscriptions(loadFleetFile(config.SIM_FLEET ?? defaultFleetPath())); // sweep-sim: every subscription of the fleet
    const gateway = createAzureGateway({
      endpoint: config.AZURE_ARM_ENDPOINT,
      caPem,
      subscriptionIds,
      resourceGroups: config.AZURE_RESOURCE_GROUPS,
      logger,
      timings,
    });
    return { gateway, mode: 'endpoint', endpoint: config.AZURE_ARM_ENDPOINT, readiness: [], close: async () => undefined };
  }

  if (!config.demoMode) {
    const gateway = createAzureGateway({ subscriptionIds: config.AZURE_SUBSCRIPTION_IDS, resourceGroups: config.AZURE_RESOURCE_GROUPS, logger });
    return { gateway, mode: 'azure', readiness: [], close: async () => undefined };
  }

  const fleetPath = config.SIM_FLEET ?? defaultFleetPath();
  const fleet = loadFleetFile(fleetPath);
  let chosen: ReturnType<typeof createInterior>;
  try {
    chosen = createInterior(config.SIM_SCRIPTS, createVmInterior());
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const { interior, engine, pwsh } = chosen;
  const sim = await startSimulator({
    fleet,
    port: 0,
    interior,
    runCommandLatencyMs: config.SIM_RUN_COMMAND_LATENCY_MS ?? DEMO_RUN_COMMAND_LATENCY_MS,
  });
  logger.info({ endpoint: sim.endpoint, fleet: fleetPath, vms: fleet.vms.length, scriptEngine: engine, pwsh }, 'demo mode: simulated Azure fleet started');
  const gateway = createAzureGateway({
    endpoint: sim.endpoint,
    caPem: sim.caPem,
    subscriptionIds: fleetSubscriptions(fleet), // sweep-sim: every subscription of the fleet
    resourceGroups: config.AZURE_RESOURCE_GROUPS,
    logger,
    timings,
  });
  return { gateway, mode: 'demo', endpoint: sim.endpoint, simulator: sim, scriptEngine: engine, readiness: [], close: () => sim.close() };
}
