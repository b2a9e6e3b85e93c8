/**
 * Where approved fix jobs wait to be worked. With one process (SQLite) the queue hands the id to
 * this process's runner; with several instances (Azure Storage) any instance may take it.
 * Delivery is at-least-once: the runner's atomic claim makes a job run at most once.
 */
export interface JobQueue {
  enqueue(jobId: string): Promise<void>;
  /** Starts delivering job ids to `handler`; the returned function stops it. */
  consume(handler: (jobId: string) => Promise<void>, options?: ConsumeOptions): () => Promise<void>;
}

export interface ConsumeOptions {
  /** A job id delivered too often without being taken (a shared queue's poison path): report it, do not retry it forever. */
  poisoned?: (jobId: string, deliveries: number) => Promise<void>;
}

/**
 * One process: ids go straight to this process's handler. A handler that throws (the VM is busy
 * with another job) gets the id again after `retryDelayInMs`, like a shared queue's redelivery.
 */
export class InProcessJobQueue implements JobQueue {
  private handler?: (jobId: string) => Promise<void>;
  private readonly backlog: string[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly retryDelayInMs = 2000) {}

  async enqueue(jobId: string): Promise<void> {
    if (this.handler) this.deliver(jobId, 0);
    else this.backlog.push(jobId);
  }

  consume(handler: (jobId: string) => Promise<void>): () => Promise<void> {
    this.handler = handler;
    for (const id of this.backlog.splice(0)) this.deliver(id, 0);
    return async () => {
      this.handler = undefined;
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
    };
  }

  private deliver(jobId: string, delayInMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const h = this.handler;
      if (!h) {
        this.backlog.push(jobId);
        return;
      }
      h(jobId).catch(() => this.deliver(jobId, this.retryDelayInMs));
    }, delayInMs);
    this.timers.add(timer);
  }
}
