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

export class InProcessJobQueue implements JobQueue {
  private handler?: (jobId: string) => Promise<void>;
  private readonly backlog: string[] = [];

  async enqueue(jobId: string): Promise<void> {
    if (this.handler) {
      const h = this.handler;
      setImmediate(() => void h(jobId));
    } else {
      this.backlog.push(jobId);
    }
  }

  consume(handler: (jobId: string) => Promise<void>): () => Promise<void> {
    this.handler = handler;
    for (const id of this.backlog.splice(0)) setImmediate(() => void handler(id));
    return async () => {
      this.handler = undefined;
    };
  }
}
