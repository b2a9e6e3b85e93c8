import { TurnContext } from 'botbuilder';
import { z } from 'zod';
import { ApprovalService, type Decision } from '../services/incidents/approvals';
import { decideApproval } from './approval-decision';
import type { FixRunner } from '../services/incidents/fix-runner';
import type { JobRunner } from '../services/incidents/jobs';
import type { IncidentService } from '../services/incidents/incident-service';
import type { Approval } from '../services/incidents/model';
import { isDomainError } from '../services/errors';
import { outOfDateCard } from './diagnosis-verbs';
import type { FixPresenter } from './fix-presenter';
import { personOf } from './person';
import { turnLang, turnT, turnTimeZone } from './turn';
import type { VerbHandler, VerbResult, VerbRouter } from './verbs';

export interface FixVerbDeps {
  /** background work: notices and card copies must not hold up the click's answer */
  jobs: JobRunner;
  incidents: IncidentService;
  approvals: ApprovalService;
  runner: FixRunner;
  presenter: FixPresenter;
}

const uuid = z.string().uuid();
// the fix's own parameters are checked by the runbook's strict schema; here only their shape
const paramValue = z.union([z.string().max(100), z.number(), z.boolean()]);
const fixRequest = z.object({ incidentId: uuid, fixId: z.string().regex(/^[a-z0-9-]{1,40}$/) }).catchall(paramValue);
const approvalRef = z.object({ approvalId: uuid });
// Reject may carry the approver's optional reason (the card's text box); Approve ignores it
const decisionData = z.object({ approvalId: uuid, reason: z.string().max(2000).optional() });
const undoRequest = z.object({ incidentId: uuid, jobId: uuid });

/** Fix requests and decisions (CONTRACTS.md §5): fix.request, approval.approve, approval.reject, approval.refresh. */
export function registerFixVerbs(router: VerbRouter, deps: FixVerbDeps): void {
  const { incidents, approvals, presenter } = deps;

  /**
   * A new request's cards: the requester's copy, then the approvers' copies, posted after the
   * answer (a call per place; Teams gives an invoke 5 s). The same request again (a double click)
   * merges into the approval that exists (`created` false): nothing is posted again.
   */
  const post = async (context: TurnContext, submitted: { approval: Approval; created: boolean }, sentKey: string) => {
    const t = turnT(context);
    const { approval } = submitted;
    const fresh = submitted.created && approval.cards.length === 0;
    if (!fresh) return { kind: 'message' as const, text: t(sentKey) };
    const targets = await presenter.approverTargets(approval);
    const requester = TurnContext.getConversationReference(context.activity);
    deps.jobs.run(`publish:${approval.id}`, async () => {
      await presenter.publish(approval, requester, targets);
    });
    // the requester may be the approver who gets it (self-approval allowed): their own copy is the approver's
    // (issue #17, graph: approvers who never wrote are being reached through Graph; the requester hears how it goes)
    const reachable = targets.length > 0 || presenter.requesterDecides(approval) || presenter.reachesApprovers(approval);
    if (reachable) return { kind: 'message' as const, text: t(sentKey) };
    return { kind: 'message' as const, text: t(approvals.approverIds().length === 0 ? 'incidents.noApproverConfigured' : 'approval.noApprover') };
  };

  /** A fix asked from findings that are no longer current (fixed since, closed, cancelled): the card says so. */
  const outdated = async (context: TurnContext, incidentId: string, e: unknown): Promise<VerbResult | null> => {
    if (!isDomainError(e) || e.code !== 'approval-invalid' || e.params.detailKey !== 'approval.notReady') return null;
    return { kind: 'card', card: outOfDateCard(turnT(context), await incidents.get(incidentId)) };
  };

  const request: VerbHandler<typeof fixRequest> = {
    verb: 'fix.request',
    schema: fixRequest,
    async handle(context, data) {
      const incident = await incidents.get(data.incidentId);
      const { incidentId: _i, fixId, ...rest } = data;
      void _i;
      let submitted;
      try {
        submitted = await approvals.submit(incident, fixId, ApprovalService.fixParams(fixId, rest), personOf(context));
      } catch (e) {
        const card = await outdated(context, incident.id, e);
        if (card) return card;
        throw e;
      }
      return post(context, submitted, 'approval.requested');
    },
  };

  const undo: VerbHandler<typeof undoRequest> = {
    verb: 'fix.undo',
    schema: undoRequest,
    async handle(context, data) {
      const incident = await incidents.get(data.incidentId);
      let submitted;
      try {
        submitted = await approvals.submitUndo(incident, data.jobId, personOf(context));
      } catch (e) {
        const card = await outdated(context, incident.id, e);
        if (card) return card;
        throw e;
      }
      return post(context, submitted, 'plans.undo.requested');
    },
  };

  const decide = (verb: string, decision: Decision): VerbHandler<typeof decisionData> => ({
    verb,
    schema: decisionData,
    async handle(context, data) {
      const actor = personOf(context);
      const result = await decideApproval(deps, actor, data.approvalId, decision, data.reason);
      return { kind: 'card', card: await presenter.card(result.approval, presenter.viewFor(result.approval, actor), turnLang(context), turnTimeZone(context), approvals.isApprover(actor)) };
    },
  });

  const refresh: VerbHandler<typeof approvalRef> = {
    verb: 'approval.refresh',
    schema: approvalRef,
    async handle(context, data) {
      const approval = await approvals.get(data.approvalId);
      const me = personOf(context);
      return { kind: 'card', card: await presenter.card(approval, presenter.viewFor(approval, me), turnLang(context), turnTimeZone(context), approvals.isApprover(me)) };
    },
  };

  router.add(request).add(undo).add(decide('approval.approve', 'approve')).add(decide('approval.reject', 'reject')).add(refresh);
}
