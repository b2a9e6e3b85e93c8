import { CardFactory, type ConversationReference } from 'botbuilder';
import { approvalCard, type ApprovalView } from '../cards/approval';
import { translator, type Lang } from '../services/i18n';
import type { ApprovalService } from '../services/incidents/approvals';
import type { FixObserver } from '../services/incidents/fix-runner';
import type { Approval, CardPlacement, Incident, Job } from '../services/incidents/model';
import type { Notifier } from '../services/incidents/notifier';
import type { Logger } from '../services/log';
import type { AppStore } from '../services/store/store';
import { samePerson } from '../services/incidents/identity';
import { errorText } from './error-text';
import { DomainError } from '../services/errors';

export const APPROVALS_CHANNEL_KEY = 'approvalsChannel';

/**
 * Where approval cards go and how every copy is kept current: the requester's conversation
 * (status view), the approvals channel and the approvers' personal chats (approver view).
 * It is also the fix runner's observer: each step updates every copy in place.
 */
export class FixPresenter implements FixObserver {
  constructor(
    private readonly deps: { store: AppStore; approvals: ApprovalService; notifier: Notifier; logger: Logger; allowSelfApproval: boolean },
  ) {}

  /** Teams ids of the people whose view of the card differs: the approvers we know, and the requester. */
  async refreshUserIds(approval: Approval): Promise<string[]> {
    const ids = new Set<string>([approval.requester.id]);
    for (const aad of this.deps.approvals.approverIds()) {
      const u = await this.deps.store.users.findByAadObjectId(aad);
      if (u) ids.add(u.id);
    }
    return [...ids].slice(0, 60);
  }

  viewFor(approval: Approval, person: { id: string; aadObjectId?: string }): ApprovalView {
    if (!this.deps.approvals.isApprover(person)) return 'status';
    if (samePerson(approval.requester, person) && !this.deps.allowSelfApproval) return 'status';
    return 'approver';
  }

  /** The card for one viewer; `lang` is the viewer's when known (a click, a refresh), else the requester's. */
  async card(approval: Approval, view: ApprovalView, lang: Lang = approval.lang) {
    const job = approval.jobId ? await this.deps.store.jobs.get(approval.jobId) : null;
    const incident = await this.deps.store.incidents.get(approval.incidentId);
    return approvalCard(translator(lang), {
      approval,
      job,
      view,
      refreshUserIds: await this.refreshUserIds(approval),
      snapshotId: incident?.snapshotId,
    });
  }

  /** Sends the approver copies; returns how many places could be reached. */
  async publish(approval: Approval): Promise<number> {
    const targets: Array<Partial<ConversationReference>> = [];
    const channel = await this.deps.store.settings.get<Partial<ConversationReference>>(APPROVALS_CHANNEL_KEY);
    if (channel) targets.push(channel);
    for (const aad of this.deps.approvals.approverIds()) {
      const u = await this.deps.store.users.findByAadObjectId(aad);
      if (u?.personal && !samePerson(u, approval.requester)) targets.push(u.personal);
    }
    const card = await this.card(approval, 'approver');
    let reached = 0;
    for (const conversation of targets) {
      try {
        const id = await this.deps.notifier.send(conversation, { type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
        if (id) await this.deps.store.approvals.addCard(approval.id, { conversation, activityId: id, audience: 'approvers' });
        reached++;
      } catch (e) {
        this.deps.logger.warn({ err: e, approvalId: approval.id }, 'could not post the approval card');
      }
    }
    return reached;
  }

  /** Re-renders every copy of the approval card where it was posted. */
  async updateCopies(approvalId: string): Promise<void> {
    const approval = await this.deps.store.approvals.get(approvalId);
    if (!approval) return;
    for (const place of approval.cards) await this.updateCopy(approval, place);
  }

  private async updateCopy(approval: Approval, place: CardPlacement): Promise<void> {
    const view: ApprovalView = place.audience === 'approvers' ? 'approver' : 'status';
    try {
      const card = await this.card(approval, view);
      await this.deps.notifier.update(place.conversation, place.activityId, { type: 'message', attachments: [CardFactory.adaptiveCard(card)] });
    } catch (e) {
      this.deps.logger.warn({ err: e, approvalId: approval.id }, 'could not update an approval card');
    }
  }

  /** Tells the requester, in their conversation, in their language. */
  async tellRequester(approval: Approval, key: string, params: Record<string, string>): Promise<void> {
    const incident = await this.deps.store.incidents.get(approval.incidentId);
    if (!incident) return;
    const t = translator(approval.lang);
    try {
      await this.deps.notifier.send(incident.conversation, { type: 'message', text: t(key, { fix: t(`fixes.${approval.fixId}.title`), vm: approval.vmName, ...params }) });
    } catch (e) {
      this.deps.logger.warn({ err: e, approvalId: approval.id }, 'could not notify the requester');
    }
  }

  async progress(job: Job): Promise<void> {
    await this.updateCopies(job.approvalId);
  }

  async finished(job: Job, _incident: Incident | null): Promise<void> {
    await this.updateCopies(job.approvalId);
    const approval = await this.deps.store.approvals.get(job.approvalId);
    if (!approval) return;
    const t = translator(approval.lang);
    if (job.state === 'succeeded') {
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
    const t = translator(approval.lang);
    const text = t(key, { fix: t(`fixes.${approval.fixId}.title`), vm: approval.vmName });
    const seen = new Set<string>();
    for (const place of approval.cards.filter((c) => c.audience === 'approvers')) {
      const convId = place.conversation.conversation?.id ?? '';
      if (seen.has(convId)) continue;
      seen.add(convId);
      await this.deps.notifier.send(place.conversation, { type: 'message', text }).catch((e: unknown) => this.deps.logger.warn({ err: e }, 'could not notify approvers'));
    }
  }
}
