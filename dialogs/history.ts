import { z } from 'zod';
import { messageCard } from '../cards/diagnosis';
import { markdownSafe, type CardJson } from '../cards/render';
import { DomainError } from '../services/errors';
import type { Translate } from '../services/i18n';
import type { ApprovalService } from '../services/incidents/approvals';
import type { AuditRecord } from '../services/store/audit-chain';
import type { AppStore } from '../services/store/store';
import { personOf } from './person';
import { turnT } from './turn';
import type { VerbHandler, VerbRouter } from './verbs';

/** Records on one page of `history <vm>`: the newest first, "Older records" for the next page. */
export const HISTORY_PAGE = 25;

export async function historyCard(raw: Translate, store: AppStore, vm: { id: string; name: string }, beforeSeq?: number): Promise<CardJson> {
  const t = markdownSafe(raw);
  const page = await store.audit.page({ vmId: vm.id, limit: HISTORY_PAGE, beforeSeq });
  const lines = page.entries.map((e) => t('history.line', { at: e.at, actor: e.actor, action: e.action, details: summarize(e) }));
  const title =
    page.entries.length === 0 && beforeSeq === undefined
      ? t('history.none', { vm: vm.name })
      : t(beforeSeq === undefined ? 'history.pageTitle' : 'history.olderTitle', { vm: vm.name, count: page.entries.length });
  return messageCard({
    title,
    text: lines.join('\n\n'),
    older: page.olderThan !== undefined ? { vmId: vm.id, beforeSeq: page.olderThan, title: t('history.older') } : undefined,
  });
}

function summarize(e: AuditRecord): string {
  if (!e.details) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(e.details)) {
    if (k === 'approvalId' || k === 'jobId') continue;
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    parts.push(`${k}=${s.length > 80 ? `${s.slice(0, 77)}...` : s}`);
  }
  return parts.join(', ');
}

const armVmId = z
  .string()
  .max(400)
  .regex(/^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[-\w._()]+\/providers\/Microsoft\.Compute\/virtualMachines\/[-\w.]+$/i);
const olderData = z.object({ vmId: armVmId, beforeSeq: z.coerce.number().int().min(1).max(1e15) });

/** `history.older` { vmId, beforeSeq }: the next page, for approvers only. */
export function registerHistoryVerbs(router: VerbRouter, deps: { store: AppStore; approvals: ApprovalService }): void {
  const older: VerbHandler<typeof olderData> = {
    verb: 'history.older',
    schema: olderData,
    async handle(context, data) {
      const t = turnT(context);
      if (!deps.approvals.isApprover(personOf(context))) {
        throw new DomainError('not-allowed', 'history is for approvers', { params: { detailKey: 'history.onlyHelpdesk' } });
      }
      const name = data.vmId.split('/').pop() ?? data.vmId;
      return { kind: 'card', card: await historyCard(t, deps.store, { id: data.vmId, name }, data.beforeSeq) };
    },
  };
  router.add(older);
}
