/**
 * Fleet sweeps (issue #16): the service (`createSweeps`), its schedule and what it is built of.
 * docs/sweeps.md describes them; services/sweeps/types.ts holds the shapes the chat, the card
 * and the CLI share.
 */
export { createSweeps, checkScope, budgetShare, AZURE_LIMITS, type SweepService, type SweepsDeps } from './service';
export { parseCron, CronError, type CronSchedule } from './cron';
export { startSchedule, type ScheduleDeps } from './schedule';
export type { SweepDigest, SweepKind, SweepObserver, SweepRequest, Sweeps, SweepState, SweepVmResult } from './types';
