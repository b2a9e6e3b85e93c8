/**
 * SWEEP_SCHEDULE: five cron fields, minute hour day-of-month month day-of-week, read in UTC.
 * Each field is `*`, a number, a range `a-b`, a step `*\/n` or `a-b/n`, or a comma list of them;
 * day-of-week 0-7 (0 and 7 are Sunday). As in Vixie cron, when both day fields are restricted a
 * day matches when either does. No names (MON, JAN) and no seconds: a value outside this is
 * refused with a message that names the field.
 */
export interface CronSchedule {
  readonly expression: string;
  matches(at: Date): boolean;
  /** The first whole minute strictly after `after` that matches (within 5 years), or null. */
  next(after: Date): Date | null;
}

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

function parseField(text: string, f: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) throw new CronError(`${f.name}: ${JSON.stringify(part)} is not a number, a range, * or a step`);
    const lo = m[1] === '*' ? f.min : Number(m[2]);
    const hi = m[1] === '*' ? f.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? f.max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < f.min || hi > f.max || lo > hi) throw new CronError(`${f.name}: ${JSON.stringify(part)} is outside ${f.min}-${f.max}`);
    if (step < 1) throw new CronError(`${f.name}: the step of ${JSON.stringify(part)} must be at least 1`);
    for (let v = lo; v <= hi; v += step) out.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return out;
}

export function parseCron(expression: string): CronSchedule {
  const text = expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5 || text === '') throw new CronError(`expected 5 fields (minute hour day-of-month month day-of-week), got ${text === '' ? 0 : parts.length}`);
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, FIELDS[i]));
  const domAny = parts[2] === '*';
  const dowAny = parts[4] === '*';
  const dayMatches = (d: Date): boolean => {
    const a = dom.has(d.getUTCDate());
    const b = dow.has(d.getUTCDay());
    if (domAny && dowAny) return true;
    if (domAny) return b;
    if (dowAny) return a;
    return a || b;
  };
  const matches = (d: Date): boolean => minute.has(d.getUTCMinutes()) && hour.has(d.getUTCHours()) && month.has(d.getUTCMonth() + 1) && dayMatches(d);
  return {
    expression: text,
    matches,
    next(after: Date): Date | null {
      const t = new Date(Math.floor(after.getTime() / 60_000) * 60_000 + 60_000);
      const limit = after.getTime() + 5 * 366 * 24 * 3600_000;
      while (t.getTime() <= limit) {
        // skip whole days (and months) that cannot match, then minutes
        if (!month.has(t.getUTCMonth() + 1) || !dayMatches(t)) {
          t.setUTCHours(24, 0, 0, 0);
          continue;
        }
        if (!hour.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
          continue;
        }
        if (matches(t)) return t;
        t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      }
      return null;
    },
  };
}
