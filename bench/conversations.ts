import type { BotClient, TurnResult } from './client';
import type { BenchConnector, ChannelEvent } from './connector';

/** VMs of the shipped demo fleet whose diagnosis reaches the Run Command (not blocked, no injected fault). */
export const DIAGNOSABLE_VMS = ['vm-healthy-01', 'vm-exposed-02', 'vm-portclash-03', 'vm-certexpired-04', 'vm-machinekeys-05', 'vm-tlsoff-06'];

/** the background diagnosis: bounded, generous */
const WAIT_MS = 60000;
/** what the bot sends in a turn has reached the connector before the turn's HTTP answer */
const IN_TURN_WAIT_MS = 5000;

export interface Party {
  client: BotClient;
  connector: BenchConnector;
}

/** One conversation as the load generator sees it: its HTTP turns, and work the bot finishes later. */
export interface ConversationRun {
  turns: TurnResult[];
  /** resolves when the bot's background work for this conversation has reached the channel */
  background?: Promise<BackgroundResult>;
}

export interface BackgroundResult {
  /** ms from sending the consent invoke to the findings card update */
  toFindingsMs: number;
}

function expectOk(what: string, r: TurnResult): TurnResult {
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return r;
}

/** The incident id on the consent card's Action.Execute `diagnose.start`, if this event carries it. */
export function consentIncidentId(e: ChannelEvent): string | undefined {
  if (e.kind !== 'send' || !e.raw.includes('diagnose.start')) return undefined;
  let found: string | undefined;
  const walk = (n: unknown): void => {
    if (found || !n || typeof n !== 'object') return;
    if (Array.isArray(n)) return n.forEach(walk);
    const o = n as { type?: unknown; verb?: unknown; data?: { incidentId?: unknown } };
    if (o.type === 'Action.Execute' && o.verb === 'diagnose.start' && typeof o.data?.incidentId === 'string') {
      found = o.data.incidentId;
      return;
    }
    Object.values(o).forEach(walk);
  };
  walk(JSON.parse(e.raw) as unknown);
  return found;
}

const isFindingsUpdateOf = (activityId: string) => (e: ChannelEvent) =>
  e.kind === 'update' && e.activityId === activityId && e.raw.includes('"Diagnosis of ');

export interface OpenedIncident {
  incidentId: string;
  consentActivityId: string;
  turn: TurnResult;
}

/** "internal error on <vm>" and the consent card it brings. Leaves the conversation watched. */
export async function openIncident(p: Party, conversationId: string, userId: string, vm: string): Promise<OpenedIncident> {
  p.connector.watch(conversationId);
  const turn = expectOk('message turn', await p.client.say(conversationId, userId, `I can't RDP to ${vm}: An internal error has occurred`));
  const consent = await p.connector.waitFor(conversationId, (e) => consentIncidentId(e) !== undefined, IN_TURN_WAIT_MS);
  return { incidentId: consentIncidentId(consent) ?? '', consentActivityId: consent.activityId, turn };
}

/**
 * The full diagnose conversation: the message turn, then the consent click (invoke turn); the
 * findings card update arrives later, from the bot's background job.
 */
export async function diagnoseConversation(p: Party, conversationId: string, userId: string, vm: string): Promise<ConversationRun> {
  const opened = await openIncident(p, conversationId, userId, vm);
  const findings = p.connector.waitFor(conversationId, isFindingsUpdateOf(opened.consentActivityId), WAIT_MS);
  findings.catch(() => undefined); // observed through `background`
  const sentAt = Number(process.hrtime.bigint()) / 1e6;
  const invoke = expectOk('invoke turn', await p.client.invoke(conversationId, userId, 'diagnose.start', { incidentId: opened.incidentId }, opened.consentActivityId));
  const background = findings.then(
    (e) => {
      p.connector.unwatch(conversationId);
      return { toFindingsMs: e.at - sentAt };
    },
    (err: unknown) => {
      p.connector.unwatch(conversationId);
      throw err;
    },
  );
  return { turns: [opened.turn, invoke], background };
}

/** The echo bot's two turns: a message (echoed through the connector) and a card action. */
export async function echoConversation(p: Party, conversationId: string, userId: string, vm: string): Promise<ConversationRun> {
  p.connector.watch(conversationId);
  try {
    const say = expectOk('message turn', await p.client.say(conversationId, userId, `I can't RDP to ${vm}: An internal error has occurred`));
    await p.connector.waitFor(conversationId, (e) => e.kind === 'send', IN_TURN_WAIT_MS);
    const invoke = expectOk('invoke turn', await p.client.invoke(conversationId, userId, 'diagnose.start', { incidentId: '00000000-0000-4000-8000-000000000000' }, 'act-0'));
    return { turns: [say, invoke] };
  } finally {
    p.connector.unwatch(conversationId);
  }
}

/** The consent card's Cancel: the incident closes. */
export async function cancelIncident(p: Party, conversationId: string, userId: string, opened: OpenedIncident): Promise<TurnResult> {
  return expectOk('cancel turn', await p.client.invoke(conversationId, userId, 'incident.cancel', { incidentId: opened.incidentId }, opened.consentActivityId));
}
