import { AsyncOperations } from '../../services/simulator/async-operations';
import { OperationLog } from '../../services/simulator/operation-log';

/**
 * A simulator left running for days must not grow without bound (docs/simulator.md, "What it
 * keeps"): ended long-running operations are forgotten after a retention and beyond a count, the
 * operation log keeps its newest entries up to a documented limit. A fake clock; no timers.
 */
describe('the simulator forgets what has ended', () => {
  let t = Date.parse('2030-01-01T00:00:00.000Z');
  const now = () => new Date(t);
  const minutes = (m: number) => {
    t += m * 60_000;
  };
  const start = (ops: AsyncOperations, over: { stuck?: () => boolean } = {}) =>
    ops.start({ provider: 'Microsoft.Compute', location: 'westeurope', vmName: 'vm-one', kind: 'runCommand', latencyMs: 0, finish: () => ({ result: { ok: true } }), ...over });

  test('an ended operation is still found by a late poll within the retention, and gone after it', () => {
    const ops = new AsyncOperations(now, { retentionMs: 60 * 60_000, maxEnded: 1000 });
    const early = start(ops);
    minutes(30);
    const later = start(ops);
    expect(ops.get(early.id)?.status).toBe('Succeeded');
    minutes(31); // early ended 61 minutes ago, later 31
    start(ops);
    expect(ops.get(early.id)).toBeUndefined();
    expect(ops.get(later.id)?.result).toEqual({ ok: true });
    expect(ops.size()).toBe(2);
  });

  test('at most maxEnded ended operations are kept (the oldest go first); one still in progress is never forgotten', () => {
    let held = true;
    const ops = new AsyncOperations(now, { retentionMs: 60 * 60_000, maxEnded: 3 });
    const stuck = start(ops, { stuck: () => held });
    const ended = Array.from({ length: 5 }, () => start(ops));
    expect(ended.map((o) => ops.get(o.id)?.status)).toEqual([undefined, undefined, 'Succeeded', 'Succeeded', 'Succeeded']);
    minutes(24 * 60);
    start(ops);
    expect(ops.get(stuck.id)?.status).toBe('InProgress');
    held = false;
    expect(ops.get(stuck.id)?.status).toBe('Succeeded');
  });

  test('the operation log keeps its newest `limit` entries, oldest first', () => {
    const log = new OperationLog(5);
    for (let i = 0; i < 12; i++) log.add({ method: 'GET', path: `/p/${i}`, vm: null, kind: 'read', scriptId: null, engine: null }, now());
    expect(log.list().map((e) => e.path)).toEqual(['/p/7', '/p/8', '/p/9', '/p/10', '/p/11']);
    expect(log.dropped()).toBe(7);
  });

  test('the defaults: an hour and 20,000 ended operations; a log of 1,000,000 entries', () => {
    expect(AsyncOperations.DEFAULT_RETENTION).toEqual({ retentionMs: 60 * 60_000, maxEnded: 20_000 });
    expect(OperationLog.DEFAULT_LIMIT).toBe(1_000_000);
  });
});
