import type { AzureGateway, SweepGateway } from '../azure/gateway';
import type { AzureScope } from '../azure/scope';
import type { Logger } from '../log';
import { fleetSubscriptions, loadFleetFile } from '../simulator/fleet';
import type { AppStore } from '../store/store';
import { defaultFleetPath, type AzureAccess } from '../wiring/azure';
import type { Config } from '../wiring/config';
import { parseCron } from './cron';
import { startSchedule } from './schedule';
import { createSweeps, type SweepService, type SweepsDeps } from './service';
import { createSpread } from './spread';

/** The gateway serves the bulk reads (SdkAzureGateway does, with sweep-sim's SweepGateway). */
export function isSweepGateway(g: AzureGateway): g is AzureGateway & SweepGateway {
  const s = g as Partial<SweepGateway>;
  return typeof s.listVmsPage === 'function' && typeof s.listNicsPage === 'function' && typeof s.listNsgsPage === 'function' && typeof s.listVmStatusPage === 'function';
}

/** The scope a sweep may cover: the configured subscriptions and resource groups (demo mode and --fleet: the fleet's). */
export function sweepScope(config: Config, azure: Pick<AzureAccess, 'simulator'>): AzureScope {
  const rgs = config.AZURE_RESOURCE_GROUPS.length ? config.AZURE_RESOURCE_GROUPS : undefined;
  if (config.AZURE_SUBSCRIPTION_IDS.length) return { subscriptions: config.AZURE_SUBSCRIPTION_IDS, resourceGroups: rgs };
  const fleet = azure.simulator?.fleet ?? loadFleetFile(config.SIM_FLEET ?? defaultFleetPath());
  return { subscriptions: fleetSubscriptions(fleet), resourceGroups: rgs };
}

/**
 * The sweep service of a composition root (bot/app.ts, cli/index.ts), and the schedule when
 * SWEEP_SCHEDULE is set; null when the gateway has no bulk reads (a test double).
 */
export function openSweeps(
  config: Config,
  store: AppStore,
  azure: Pick<AzureAccess, 'gateway' | 'simulator'>,
  logger: Logger,
  opts: Pick<SweepsDeps, 'isApprover'> & Partial<SweepsDeps> & { spreadAcrossInstances?: boolean },
): { sweeps: SweepService; stop(timeoutInMs?: number): Promise<void> } | null {
  const gateway = azure.gateway;
  if (!isSweepGateway(gateway)) return null;
  const { spreadAcrossInstances, ...given } = opts;
  // --- sweep-spread (issue #16 item 3): several instances on Azure Storage share a deep sweep's VMs through a queue ---
  const spread =
    spreadAcrossInstances && store.sweepSpread
      ? createSpread({ spread: store.sweepSpread, store, logger, leaseSeconds: config.JOB_LEASE_SECONDS })
      : undefined;
  // each instance takes from its own buckets: SWEEP_INSTANCES of them together spend SWEEP_ARM_BUDGET_PERCENT
  const budgetPercent = config.SWEEP_ARM_BUDGET_PERCENT / (spread ? config.SWEEP_INSTANCES : 1);
  // and the sweep's concurrency likewise: a Run Command's status polls are reads taken after it
  // started, so N instances at the full SWEEP_CONCURRENCY each poll N times as often as the budget
  // was sized for (bench figure 9: 2 x 50 in flight, 69 429s from Azure)
  const concurrency = Math.max(1, Math.ceil(config.SWEEP_CONCURRENCY / (spread ? config.SWEEP_INSTANCES : 1)));
  // --- end sweep-spread ---
  const sweeps = createSweeps({
    store: spread ? { audit: store.audit, sweeps: spread.repo(store.sweeps) } : store,
    gateway,
    logger,
    scope: sweepScope(config, azure),
    concurrency,
    budgetPercent,
    spread: spread?.hook,
    ...given,
  });
  spread?.startWorker();
  const stopSchedule = config.SWEEP_SCHEDULE
    ? startSchedule({
        schedule: parseCron(config.SWEEP_SCHEDULE),
        sweeps,
        logger,
        // several instances: the minute's slot in the store, taken once
        claimMinute: (minute) => store.sweeps.claimRunCommand(`schedule/${minute}`, minute, new Date(), 24 * 3600_000),
      })
    : undefined;
  return {
    sweeps,
    async stop(timeoutInMs) {
      stopSchedule?.();
      await Promise.all([sweeps.stop(timeoutInMs), spread?.stop(timeoutInMs)]);
    },
  };
}
