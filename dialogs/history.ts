import { z } from 'zod';
import { CARD_BUDGET_BYTES, messageCard, utf16Bytes } from '../cards/diagnosis';
import { markdownSafe, type CardJson } from '../cards/render';
import { VM_RESOURCE_ID } from '../services/azure/arm-ids';
import { DomainError } from '../services/errors';
import type { Translate } from '../services/i18n';
import type { ApprovalService } from '../services/incidents/approvals';
import { AuditTrail } from '../services/incidents/audit';
import type { AuditRecord } from '../services/store/audit-chain';
import type { AppStore } from '../services/store/store';
import { personOf } from './person';
import { turnT } from './turn';
import type { VerbHandler, VerbRouter } from './verbs';

/** Records on one page of `history <vm>`: the newest first, "Older records" for the next page. */
export const HISTORY_PAGE = 25;

export async function historyCard(raw: Translate, store: AppStore, vm: { id: string; name: string }, beforeSeq?: number): Promise<CardJson> {
  const t = markdownSafe(raw);
  const page = await new AuditTrail(store).vmPage(vm.id, HISTORY_PAGE, beforeSeq);
  const names = new Map<string, string>();
  const lines: string[] = [];
  for (const e of page.entries) {
    lines.push(t('history.line', { at: e.at, actor: await actorName(raw, store, e.actor, names), action: e.action, details: summarize(e) }));
  }
  const build = (shown: number): CardJson => {
    const more = shown < page.entries.length ? page.entries[shown - 1].seq : page.olderThan;
    const title =
      page.entries.length === 0 && beforeSeq === undefined
        ? t('history.none', { vm: vm.name })
        : t(beforeSeq === undefined ? 'history.pageTitle' : 'history.olderTitle', { vm: vm.name, count: shown });
    return messageCard({
      title,
      text: lines.slice(0, shown).join('\n\n'),
      fullWidth: true,
      older: more !== undefined ? { vmId: vm.id, beforeSeq: more, title: t('history.older') } : undefined,
    });
  };
  // whole entries, never cut: a page holds as many as fit in one Teams message (UTF-16), the rest is on the next page
  let shown = lines.length;
  let card = build(shown);
  while (shown > 1 && utf16Bytes(card) > CARD_BUDGET_BYTES) card = build(--shown);
  return card;
}

/** Who did it, as people read it: the display name the bot knows for an Entra object id or channel account; the bot itself by its name. */
async function actorName(t: Translate, store: AppStore, actor: string, cache: Map<string, string>): Promise<string> {
  const hit = cache.get(actor);
  if (hit !== undefined) return hit;
  let name = actor;
  if (actor === 'rdp-doctor') name = t('incidents.history.bot');
  else {
    const known = (await store.users.findByAadObjectId(actor)) ?? (await store.users.get(actor));
    if (known?.name) name = known.name;
  }
  cache.set(actor, name);
  return name;
}

/** Every detail of the entry, whole (ids that only link records are left out). */
function summarize(e: AuditRecord): string {
  if (!e.details) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(e.details)) {
    if (k === 'approvalId' || k === 'jobId') continue;
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join(', ');
}

const armVmId = z
  .string()
  .max(400)
  .regex(VM_RESOURCE_ID);
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
