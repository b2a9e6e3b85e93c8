import { TurnContext, type ConversationReference } from 'botbuilder';
import { isDomainError } from '../services/errors';
import type { TeamsAppGraph } from '../services/graph/port';
import { pickLang, translator, UTC } from '../services/i18n';
import type { ApprovalService } from '../services/incidents/approvals';
import { samePerson } from '../services/incidents/identity';
import type { JobRunner } from '../services/incidents/jobs';
import type { Approval, KnownUser } from '../services/incidents/model';
import type { Logger } from '../services/log';
import type { AppStore } from '../services/store/store';
import { conversationIdOf } from './chat-address';
import type { ApproverReachHook, FixPresenter } from './fix-presenter';
import type { Notifier } from './notifier';

/** The Graph permission the installs need (docs/deploy.md, docs/graph.md). */
const PERMISSION = 'TeamsAppInstallation.ReadWriteSelfForUser.All';

export interface ApproverReachDeps {
  store: AppStore;
  approvals: ApprovalService;
  presenter: FixPresenter;
  notifier: Notifier;
  /** background work (the harness and shutdown wait for it) */
  jobs: JobRunner;
  logger: Logger;
  /** null: no Graph (no app id, GRAPH_REACH=off): approvers who never wrote cannot be reached, and the requester hears it */
  graph: TeamsAppGraph | null;
  /** why Graph is off, for the start-up log line */
  graphOffReason?: string;
  /** the bot's tenant (MicrosoftAppTenantId); else the tenant last seen in an activity */
  tenantId?: string;
  /** TEAMS_SERVICE_URL; else the service URL last seen from the tenant; else `fallbackServiceUrl` */
  serviceUrl?: string;
  /** Teams' global service URL: only with an app id (a bot in local development never posts to the public channel) */
  fallbackServiceUrl?: string;
  /** the bot's channel id (28:<app id>), for the conversation reference */
  botId: string;
}

/** A stored mark: this approver got this approval's card (exactly once per approver per approval). */
const deliveredKey = (approvalId: string, aad: string) => `approverDelivered:${approvalId}:${aad.toLowerCase()}`;
/** The service URL last seen from a tenant (proactive posts before Teams wrote to the bot since the start). */
const serviceUrlKey = (tenantId: string) => `teamsServiceUrl:${tenantId.toLowerCase()}`;

/** `waiting`: installed, the cards go out when Teams reports the installation (no service URL known yet) */
type ReachOutcome = { ok: true; waiting?: boolean } | { ok: false; reasonKey: string };

/**
 * Reaches every configured approver (issue #17): an approver who never wrote to the bot has no
 * personal chat it could post to. Graph installs the app for them (idempotent) and gives the
 * personal chat's id; the pending approval cards are posted there through the notifier (paced,
 * retried). Teams also sends the bot a conversationUpdate for that chat when the app is
 * installed: the reference is recorded and what is still pending is delivered. Each approver gets
 * each approval's card once: a stored mark per approver and approval, claimed before the post with a
 * conditional write (first writer wins, also across instances) and released when the post fails. Until an approver is reachable
 * the requester hears so.
 */
export class ApproverReach implements ApproverReachHook {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly serviceUrls = new Map<string, string>();
  private lastTenant?: string;
  private botId: string;

  constructor(private readonly deps: ApproverReachDeps) {
    this.botId = deps.botId;
  }

  active(approval: Approval): boolean {
    return !!this.deps.graph && this.others(approval).length > 0;
  }

  /**
   * At start: install the app for every approver the bot has no conversation with; say clearly
   * when it cannot. `wait`: finish before returning (the in-process simulator answers at once, so
   * demo mode and tests start with the installs done); else it runs in the background.
   */
  async start(opts: { wait?: boolean } = {}): Promise<void> {
    const approvers = this.deps.approvals.approverIds();
    if (approvers.length === 0) return;
    if (!this.deps.graph) {
      this.deps.logger.info({ reason: this.deps.graphOffReason }, 'approvers who never wrote to the bot cannot be reached: Microsoft Graph is not configured (docs/graph.md)');
      return;
    }
    const work = async () => {
      const failed: string[] = [];
      for (const aad of approvers) {
        // one who wrote to the bot is reached in their chat as before
        if ((await this.deps.store.users.findByAadObjectId(aad))?.personal) continue;
        const outcome = await this.reach(aad);
        if (!outcome.ok) failed.push(aad);
      }
      if (failed.length) this.deps.logger.warn({ approvers: failed.length, permission: PERMISSION }, 'could not install the app for some approvers through Microsoft Graph: they get approval cards once they open RDP Doctor in Teams');
    };
    if (opts.wait) {
      await work().catch((e: unknown) => this.deps.logger.warn({ err: e }, 'reaching the approvers at start failed'));
      return;
    }
    this.deps.jobs.run('approver-reach:start', work);
  }

  /** Before every turn: remember the tenant's service URL; an install's conversationUpdate records the personal chat and delivers what is pending. */
  async observe(context: TurnContext): Promise<void> {
    const a = context.activity;
    if (a.recipient?.id) this.botId = a.recipient.id;
    const tenant = a.conversation?.tenantId ?? (a.channelData as { tenant?: { id?: unknown } } | undefined)?.tenant?.id;
    if (typeof tenant === 'string' && tenant && a.serviceUrl) {
      this.lastTenant = tenant;
      if (this.serviceUrls.get(tenant.toLowerCase()) !== a.serviceUrl) {
        this.serviceUrls.set(tenant.toLowerCase(), a.serviceUrl);
        await this.deps.store.settings.set(serviceUrlKey(tenant), a.serviceUrl);
      }
    }
    if (!isInstall(context)) return;
    const aad = a.from?.aadObjectId;
    if (!a.from?.id || !aad) return;
    // recordUser leaves lifecycle events alone; this one says how to reach the user
    const existing = await this.deps.store.users.get(a.from.id);
    const personal = TurnContext.getConversationReference(a);
    if (conversationIdOf(existing?.personal) !== personal.conversation?.id || existing?.aadObjectId !== aad) {
      const user: KnownUser = {
        ...existing,
        id: a.from.id,
        aadObjectId: aad,
        name: a.from.name || existing?.name,
        lang: existing?.lang ?? (a.locale ? pickLang(a.locale) : undefined),
        personal,
        updatedAt: new Date().toISOString(),
      };
      await this.deps.store.users.upsert(user);
    }
    if (!this.isApprover(aad)) return;
    this.deps.jobs.run(`approver-reach:installed:${aad}`, async () => {
      await this.locked(aad, () => this.deliverPending(aad, personal));
      // their Teams id is known now: the posted copies name them in refresh.userIds (their own view, with Approve and Reject)
      for (const approval of await this.deps.approvals.listPending(500, 'oldest')) await this.deps.presenter.updateCopies(approval.id);
    });
  }

  /**
   * A new request was posted: the approvers the bot cannot reach get it through Graph. When the
   * request reached no approver place yet, the requester hears who is being reached, then who
   * could not be (or who has it now); else the rest are reached without a word to the requester.
   */
  async published(approval: Approval): Promise<void> {
    const missing: string[] = [];
    for (const aad of this.others(approval)) {
      const u = await this.deps.store.users.findByAadObjectId(aad);
      if (!u?.personal) missing.push(aad);
    }
    if (missing.length === 0) return;
    // the request reached an approver place already (the approvals channel, another approver): the rest are reached quietly
    const posted = await this.deps.approvals.get(approval.id).catch(() => approval);
    const quiet = posted.cards.some((c) => c.audience === 'approvers') || this.deps.presenter.requesterDecides(approval);
    if (quiet) {
      if (this.deps.graph) this.deps.jobs.run(`approver-reach:${approval.id}`, async () => void (await Promise.all(missing.map((aad) => this.reach(aad)))));
      return;
    }
    const names = await this.namesOf(missing);
    if (!this.deps.graph) {
      await this.deps.presenter.tellRequester(approval, 'graph.notReachable', { names: names.join(', ') });
      return;
    }
    await this.deps.presenter.tellRequester(approval, 'graph.installing', { names: names.join(', ') });
    this.deps.jobs.run(`approver-reach:${approval.id}`, async () => {
      const outcomes = await Promise.all(missing.map(async (aad) => ({ aad, outcome: await this.reach(aad) })));
      const reached = outcomes.filter((o) => o.outcome.ok && !o.outcome.waiting).map((o) => o.aad);
      const failed = outcomes.filter((o): o is { aad: string; outcome: { ok: false; reasonKey: string } } => !o.outcome.ok);
      if (reached.length) await this.deps.presenter.tellRequester(approval, 'graph.reached', { names: (await this.namesOf(reached)).join(', ') });
      if (failed.length) {
        const t = translator(approval.lang, approval.tz);
        await this.deps.presenter.tellRequester(approval, 'graph.failed', {
          names: (await this.namesOf(failed.map((f) => f.aad))).join(', '),
          reason: t(failed[0].outcome.reasonKey, { permission: PERMISSION }),
        });
      }
    });
  }

  /**
   * Makes one approver reachable and gives them what is pending: their personal chat when the bot
   * has it, else the one Graph opens by installing the app (idempotent: installed already is fine).
   */
  async reach(aad: string): Promise<ReachOutcome> {
    return this.locked(aad, async () => {
      const known = await this.deps.store.users.findByAadObjectId(aad);
      if (known?.personal) {
        await this.deliverPending(aad, known.personal as Partial<ConversationReference>);
        return { ok: true } as const;
      }
      const graph = this.deps.graph;
      if (!graph) return { ok: false, reasonKey: 'graph.reason.off' } as const;
      let chatId: string;
      try {
        const r = await graph.ensurePersonalChat(aad);
        chatId = r.chatId;
        this.deps.logger.info({ approver: aad, installed: r.installed }, r.installed ? 'installed the app for an approver through Microsoft Graph' : 'the app was already installed for an approver');
      } catch (e) {
        const code = isDomainError(e) ? e.code : 'internal';
        if (code === 'forbidden') this.deps.logger.warn({ approver: aad, permission: PERMISSION }, `Microsoft Graph refused to install the app: grant the application permission ${PERMISSION} (docs/deploy.md)`);
        else this.deps.logger.warn({ err: e, approver: aad, code }, 'could not install the app for an approver through Microsoft Graph');
        return { ok: false, reasonKey: code === 'forbidden' ? 'graph.reason.forbidden' : code === 'not-found' ? 'graph.reason.notFound' : 'graph.reason.failed' } as const;
      }
      const address = await this.addressOf(aad, chatId);
      if (!address) {
        // Teams' conversationUpdate for the new chat brings the service URL, and the cards then
        this.deps.logger.info({ approver: aad }, 'no Teams service URL known yet: the approver gets the cards when Teams reports the installation');
        return { ok: true, waiting: true } as const;
      }
      const sent = await this.deliverPending(aad, address);
      return sent.failed > 0 ? ({ ok: false, reasonKey: 'graph.reason.failed' } as const) : ({ ok: true } as const);
    });
  }

  /** Posts every pending approval's card the approver has not had yet to `address`; each once. */
  private async deliverPending(aad: string, address: Partial<ConversationReference>): Promise<{ sent: number; failed: number }> {
    const person = { id: '', aadObjectId: aad };
    const known = await this.deps.store.users.findByAadObjectId(aad);
    const theirs = new Set([conversationIdOf(known?.personal), address.conversation?.id].filter((x): x is string => !!x));
    let sent = 0;
    let failed = 0;
    for (const approval of await this.deps.approvals.listPending(500, 'oldest')) {
      if (samePerson(approval.requester, person)) continue;
      if (approval.cards.some((c) => c.audience === 'approvers' && theirs.has(conversationIdOf(c.conversation) ?? ''))) continue;
      const key = deliveredKey(approval.id, aad);
      // the mark first, as a conditional write: a second path (the install's conversationUpdate, another instance) loses it and posts nothing
      if (!(await this.deps.store.settings.claim(key))) continue;
      try {
        await this.deps.presenter.deliverTo(approval, address, known?.tz ?? UTC);
        sent++;
      } catch (e) {
        await this.deps.store.settings.set(key, false);
        failed++;
        this.deps.logger.warn({ err: e, approvalId: approval.id, approver: aad }, 'could not post the approval card to an approver');
      }
    }
    return { sent, failed };
  }

  /** The personal chat Graph opened, as a conversation reference; null while no service URL is known. */
  private async addressOf(aad: string, chatId: string): Promise<Partial<ConversationReference> | null> {
    const tenantId = this.deps.tenantId ?? this.lastTenant;
    let serviceUrl = this.deps.serviceUrl;
    if (!serviceUrl && tenantId) serviceUrl = this.serviceUrls.get(tenantId.toLowerCase()) ?? (await this.deps.store.settings.get<string>(serviceUrlKey(tenantId))) ?? undefined;
    serviceUrl ??= this.deps.fallbackServiceUrl;
    if (!serviceUrl) return null;
    return {
      channelId: 'msteams',
      serviceUrl,
      bot: { id: this.botId, name: 'RDP Doctor' },
      user: { id: '', name: '', aadObjectId: aad },
      conversation: { id: chatId, conversationType: 'personal', isGroup: false, name: '', ...(tenantId ? { tenantId } : {}) },
    };
  }

  private others(approval: Approval): string[] {
    return this.deps.approvals.approverIds().filter((aad) => !samePerson(approval.requester, { id: '', aadObjectId: aad }));
  }

  private isApprover(aad: string): boolean {
    return this.deps.approvals.approverIds().some((x) => x.toLowerCase() === aad.toLowerCase());
  }

  private async namesOf(aads: string[]): Promise<string[]> {
    return Promise.all(aads.map(async (aad) => (await this.deps.store.users.findByAadObjectId(aad))?.name || aad));
  }

  /** One approver at a time in this process (an optimisation: the stored mark's claim is what makes each card go out once, across instances). */
  private locked<T>(aad: string, work: () => Promise<T>): Promise<T> {
    const key = aad.toLowerCase();
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, tail);
    void tail.then(() => {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    });
    return run;
  }
}

/** Teams reports the app installed in a personal chat: a conversationUpdate adding the bot, or an installationUpdate `add`. */
function isInstall(context: TurnContext): boolean {
  const a = context.activity;
  if (a.conversation?.conversationType !== 'personal') return false;
  if (a.type === 'installationUpdate') return a.action === 'add' || a.action === 'add-upgrade';
  if (a.type !== 'conversationUpdate') return false;
  const botId = a.recipient?.id;
  return (a.membersAdded ?? []).some((m) => m.id === botId);
}
