import type { QueueClient } from '@azure/storage-queue';
import type { ConsumeOptions, JobQueue } from '../../incidents/job-queue';
import type { Logger } from '../../log';
import { wakeableSleep } from '../../azure/timing';

export interface AzureJobQueueOptions {
  /** how long a received message stays hidden from other instances before it is delivered again */
  visibilityTimeoutSeconds?: number;
  /** deliveries after which a message goes to the poison path instead of the handler */
  maxDeliveries?: number;
  /** how often an idle consumer looks again */
  idlePollInMs?: number;
  logger?: Logger;
}

/**
 * Fix jobs on an Azure Storage queue: any instance may take a message. It is deleted once the
 * handler has taken the job; a message that came back more than `maxDeliveries` times goes to
 * `poisoned` (the job is failed and reported) and is deleted. Delivery is at least once: the
 * runner's claim (a conditional write) makes a second delivery harmless.
 */
export class AzureJobQueue implements JobQueue {
  private readonly visibility: number;
  private readonly maxDeliveries: number;
  private readonly idle: number;

  constructor(private readonly queue: QueueClient, private readonly opts: AzureJobQueueOptions = {}) {
    this.visibility = opts.visibilityTimeoutSeconds ?? 60;
    this.maxDeliveries = opts.maxDeliveries ?? 5;
    this.idle = opts.idlePollInMs ?? 500;
  }

  async enqueue(jobId: string): Promise<void> {
    await this.queue.sendMessage(jobId);
  }

  consume(handler: (jobId: string) => Promise<void>, options: ConsumeOptions = {}): () => Promise<void> {
    let stopped = false;
    const idler = wakeableSleep();
    const loop = async () => {
      while (!stopped) {
        let received = 0;
        try {
          const r = await this.queue.receiveMessages({ numberOfMessages: 8, visibilityTimeout: this.visibility });
          received = r.receivedMessageItems.length;
          for (const m of r.receivedMessageItems) {
            if (stopped) break; // not deleted: it becomes visible again for another instance
            try {
              if (m.dequeueCount > this.maxDeliveries) await options.poisoned?.(m.messageText, m.dequeueCount);
              else await handler(m.messageText);
              await this.queue.deleteMessage(m.messageId, m.popReceipt);
            } catch (e) {
              this.opts.logger?.warn({ err: e, jobId: m.messageText, deliveries: m.dequeueCount }, 'job message not handled; it will be delivered again');
            }
          }
        } catch (e) {
          this.opts.logger?.warn({ err: e }, 'job queue receive failed');
        }
        if (!stopped && received === 0) await idler.pause(this.idle);
      }
    };
    const running = loop();
    return async () => {
      stopped = true;
      idler.wake();
      await running;
    };
  }
}
