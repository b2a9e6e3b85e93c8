import { parseRetryAfter, conversationOfUrl } from '../../bot/channel-transport';
import { ConversationPacer, TEAMS_CONVERSATION_BUCKETS, worstCaseInWindow, type Clock } from '../../bot/pacing';

/** A clock that moves only when someone sleeps: the pacer's decisions without waiting for them. */
function fakeClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: async (ms: number) => {
      c.t += ms;
    },
  };
  return c;
}

describe('pacing within Teams limits per conversation', () => {
  it.each([
    [1, 7],
    [2, 8],
    [30, 60],
    [3600, 1800],
  ])('the buckets let at most the documented number through in %i s (%i)', (seconds, limit) => {
    expect(worstCaseInWindow(TEAMS_CONVERSATION_BUCKETS, seconds)).toBeLessThanOrEqual(limit);
  });

  it('a burst of 100 operations in one conversation never exceeds 8 in 2 s or 60 in 30 s, and runs in order', async () => {
    const clock = fakeClock();
    const pacer = new ConversationPacer(TEAMS_CONVERSATION_BUCKETS, clock);
    const at: number[] = [];
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        pacer.run('19:chat', async (take) => {
          await take();
          at.push(clock.now());
          order.push(i);
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const most = (windowMs: number) => Math.max(...at.map((t0) => at.filter((t) => t >= t0 && t < t0 + windowMs).length));
    expect(most(2000)).toBeLessThanOrEqual(8);
    expect(most(30000)).toBeLessThanOrEqual(60);
    expect(most(1000)).toBeLessThanOrEqual(7);
  });

  it('conversations do not wait for each other, and idle lanes are dropped', async () => {
    const clock = fakeClock();
    const pacer = new ConversationPacer(TEAMS_CONVERSATION_BUCKETS, clock);
    for (let i = 0; i < 50; i++) await pacer.run(`conv-${i}`, (take) => take());
    expect(clock.now()).toBe(0);
    expect(pacer.size()).toBe(50); // each spent a token
    clock.t += 60 * 60 * 1000;
    await pacer.run('conv-0', (take) => take());
    expect(pacer.size()).toBeLessThanOrEqual(50);
  });
});

describe('channel requests', () => {
  it('reads Retry-After as seconds or as a date', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });

  it('paces a channel thread with its channel', () => {
    expect(conversationOfUrl('https://smba.trafficmanager.net/emea/v3/conversations/19%3Aabc%40thread.tacv2%3Bmessageid%3D42/activities/1')).toBe('19:abc@thread.tacv2');
    expect(conversationOfUrl('https://smba.trafficmanager.net/emea/v3/conversations')).toBeUndefined();
  });
});
