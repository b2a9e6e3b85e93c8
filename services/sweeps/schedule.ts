import type { Logger } from '../log';
import type { CronSchedule } from './cron';
import type { Sweeps } from './types';

/**
 * SWEEP_SCHEDULE: a fast sweep of the whole configured scope, started as 'schedule' at each
 * matching minute (UTC). With several instances each would start one: the scheduler takes the
 * minute's slot in the store first (`claimMinute`), so one instance starts it.
 */
export interface ScheduleDeps {
  schedule: CronSchedule;
  sweeps: Pick<Sweeps, 'start'>;
  logger: Logger;
  /** true when this instance may start the sweep of that minute (one instance wins); default: always */
  claimMinute?(minute: string): Promise<boolean>;
  now?: () => Date;
}

export function startSchedule(deps: ScheduleDeps): () => void {
  const now = deps.now ?? (() => new Date());
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    const next = deps.schedule.next(now());
    if (!next) return;
    // a timer holds at most ~24.8 days: wake up earlier and look again
    const wait = Math.min(next.getTime() - now().getTime(), 24 * 3600_000);
    timer = setTimeout(() => {
      if (!deps.schedule.matches(now()) && now().getTime() < next.getTime()) return arm();
      void fire(next).finally(arm);
    }, Math.max(0, wait));
    timer.unref();
  };
  const fire = async (at: Date): Promise<void> => {
    try {
      const minute = at.toISOString().slice(0, 16);
      if (deps.claimMinute && !(await deps.claimMinute(minute))) return;
      const d = await deps.sweeps.start({ kind: 'fast', scope: {}, startedBy: 'schedule' });
      deps.logger.info({ sweepId: d.id, schedule: deps.schedule.expression }, 'scheduled sweep started');
    } catch (e) {
      deps.logger.error({ err: e, schedule: deps.schedule.expression }, 'scheduled sweep not started');
    }
  };
  arm();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
