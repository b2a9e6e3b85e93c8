import type { Activity, CloudAdapter, ConversationReference } from 'botbuilder';
import { DomainError } from '../services/errors';
import type { Logger } from '../services/log';
import { conversationReferenceOf } from '../dialogs/chat-address';
import type { Notifier, UpdateOutcome } from '../dialogs/notifier';
import type { ChatAddress } from '../services/incidents/model';
import { channelDeliveryError, ConversationGoneError } from './channel-transport';

interface Slot {
  /** the newest state not yet handed to the channel, and who waits for it */
  next?: { conversation: Partial<ConversationReference>; activity: Partial<Activity>; waiters: Array<(o: UpdateOutcome) => void> };
  running: boolean;
}

/**
 * Proactive messages and in-place updates through the CloudAdapter (whose HTTP client paces and
 * retries, see channel-transport). Updates of one message are coalesced: while one is on its
 * way, newer states replace each other and only the latest is sent after it, so a card never
 * goes back to an older state and a burst of steps costs two requests, not one per step. An
 * update that fails is logged; it never turns into a new post.
 */
export class AdapterNotifier implements Notifier {
  private readonly slots = new Map<string, Slot>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly adapter: CloudAdapter, private readonly appId: string, private readonly logger: Logger) {}

  /**
   * Resolves with the posted activity's id, or rejects (a DomainError whose cause is the channel's
   * error: a gone conversation stays recognisable by channelDeliveryError). The refusal is caught
   * inside the proactive turn: left to the adapter, its turn-error handler took it and the post
   * resolved with no id, which callers counted as delivered.
   */
  async send(address: ChatAddress, activity: Partial<Activity>): Promise<string | undefined> {
    const conversation = conversationReferenceOf(address);
    return this.track(
      (async () => {
        let id: string | undefined;
        let refused: unknown;
        await this.adapter.continueConversationAsync(this.appId, conversation, async (context) => {
          try {
            const r = await context.sendActivity(activity);
            id = r?.id;
          } catch (e) {
            refused = e;
          }
        });
        if (refused !== undefined) {
          const gone = channelDeliveryError(refused) instanceof ConversationGoneError;
          throw new DomainError(gone ? 'not-found' : 'server-error', `the channel refused the post: ${(refused as Error)?.message ?? String(refused)}`, { cause: refused });
        }
        if (!id) throw new DomainError('server-error', 'the channel accepted the post without an activity id');
        return id;
      })(),
    );
  }

  update(address: ChatAddress, activityId: string, activity: Partial<Activity>): Promise<UpdateOutcome> {
    const conversation = conversationReferenceOf(address);
    const key = `${conversation.conversation?.id ?? ''}\n${activityId}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { running: false };
      this.slots.set(key, slot);
    }
    const outcome = new Promise<UpdateOutcome>((resolve) => {
      const waiters = slot.next?.waiters ?? [];
      waiters.push(resolve);
      slot.next = { conversation, activity, waiters };
    });
    if (!slot.running) void this.track(this.flush(key, slot, activityId));
    return outcome;
  }

  /** Resolves when every send and update handed over so far has landed or given up (shutdown). */
  async drain(timeoutInMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutInMs;
    while (this.inFlight.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  private async flush(key: string, slot: Slot, activityId: string): Promise<void> {
    slot.running = true;
    try {
      while (slot.next) {
        const { conversation, activity, waiters } = slot.next;
        slot.next = undefined;
        let outcome: UpdateOutcome = 'updated';
        try {
          await this.adapter.continueConversationAsync(this.appId, conversation, async (context) => {
            await context.updateActivity({ ...activity, id: activityId, conversation: conversation.conversation } as Partial<Activity>);
          });
        } catch (e) {
          outcome = channelDeliveryError(e) instanceof ConversationGoneError ? 'gone' : 'failed';
          if (outcome === 'failed') this.logger.warn({ err: e, conversationId: conversation.conversation?.id, activityId }, 'card update failed');
        }
        for (const w of waiters) w(outcome);
      }
    } finally {
      slot.running = false;
      if (this.slots.get(key) === slot && !slot.next) this.slots.delete(key);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.then(
      () => this.inFlight.delete(p),
      () => this.inFlight.delete(p),
    );
    return p;
  }
}
