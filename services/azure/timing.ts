/** Abortable waiting, and an upper bound for any piece of work (nothing here waits forever). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An idle wait a stop can cut short: `pause(ms)` ends after `ms` or at `wake()`, whichever comes first. */
export function wakeableSleep(): { pause(ms: number): Promise<void>; wake(): void } {
  let wake: (() => void) | undefined;
  return {
    pause: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    wake: () => wake?.(),
  };
}

export function abortError(): Error {
  const e = new Error('The operation was aborted.');
  e.name = 'AbortError';
  return e;
}

export type BoundOutcome = 'deadline' | 'caller';

/**
 * Runs `work` with a signal that aborts at the deadline or when the caller aborts. If `work`
 * ignores the signal, the returned promise still settles shortly after (graceMs).
 */
export async function withDeadline<T>(
  timeoutInMs: number,
  callerSignal: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
  onAbort: (why: BoundOutcome, cause: unknown) => Error,
  graceMs = 1000,
): Promise<T> {
  const controller = new AbortController();
  let why: BoundOutcome | undefined;
  const abort = (w: BoundOutcome): void => {
    if (!why) why = w;
    controller.abort();
  };
  const timer = setTimeout(() => abort('deadline'), Math.max(0, timeoutInMs));
  const onCaller = (): void => abort('caller');
  if (callerSignal?.aborted) abort('caller');
  else callerSignal?.addEventListener('abort', onCaller, { once: true });
  let guard: NodeJS.Timeout | undefined;
  const guardPromise = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => {
      guard = setTimeout(() => reject(onAbort(why ?? 'deadline', abortError())), graceMs);
    }, { once: true });
  });
  try {
    return await Promise.race([work(controller.signal), guardPromise]);
  } catch (e) {
    if (why) throw onAbort(why, e);
    throw e;
  } finally {
    clearTimeout(timer);
    if (guard) clearTimeout(guard);
    callerSignal?.removeEventListener('abort', onCaller);
  }
}
