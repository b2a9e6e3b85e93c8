import { translator } from '../services/i18n';
import type { ApprovalService, Decision, DecisionResult } from '../services/incidents/approvals';
import type { FixRunner } from '../services/incidents/fix-runner';
import type { JobRunner } from '../services/incidents/jobs';
import type { Person } from '../services/incidents/model';
import type { FixPresenter } from './fix-presenter';

export interface ApprovalDecisionDeps {
  /** background work: notices and card copies must not hold up the answer */
  jobs: JobRunner;
  approvals: ApprovalService;
  runner: FixRunner;
  presenter: FixPresenter;
}

/**
 * An approver's Approve or Reject, wherever it was clicked (the card's `approval.approve` /
 * `approval.reject` verbs, the helpdesk tab's API): the approval service checks the person
 * (approver, self-approval, the two-person rule, the seal, expiry) and decides exactly once; an
 * approval's job goes to the runner; the requester is told and every posted copy of the card is
 * updated in the background. A refusal is the service's DomainError, thrown to the caller.
 */
export async function decideApproval(deps: ApprovalDecisionDeps, actor: Person, approvalId: string, decision: Decision, reason?: string): Promise<DecisionResult> {
  const { approvals, runner, presenter } = deps;
  const result = await approvals.decide(approvalId, actor, decision, { reason });
  if (result.outcome === 'voted') {
    const voted = result.approval;
    deps.jobs.run(`notify:${voted.id}`, async () => {
      await presenter.tellRequester(voted, 'plans.twoPerson.firstNotice', { by: actor.name || actor.id });
      await presenter.updateCopies(voted.id);
    });
  }
  if (result.outcome === 'decided') {
    if (result.job) await runner.start(result.job);
    const decided = result.approval;
    deps.jobs.run(`notify:${decided.id}`, async () => {
      const words = translator(decided.lang, decided.tz);
      const by = await presenter.displayName(actor);
      if (decision === 'reject' && decided.reason) await presenter.tellRequester(decided, 'incidents.reject.notice', { by, reason: decided.reason });
      else {
        await presenter.tellRequester(decided, 'approval.decidedNotice', {
          decision: words(decision === 'approve' ? 'approval.approvedWord' : 'approval.rejectedWord'),
          by,
        });
      }
      // the clicked copy is replaced by the invoke response; the other copies are updated here
      await presenter.updateCopies(decided.id);
    });
  }
  return result;
}
