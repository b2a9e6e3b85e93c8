import { createLogger } from '../../services/log';
import { parseCron } from '../../services/sweeps/cron';
import { startSchedule } from '../../services/sweeps/schedule';
import type { SweepRequest } from '../../services/sweeps/types';

/** SWEEP_SCHEDULE: a fast sweep of the whole scope as 'schedule' at each matching minute, one instance per minute. */

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-12-01T05:58:30Z') });
});
afterEach(() => {
  jest.useRealTimers();
});

function harness(claim?: (minute: string) => Promise<boolean>) {
  const started: SweepRequest[] = [];
  const stop = startSchedule({
    schedule: parseCron('0 6 * * *'),
    sweeps: { start: async (r) => (started.push(r), { id: `s${started.length}` } as never) },
    logger: createLogger('silent'),
    claimMinute: claim,
  });
  return { started, stop };
}

it('starts a fast sweep of the whole scope as schedule at the matching minute, and again the next day', async () => {
  const h = harness();
  await jest.advanceTimersByTimeAsync(60_000);
  expect(h.started).toEqual([]);
  await jest.advanceTimersByTimeAsync(31_000); // 06:00:01
  expect(h.started).toEqual([{ kind: 'fast', scope: {}, startedBy: 'schedule' }]);
  await jest.advanceTimersByTimeAsync(24 * 3600_000);
  expect(h.started).toHaveLength(2);
  h.stop();
  await jest.advanceTimersByTimeAsync(24 * 3600_000);
  expect(h.started).toHaveLength(2);
});

it('starts nothing when another instance took the minute', async () => {
  const minutes: string[] = [];
  const h = harness(async (m) => (minutes.push(m), false));
  await jest.advanceTimersByTimeAsync(2 * 60_000);
  expect(minutes).toEqual(['2026-12-01T06:00']);
  expect(h.started).toEqual([]);
  h.stop();
});
