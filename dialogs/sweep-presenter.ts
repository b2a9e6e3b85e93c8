import { CardFactory, type Activity, type ConversationReference } from 'botbuilder';
import { sweepCard } from '../cards/sweep';
import { pickLang, translator, UTC, type Lang } from '../services/i18n';
import type { ChatAddress } from '../services/incidents/model';
import type { Logger } from '../services/log';
import type { AppStore } from '../services/store/store';
import type { SweepDigest, SweepObserver } from '../services/sweeps/types';
import { chatAddressOf, conversationIdOf } from './chat-address';
import { APPROVALS_CHANNEL_KEY } from './fix-presenter';
import type { Notifier } from './notifier';

/** One posted copy of a sweep's digest card, in the language and time zone of whoever reads it there. */
export interface SweepCardPlace {
  conversation: ChatAddress;
  activityId: string;
  lang: Lang;
  tz?: string;
}

interface SweepCards {
  places: SweepCardPlace[];
  /** how the starter is called on the card */
  startedByName?: string;
}

/** settings key (+ sweep id) of where a sweep's digest card was posted: shared by every instance */
const CARDS_KEY = 'sweep.cards';
/** Progress updates of one card at most this often (Teams throttles per conversation); the end is shown at once. */
export const SWEEP_CARD_MIN_INTERVAL_MS = 4000;
const REMEMBERED = 200;

export interface SweepPresenterDeps {
  store: AppStore;
  notifier: Notifier;
  logger: Logger;
  /** Entra object ids of the approvers (a scheduled sweep without an approvals channel goes to their personal chats) */
  approverIds: () => string[];
  minIntervalInMs?: number;
  now?: () => Date;
}

const rank = (d: SweepDigest) => (d.state === 'running' ? 0 : 1);

/**
 * The digest card of each sweep, kept current (the sweep service's SweepObserver): a sweep
 * started in a chat has its card posted there by the command (`place`); a scheduled sweep's card
 * goes to the approvals channel (else to the approvers' personal chats) on its first report.
 * Progress updates a card in place at most every few seconds, the latest state winning; the
 * end is shown at once. A card never goes back to an older state, and is never posted twice.
 */
export class SweepPresenter implements SweepObserver {
  private readonly chains = new Map<string, Promise<void>>();
  /** the newest state shown per sweep (in this process), to keep cards from going back */
  private readonly shown = new Map<string, { terminal: boolean; done: number; at: number }>();
  private readonly pending = new Map<string, { digest: SweepDigest; timer: NodeJS.Timeout }>();
  private readonly now: () => Date;
  private readonly minInterval: number;

  constructor(private readonly deps: SweepPresenterDeps) {
    this.now = deps.now ?? (() => new Date());
    this.minInterval = deps.minIntervalInMs ?? SWEEP_CARD_MIN_INTERVAL_MS;
  }

  /** The card of a sweep as one reader sees it. */
  card(digest: SweepDigest, lang: Lang, tz: string | undefined, startedByName?: string) {
    return sweepCard(translator(lang, tz), { digest, now: this.now(), startedByName });
  }

  /** The command posted the sweep's card: from now on it is kept current. */
  async place(sweepId: string, place: SweepCardPlace, startedByName?: string): Promise<void> {
    await this.serial(sweepId, async () => {
      const cards = (await this.placesOf(sweepId)) ?? { places: [], startedByName };
      await this.save(sweepId, { ...cards, places: [...cards.places, place] });
    });
  }

  async progress(digest: SweepDigest): Promise<void> {
    const last = this.shown.get(digest.id);
    const wait = last ? last.at + this.minInterval - this.now().getTime() : 0;
    if (wait <= 0 && !this.pending.has(digest.id)) {
      await this.show(digest);
      return;
    }
    // too soon after the last update: the newest state goes out when the interval is over
    const queued = this.pending.get(digest.id);
    if (queued) {
      queued.digest = digest;
      return;
    }
    const timer = setTimeout(() => {
      const p = this.pending.get(digest.id);
      this.pending.delete(digest.id);
      if (p) void this.show(p.digest);
    }, Math.max(0, wait));
    timer.unref?.();
    this.pending.set(digest.id, { digest, timer });
  }

  async finished(digest: SweepDigest): Promise<void> {
    const queued = this.pending.get(digest.id);
    if (queued) clearTimeout(queued.timer);
    this.pending.delete(digest.id);
    // not waiting for Teams (paced, retried): the sweep service goes on; shutdown drains the notifier
    await this.show(digest);
  }

  /**
   * Shows a state of the sweep on every copy of its card (a newer state than the one shown, or
   * nothing). A scheduled sweep's card is posted the first time; a chat sweep's card not placed
   * yet is left to the command, which shows the latest state once it has placed it.
   */
  show(digest: SweepDigest): Promise<void> {
    return this.serial(digest.id, async () => {
      const last = this.shown.get(digest.id);
      if (last && (last.terminal || (rank(digest) === 0 && digest.done < last.done))) return;
      let cards = await this.placesOf(digest.id);
      if (!cards && digest.startedBy === 'schedule') cards = await this.publish(digest);
      if (!cards || cards.places.length === 0) return;
      this.remember(digest);
      const landed = cards.places.map(async (place) => {
        const activity: Partial<Activity> = { type: 'message', attachments: [CardFactory.adaptiveCard(this.card(digest, place.lang, place.tz, cards.startedByName))] };
        const outcome = await this.deps.notifier.update(place.conversation, place.activityId, activity);
        if (outcome === 'gone') await this.forget(digest.id, place);
      });
      Promise.all(landed).catch((e: unknown) => this.deps.logger.warn({ err: e, sweepId: digest.id }, 'could not update a sweep card'));
    });
  }

  /** A scheduled sweep's first report: its card goes to the approvals channel, else to each approver's personal chat. */
  private async publish(digest: SweepDigest): Promise<SweepCards> {
    const { store, notifier, logger } = this.deps;
    const targets: Array<{ conversation: ChatAddress; lang: Lang; tz?: string }> = [];
    const channel = await store.settings.get<Partial<ConversationReference>>(APPROVALS_CHANNEL_KEY);
    if (channel?.conversation?.id) {
      // the channel has no language of its own: the one it was set up in (`approvals here`), times in UTC
      targets.push({ conversation: chatAddressOf(channel), lang: pickLang(channel.locale), tz: UTC });
    } else {
      for (const aad of this.deps.approverIds()) {
        const u = await store.users.findByAadObjectId(aad);
        if (u?.personal) targets.push({ conversation: u.personal, lang: u.lang ?? 'en', tz: u.tz });
      }
    }
    const cards: SweepCards = { places: [] };
    for (const target of targets) {
      try {
        const activityId = await notifier.send(target.conversation, { type: 'message', attachments: [CardFactory.adaptiveCard(this.card(digest, target.lang, target.tz))] });
        if (activityId) cards.places.push({ ...target, activityId });
      } catch (e) {
        logger.warn({ err: e, sweepId: digest.id, conversationId: conversationIdOf(target.conversation) }, 'could not post a scheduled sweep\'s card');
      }
    }
    if (targets.length === 0) logger.warn({ sweepId: digest.id }, 'a scheduled sweep has nowhere to post its card: no approvals channel and no approver has chatted with the bot');
    // stored even when empty: a later report must not post it again
    await this.save(digest.id, cards);
    // just posted with this state: no update needed for it
    this.remember(digest);
    return { places: [] };
  }

  private remember(digest: SweepDigest): void {
    this.shown.delete(digest.id);
    this.shown.set(digest.id, { terminal: rank(digest) === 1, done: digest.done, at: this.now().getTime() });
    while (this.shown.size > REMEMBERED) this.shown.delete(this.shown.keys().next().value as string);
  }

  private async forget(sweepId: string, place: SweepCardPlace): Promise<void> {
    await this.serialLoose(async () => {
      const cards = await this.placesOf(sweepId);
      if (!cards) return;
      const same = (p: SweepCardPlace) => p.activityId === place.activityId && conversationIdOf(p.conversation) === conversationIdOf(place.conversation);
      await this.save(sweepId, { ...cards, places: cards.places.filter((p) => !same(p)) });
    });
  }

  private placesOf(sweepId: string): Promise<SweepCards | null> {
    return this.deps.store.settings.get<SweepCards>(`${CARDS_KEY}:${sweepId}`);
  }

  private save(sweepId: string, cards: SweepCards): Promise<void> {
    return this.deps.store.settings.set(`${CARDS_KEY}:${sweepId}`, cards);
  }

  /** Work on one sweep's cards runs in call order (a slow render never overtakes a newer one). */
  private serial(sweepId: string, work: () => Promise<void>): Promise<void> {
    const before = this.chains.get(sweepId) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(work);
    const settled = mine.catch(() => undefined);
    this.chains.set(sweepId, settled);
    void settled.then(() => {
      if (this.chains.get(sweepId) === settled) this.chains.delete(sweepId);
    });
    return mine;
  }

  private async serialLoose(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (e) {
      this.deps.logger.warn({ err: e }, 'could not forget a sweep card');
    }
  }
}
