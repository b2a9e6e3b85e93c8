import { CronError, parseCron } from '../../services/sweeps/cron';
import { ConfigError, loadConfig } from '../../services/wiring/config';

const at = (iso: string) => new Date(iso);

describe('SWEEP_SCHEDULE cron', () => {
  it.each([
    ['0 6 * * *', '2026-12-01T05:59:30Z', '2026-12-01T06:00:00.000Z'],
    ['0 6 * * *', '2026-12-01T06:00:00Z', '2026-12-02T06:00:00.000Z'],
    ['*/15 * * * *', '2026-12-01T10:07:00Z', '2026-12-01T10:15:00.000Z'],
    ['30 2 * * 1-5', '2026-12-04T03:00:00Z', '2026-12-07T02:30:00.000Z'], // Friday after 02:30 -> Monday
    ['0 0 1 * *', '2026-12-15T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['0 0 * * 7', '2026-12-01T00:00:00Z', '2026-12-06T00:00:00.000Z'], // 7 is Sunday
    ['0 0 13 * 5', '2026-12-01T00:00:00Z', '2026-12-04T00:00:00.000Z'], // either day field: Friday 4th before the 13th
    ['5,35 1-3/2 * * *', '2026-12-01T01:06:00Z', '2026-12-01T01:35:00.000Z'],
    ['0 12 29 2 *', '2026-03-01T00:00:00Z', '2028-02-29T12:00:00.000Z'],
  ])('%s after %s is %s', (expr, after, expected) => {
    const c = parseCron(expr);
    const next = c.next(at(after));
    expect(next?.toISOString()).toBe(expected);
    expect(c.matches(next!)).toBe(true);
  });

  it('never matches a day that does not exist', () => {
    expect(parseCron('0 0 31 2 *').next(at('2026-01-01T00:00:00Z'))).toBeNull();
  });

  it.each([
    ['', /5 fields/],
    ['* * * *', /5 fields .*got 4/],
    ['* * * * * *', /5 fields .*got 6/],
    ['61 * * * *', /minute: "61" is outside 0-59/],
    ['* 24 * * *', /hour: "24" is outside 0-23/],
    ['* * 0 * *', /day of month: "0" is outside 1-31/],
    ['* * * 13 *', /month: "13" is outside 1-12/],
    ['* * * * 8', /day of week: "8" is outside 0-7/],
    ['*/0 * * * *', /step .* at least 1/],
    ['5-1 * * * *', /minute: "5-1"/],
    ['MON * * * *', /minute: "MON" is not a number/],
    ['@daily', /5 fields/],
  ])('refuses %j', (expr, message) => {
    expect(() => parseCron(expr)).toThrow(CronError);
    expect(() => parseCron(expr)).toThrow(message);
  });

  it('is refused at start-up with a message naming the variable and the field', () => {
    expect(() => loadConfig({ SWEEP_SCHEDULE: '0 25 * * *' })).toThrow(ConfigError);
    expect(() => loadConfig({ SWEEP_SCHEDULE: '0 25 * * *' })).toThrow(/^SWEEP_SCHEDULE: hour: "25" is outside 0-23 .*got "0 25 \* \* \*"/);
    expect(loadConfig({ SWEEP_SCHEDULE: '0 6 * * 1-5' }).SWEEP_SCHEDULE).toBe('0 6 * * 1-5');
    expect(loadConfig({}).SWEEP_SCHEDULE).toBeUndefined();
  });

  it('has documented defaults for concurrency and budget, and refuses nonsense', () => {
    expect(loadConfig({})).toMatchObject({ SWEEP_CONCURRENCY: 10, SWEEP_ARM_BUDGET_PERCENT: 50 });
    expect(() => loadConfig({ SWEEP_CONCURRENCY: '0' })).toThrow(/^SWEEP_CONCURRENCY/);
    expect(() => loadConfig({ SWEEP_ARM_BUDGET_PERCENT: '150' })).toThrow(/^SWEEP_ARM_BUDGET_PERCENT/);
  });
});
