import { CardFactory, type Activity, type ConversationReference } from 'botbuilder';
import { approvalCard, type ApprovalView } from '../cards/approval';
import { translator, UTC, type Lang } from '../services/i18n';
import type { ApprovalService } from '../services/incidents/approvals';
import type { FixObserver } from '../services/incidents/fix-runner';
import type { Approval, CardPlacement, Incident, Job, KnownUser } from '../services/incidents/model';
import type { Notifier } from './notifier';
import type { Logger } from '../services/log';
import type { AppStore } from '../services/store/store';
import { noUndoFor, undoAvailable } from '../services/incidents/planner';
import { samePerson } from '../services/incidents/identity';
import { errorText } from './error-text';
import { DomainError } from '../services/errors';
import { conversationIdOf } from './chat-address';

export const APPROVALS_CHANNEL_KEY = 'approvalsChannel';

/**
 * Reaching configured approvers the bot has no conversation with (issue #17, graph;
 * dialogs/approver-reach.ts): told of every published request, and whether it is on.
 */
export interface ApproverReachHook {
  /** Graph can install the app for an approver of this request the bot cannot reach yet */
  active(approval: Approval): boolean;
  /** a new request's copies were posted: reach the approvers who did not get one, and tell the requester */
  published(approval: Approval, requester: Partial<ConversationReference>): Promise<void>;
}

/** What every copy of one approval's card is built from, read once per render (not once per copy). */
interface CardFacts {
  job: Job | null;
  incident: Incident | null;
  refreshUserIds: string[];
}

/**
 * Where approval cards go and how every copy is kept current: the requester's conversation
 * (status view), the approvals channel and the approvers' personal chats (approver view).
 * It is also the fix runner's observer: each step updates every copy in place.
 */
export class FixPresenter implements FixObserver {
  private readonly renders = new Map<string, Promise<void>>();
  private reach?: ApproverReachHook;

  constructor(
    private readonly deps: {
      store: AppStore;
      approvals: ApprovalService;
      notifier: Notifier;
      logger: Logger;
      allowSelfApproval: boolean;
      /** where script pages are (the card links to the fix's script) */
      publicBaseUrl: () => string;
    },
  ) {}

  // --- reaching approvers who never wrote (issue #17, graph) ---
  setReach(hook: ApproverReachHook): void {
    this.reach = hook;
  }

  /** Approvers the bot cannot reach yet are being reached through Graph: the request is not stuck. */
  reachesApprovers(approval: Approval): boolean {
    return this.reach?.active(approval) ?? false;
  }

  /** Posts one approver's copy of a pending request (the base card, in that approver's zone) and records it; returns its id. */
  async deliverTo(approval: Approval, conversation: Partial<ConversationReference>, tz: string = UTC): Promise<string | undefined> {
    const card = await this.card(approval, 'status', approval.lang, tz, false);
    const id = await this.deps.notifier.send(conversation, { type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
    if (id) await this.deps.store.approvals.addCard(approval.id, { conversation, activityId: id, audience: 'approvers' });
    return id;
  }
  // --- end reaching approvers ---

  /** Teams ids of the people whose view of the card differs: the approvers we know, and the requester. */
  async refreshUserIds(approval: Approval, approvers?: KnownUser[]): Promise<string[]> {
    const ids = new Set<string>([approval.requester.id]);
    for (const u of approvers ?? (await this.approverUsers())) ids.add(u.id);
    return [...ids].slice(0, 60);
  }

  /** The approvers the bot knows (has met in a chat), in configuration order. */
  private async approverUsers(): Promise<KnownUser[]> {
    const known: KnownUser[] = [];
    for (const aad of this.deps.approvals.approverIds()) {
      const u = await this.deps.store.users.findByAadObjectId(aad);
      if (u) known.push(u);
    }
    return known;
  }

  private async factsOf(approval: Approval, approvers?: KnownUser[]): Promise<CardFacts> {
    const job = approval.jobId ? await this.deps.store.jobs.get(approval.jobId) : null;
    const incident = await this.deps.store.incidents.get(approval.incidentId);
    return { job, incident, refreshUserIds: await this.refreshUserIds(approval, approvers) };
  }

  viewFor(approval: Approval, person: { id: string; aadObjectId?: string }): ApprovalView {
    if (!this.deps.approvals.isApprover(person)) return 'status';
    if (samePerson(approval.requester, person) && !this.deps.allowSelfApproval) return 'status';
    // an approver who gave the first of two approvals waits for the second, like everybody else
    if ((approval.votes ?? []).some((v) => samePerson(v.by, person))) return 'status';
    return 'approver';
  }

  /**
   * The card for one viewer; `lang` and `tz` are the viewer's when known (a click, a refresh),
   * else the requester's (their copy) or UTC (a copy for people we do not know). `detailed`: the
   * viewer is an approver (all the evidence).
   */
  async card(approval: Approval, view: ApprovalView, lang: Lang = approval.lang, tz: string | undefined = approval.tz, detailed = false, facts?: CardFacts) {
    const { job, incident, refreshUserIds } = facts ?? (await this.factsOf(approval));
    return approvalCard(translator(lang, tz), {
      approval,
      job,
      view,
      refreshUserIds,
      snapshotId: incident?.snapshotId,
      publicBaseUrl: this.deps.publicBaseUrl(),
      canUndo: undoAvailable(job) && incident?.state !== 'fixing',
      noUndo: noUndoFor(job),
      // Approve/Reject is an approver's view; a base copy (a channel, the requester) gets the least disclosure
      detailed: detailed || view === 'approver',
    });
  }

  /**
   * The requester can decide their own request (an approver, self-approval allowed: the README's
   * one-person demo): their own copy of the card is an approver's copy, so the request reaches
   * an approver even when nobody else is there.
   */
  requesterDecides(approval: Approval): boolean {
    return this.deps.allowSelfApproval && this.deps.approvals.isApprover(approval.requester);
  }

  /** A person's name as people read it: the name the channel gave, else the one the bot has on record, else their id. */
  async displayName(p: { id: string; name?: string; aadObjectId?: string }): Promise<string> {
    if (p.name) return p.name;
    const known = (await this.deps.store.users.get(p.id)) ?? (p.aadObjectId ? await this.deps.store.users.findByAadObjectId(p.aadObjectId) : null);
    return known?.name || p.id;
  }

  /** Where the approver copies go: the approvals channel, and each approver's personal chat but the requester's. */
  async approverTargets(approval: Approval): Promise<Array<Partial<ConversationReference>>> {
    const targets: Array<Partial<ConversationReference>> = [];
    const channel = await this.deps.store.settings.get<Partial<ConversationReference>>(APPROVALS_CHANNEL_KEY);
    if (channel) targets.push(channel);
    for (const aad of this.deps.approvals.approverIds()) {
      const u = await this.deps.store.users.findByAadObjectId(aad);
      if (u?.personal && !samePerson(u, approval.requester)) targets.push(u.personal);
    }
    return targets;
  }

  /**
   * Posts the copies of a new request: the requester's, then the approvers'. Every posted copy is
   * the base card, without Approve and Reject (a channel shows it to everyone); Teams asks for
   * each person's own view through `refresh` (approvers get the buttons). Runs after the click
   * was answered: Teams gives an invoke 5 s. The approvers' copies go out side by side (one lane
   * per conversation in the channel client). Returns how many approver places were reached.
   */
  async publish(approval: Approval, requester: Partial<ConversationReference>, targets: Array<Partial<ConversationReference>>): Promise<number> {
    const approvers = await this.approverUsers();
    const zones = zonesOf(approvers);
    let facts: Promise<CardFacts> | undefined;
    const cards = new Map<string, Promise<Record<string, unknown>>>();
    const cardIn = (tz: string) => {
      if (!cards.has(tz)) cards.set(tz, (facts ??= this.factsOf(approval, approvers)).then((f) => this.card(approval, 'status', approval.lang, tz, false, f)));
      return cards.get(tz)!;
    };
    const post = async (conversation: Partial<ConversationReference>, audience: CardPlacement['audience']) => {
      const card = await cardIn(zoneOfCopy(approval, zones, { conversation, audience }));
      const id = await this.deps.notifier.send(conversation, { type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
      if (id) await this.deps.store.approvals.addCard(approval.id, { conversation, activityId: id, audience });
    };
    try {
      await post(requester, 'requester');
    } catch (e) {
      this.deps.logger.warn({ err: e, approvalId: approval.id }, 'could not post the requester\'s copy of the approval card');
    }
    const sent = await Promise.all(
      targets.map(async (conversation) => {
        try {
          await post(conversation, 'approvers');
          return true;
        } catch (e) {
          this.deps.logger.warn({ err: e, approvalId: approval.id }, 'could not post the approval card');
          return false;
        }
      }),
    );
    // issue #17 (graph): approvers without a conversation are reached through Graph; the requester hears how it goes
    await this.reach?.published(approval, requester).catch((e: unknown) => this.deps.logger.warn({ err: e, approvalId: approval.id }, 'could not reach the approvers without a conversation'));
    return sent.filter(Boolean).length;
  }

  /**
   * Re-renders every copy of the approval card where it was posted; resolves when the copies
   * have landed (or given up). Calls for one approval are rendered in call order, so a slow
   * render never hands the notifier an older state after a newer one; the notifier coalesces
   * what is not sent yet, so the latest state is what lands.
   */
  updateCopies(approvalId: string): Promise<void> {
    const previous = this.renders.get(approvalId) ?? Promise.resolve();
    const rendered = previous.then(() => this.renderCopies(approvalId));
    const chain = rendered.then(
      () => undefined,
      () => undefined,
    );
    this.renders.set(approvalId, chain);
    void chain.then(() => {
      if (this.renders.get(approvalId) === chain) this.renders.delete(approvalId);
    });
    return rendered.then(
      (r) => r.landed,
      (e: unknown) => this.deps.logger.warn({ err: e, approvalId }, 'could not update the approval cards'),
    );
  }

  private async renderCopies(approvalId: string): Promise<{ landed: Promise<void> }> {
    const approval = await this.deps.store.approvals.get(approvalId);
    if (!approval) return { landed: Promise.resolve() };
    // every copy is the base card (each person's view comes through refresh), with times in the zone of whoever reads that copy
    const approvers = await this.approverUsers();
    const zones = zonesOf(approvers);
    // read once, when the first copy needs it, and shared by every copy
    let facts: Promise<CardFacts> | undefined;
    const bases = new Map<string, Promise<Partial<Activity>>>();
    const baseIn = (tz: string) => {
      if (!bases.has(tz)) bases.set(tz, (facts ??= this.factsOf(approval, approvers)).then((f) => this.card(approval, 'status', approval.lang, tz, false, f)).then((card) => ({ type: 'message', attachments: [CardFactory.adaptiveCard(card)] })));
      return bases.get(tz)!;
    };
    const landed = approval.cards.map(async (place) => {
      const outcome = await this.deps.notifier.update(place.conversation, place.activityId, await baseIn(zoneOfCopy(approval, zones, place)));
      // a copy in a conversation the bot can no longer write to is forgotten, not retried forever
      if (outcome === 'gone') await this.deps.store.approvals.removeCards(approval.id, (c) => c.activityId === place.activityId && sameConversation(c, place));
    });
    return { landed: Promise.all(landed).then(() => undefined) };
  }

  /** Tells the requester, in their conversation, in their language. */
  async tellRequester(approval: Approval, key: string, params: Record<string, string>): Promise<void> {
    const incident = await this.deps.store.incidents.get(approval.incidentId);
    if (!incident) return;
    const t = translator(approval.lang, approval.tz);
    try {
      await this.deps.notifier.send(incident.conversation, { type: 'message', text: t(key, { fix: t(`fixes.${approval.fixId}.title`), vm: approval.vmName, ...params }) });
    } catch (e) {
      this.deps.logger.warn({ err: e, approvalId: approval.id }, 'could not notify the requester');
    }
  }

  /** A step started or ended: the runner goes on while the copies catch up (only their latest state is sent). */
  async progress(job: Job): Promise<void> {
    void this.updateCopies(job.approvalId);
  }

  async finished(job: Job, _incident: Incident | null): Promise<void> {
    await this.updateCopies(job.approvalId);
    const approval = await this.deps.store.approvals.get(job.approvalId);
    if (!approval) return;
    const t = translator(approval.lang, approval.tz);
    if (job.state === 'succeeded' && job.result?.outcome === 'already-fixed') {
      await this.tellRequester(approval, 'plans.alreadyFixedNotice', {});
    } else if (job.state === 'succeeded') {
      const clean = job.result && job.result.remaining.length === 0 && job.result.appeared.length === 0;
      await this.tellRequester(approval, 'job.doneNotice', { result: t(clean ? 'job.resultClean' : 'job.resultLeft') });
    } else if (job.state === 'interrupted') {
      await this.tellRequester(approval, 'job.interruptedNotice', {});
      await this.tellApprovers(approval, 'job.interruptedNotice');
    } else {
      const err = new DomainError((job.error?.code ?? 'internal') as DomainError['code'], 'job failed', { params: job.error?.params ?? {} });
      await this.tellRequester(approval, 'job.failedNotice', { reason: errorText(t, err, { vm: approval.vmName }) });
    }
  }

  private async tellApprovers(approval: Approval, key: string): Promise<void> {
    const t = translator(approval.lang, approval.tz);
    const text = t(key, { fix: t(`fixes.${approval.fixId}.title`), vm: approval.vmName });
    const places = new Map<string, CardPlacement>();
    for (const place of approval.cards.filter((c) => c.audience === 'approvers')) places.set(conversationIdOf(place.conversation) ?? '', place);
    await Promise.all(
      [...places.values()].map((place) =>
        this.deps.notifier.send(place.conversation, { type: 'message', text }).catch((e: unknown) => this.deps.logger.warn({ err: e }, 'could not notify approvers')),
      ),
    );
  }
}

/** The time zones of the approvers we know, by their personal conversation. */
function zonesOf(approvers: KnownUser[]): Map<string, string> {
  const zones = new Map<string, string>();
  for (const u of approvers) {
    const conversationId = conversationIdOf(u.personal);
    if (conversationId && u.tz) zones.set(conversationId, u.tz);
  }
  return zones;
}

/** Whose zone a posted copy shows: the requester's on their copy, an approver's in their personal chat, else UTC (a channel). */
function zoneOfCopy(approval: Approval, zones: Map<string, string>, place: Pick<CardPlacement, 'conversation' | 'audience'>): string {
  if (place.audience === 'requester') return approval.tz ?? UTC;
  return zones.get(conversationIdOf(place.conversation) ?? '') ?? UTC;
}

export function sameConversation(a: CardPlacement, b: CardPlacement): boolean {
  return (conversationIdOf(a.conversation) ?? '') === (conversationIdOf(b.conversation) ?? '');
}
