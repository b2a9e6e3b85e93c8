import type { RunCommandPolling, RunCommandPollReport } from './gateway';

/**
 * sweep-pace (issue #16): a Run Command's status polls spaced to its expected duration instead
 * of the SDK's fixed interval (which also polls once right after the POST, when the Run Command
 * has certainly not finished). Each poll is an ARM read against the subscription's read budget:
 * a deep sweep of 1,000 VMs polled every second spends several reads per Run Command; polled
 * first near its duration, about two (the poll that finds it finished, and the result).
 */
export const POLL_DEFAULTS = { backoff: 0.125, maxShare: 0.5, minIntervalInMs: 250, maxIntervalInMs: 30_000 } as const;

/**
 * The wait before the next status poll, `sinceAcceptedInMs` after Azure accepted the Run Command,
 * `polls` polls made so far: the first at `firstPollInMs`; after that, a share of the time so far
 * that starts at `backoff` and doubles with each poll up to one half (so the polls fall at E,
 * 1.125 E, 1.41 E, 2.1 E, 3.2 E, ... with the default), within the bounds; never sooner than a
 * Retry-After Azure gave. A first poll that just missed costs an eighth of E, not half of it
 * (bench figure 7: 43 % of first polls missed by a little, each then waited E/2), and a long Run
 * Command is still polled about as often as at a constant half.
 */
export function nextPollDelayInMs(p: RunCommandPolling, sinceAcceptedInMs: number, polls: number, retryAfterInMs?: number): number {
  const min = p.minIntervalInMs ?? POLL_DEFAULTS.minIntervalInMs;
  const max = Math.max(min, p.maxIntervalInMs ?? POLL_DEFAULTS.maxIntervalInMs);
  const share = Math.min(POLL_DEFAULTS.maxShare, (p.backoff ?? POLL_DEFAULTS.backoff) * 2 ** Math.max(0, polls - 1));
  const base = polls === 0 ? p.firstPollInMs - sinceAcceptedInMs : Math.min(max, Math.max(min, sinceAcceptedInMs * share));
  return Math.round(Math.max(0, base, retryAfterInMs ?? 0));
}

/** The part of the SDK's poller the loop drives (core-lro's PollerLike). */
export interface StatusPoller<T> {
  readonly isDone: boolean;
  readonly result: T | undefined;
  poll(options: { abortSignal?: AbortSignal }): Promise<unknown>;
}

/** What the HTTP pipeline saw of this operation's status and result requests (sdk-clients.ts OperationWatch). */
export interface OperationHints {
  /** HTTP requests made to the operation's status and result URLs, retries included */
  reads(): number;
  /** the Retry-After of the newest of those answers, once (then forgotten) */
  takeRetryAfterInMs(): number | undefined;
}

export interface PollEnvironment {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  signal?: AbortSignal;
  /** when Azure answered the POST (the 202) */
  acceptedAt: number;
  /** the Retry-After of that answer, if any */
  initialRetryAfterInMs?: number;
  hints?: OperationHints;
}

/**
 * Polls an accepted Run Command on `polling`'s schedule until it ends; returns its result or
 * throws what the poller throws (a failed operation, a 429 past the retries, an abort at the
 * caller's bound). `polling.onPolled` hears what it cost, whatever the end.
 */
export async function pollRunCommand<T>(poller: StatusPoller<T>, polling: RunCommandPolling, env: PollEnvironment): Promise<T | undefined> {
  let polls = 0;
  let running = 0;
  let lastRunningAtMs = 0;
  let doneAtMs: number | undefined;
  let succeeded = false;
  let retryAfter = env.initialRetryAfterInMs;
  try {
    while (!poller.isDone) {
      await env.sleep(nextPollDelayInMs(polling, env.now() - env.acceptedAt, polls, retryAfter), env.signal);
      const at = env.now() - env.acceptedAt;
      polls++;
      await poller.poll({ abortSignal: env.signal });
      retryAfter = env.hints?.takeRetryAfterInMs();
      if (poller.isDone) doneAtMs = at;
      else {
        running++;
        lastRunningAtMs = at;
      }
    }
    succeeded = true;
    return poller.result;
  } finally {
    const report: RunCommandPollReport = {
      // without the pipeline's count: each poll, and the result read after the one that found it done
      reads: env.hints?.reads() ?? polls + (succeeded && doneAtMs !== undefined ? 1 : 0),
      running,
      firstPollHit: polls > 0 && running === 0 && doneAtMs !== undefined,
      firstPollInMs: polling.firstPollInMs,
      lastRunningAtMs,
      ...(doneAtMs !== undefined ? { doneAtMs } : {}),
    };
    polling.onPolled?.(report);
  }
}
