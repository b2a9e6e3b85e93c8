import type { Logger } from '../log';

/**
 * Background work that must outlive the HTTP turn (Teams gives a turn about 15 s). Tracks every
 * running job so that shutdown can wait for them, and never lets a job's failure escape.
 */
export class JobRunner {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(name: string, work: () => Promise<void>): void {
    const p = (async () => {
      try {
        await work();
      } catch (e) {
        this.logger.error({ err: e, job: name }, 'background job failed');
      }
    })();
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  count(): number {
    return this.running.size;
  }

  /** Resolves when every job has ended, or after `timeoutInMs`. */
  async drain(timeoutInMs: number): Promise<boolean> {
    if (this.running.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutInMs);
    });
    const all = (async () => {
      while (this.running.size > 0) await Promise.allSettled([...this.running]);
      return true as const;
    })();
    const done = await Promise.race([all, timeout]);
    clearTimeout(timer);
    return done;
  }
}
