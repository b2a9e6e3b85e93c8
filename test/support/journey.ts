import type { Captured } from './connector';
import { cardText } from './connector';
import type { Harness } from './bot-harness';

export const cardOf = (c: Captured) => c.activity.attachments?.[0]?.content;

/** The data of the first Action.Execute with `verb` (fallbacks ignored) that `which` accepts. */
export function actionData(card: unknown, verb: string, which: (d: Record<string, string>) => boolean = () => true): Record<string, string> {
  const found: Array<Record<string, string>> = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n && typeof n === 'object') {
      const o = n as { type?: string; verb?: string; data?: Record<string, string> };
      if (o.type === 'Action.Execute' && o.verb === verb && o.data) found.push(o.data);
      for (const [k, v] of Object.entries(o)) if (k !== 'fallback') walk(v);
    }
  };
  walk(card);
  const hit = found.find(which);
  if (!hit) throw new Error(`no ${verb} action in card:\n${cardText(card)}`);
  return hit;
}

export interface User {
  userId: string;
  aadObjectId: string;
  name: string;
  conversationId: string;
  locale?: string;
  /** the client's time zone (IANA), as Teams sends it in `localTimezone` */
  localTimezone?: string;
}

/** Reports a VM, consents, and waits for the findings card; returns the incident id and the card's activity. */
export async function diagnoseAs(h: Harness, user: User, text: string, timeoutMs?: number): Promise<{ incidentId: string; findings: Captured }> {
  const mark = h.mark();
  await h.post(activity(h, user, { type: 'message', text }));
  const consent = await h.connector.waitFor((all) =>
    all.slice(mark).find((c) => c.conversationId === user.conversationId && /diagnose\.start/.test(JSON.stringify(cardOf(c) ?? ''))),
  );
  const { incidentId } = actionData(cardOf(consent), 'diagnose.start');
  const m2 = h.mark();
  const r = await h.post(activity(h, user, invoke('diagnose.start', { incidentId }, consent.activityId)));
  if (r.status !== 200) throw new Error(`consent failed: ${JSON.stringify(r.body)}`);
  const findings = await h.connector.waitFor((all) =>
    all.slice(m2).find((c) => c.kind === 'update' && c.activityId === consent.activityId && /fix\.request|Diagnosis of|Результаты/.test(JSON.stringify(cardOf(c) ?? ''))),
    timeoutMs,
  );
  return { incidentId, findings };
}

export function invoke(verb: string, data: Record<string, unknown>, replyToId?: string): Record<string, unknown> {
  return { type: 'invoke', name: 'adaptiveCard/action', replyToId, value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' } };
}

let seq = 0;
export function activity(h: Harness, user: User, body: Record<string, unknown>): Record<string, unknown> {
  return {
    id: `x-${++seq}`,
    channelId: 'msteams',
    serviceUrl: h.connector.url,
    locale: user.locale ?? 'en-US',
    ...(user.localTimezone ? { localTimezone: user.localTimezone } : {}),
    from: { id: user.userId, name: user.name, aadObjectId: user.aadObjectId },
    recipient: { id: '28:rdp-doctor', name: 'RDP Doctor' },
    conversation: { id: user.conversationId, conversationType: 'personal', tenantId: 'tenant-1' },
    timestamp: new Date().toISOString(),
    ...body,
  };
}

/** The sentence of a refused card action: HTTP 200 with a message answer (not an error the client may hide). */
export function refusal(r: { status: number; body: unknown }): string {
  const body = r.body as { statusCode?: number; type?: string; value?: unknown };
  if (r.status !== 200 || body?.type !== 'application/vnd.microsoft.activity.message' || typeof body.value !== 'string' || !body.value) {
    throw new Error(`not a refusal: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return body.value;
}

/**
 * `user` requests a fix from their findings; returns the new pending approval's id once its card
 * has reached `approver`'s personal chat (found by that id, not "any approval card").
 */
export async function requestFixAs(h: Harness, user: User, approver: User, incidentId: string, fixId: string, params: Record<string, unknown> = {}): Promise<string> {
  const mark = h.mark();
  const r = await h.post(activity(h, user, invoke('fix.request', { incidentId, fixId, ...params })));
  if (r.status !== 200) throw new Error(`request failed: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  const pending = (await h.app.store.approvals.listByIncident(incidentId)).filter((a) => a.state === 'pending');
  if (pending.length !== 1) throw new Error(`expected one pending request of incident ${incidentId}, found ${pending.length}`);
  const approvalId = pending[0].id;
  await h.connector.waitFor((all) =>
    all.slice(mark).find((c) => c.conversationId === approver.conversationId && /approval\.refresh/.test(JSON.stringify(cardOf(c) ?? '')) && actionData(cardOf(c), 'approval.refresh').approvalId === approvalId),
  );
  return approvalId;
}
