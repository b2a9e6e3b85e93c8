import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { nowMs } from './connector';

export interface TurnResult {
  status: number;
  body: string;
  /** round trip of the HTTP turn, ms */
  ms: number;
  /** when the answer had arrived (nowMs) */
  endedAt: number;
}

/** Plays the channel's part towards one bot: POSTs activities to its /api/messages. */
export class BotClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 512 });
  private seq = 0;

  constructor(
    private readonly port: number,
    private readonly serviceUrl: string,
  ) {}

  close(): void {
    this.agent.destroy();
  }

  say(conversationId: string, userId: string, text: string): Promise<TurnResult> {
    return this.post({ type: 'message', id: `m-${++this.seq}`, text, ...this.base(conversationId, userId) });
  }

  invoke(conversationId: string, userId: string, verb: string, data: Record<string, unknown>, replyToId?: string): Promise<TurnResult> {
    return this.post({
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: `i-${++this.seq}`,
      replyToId,
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
      ...this.base(conversationId, userId),
    });
  }

  private base(conversationId: string, userId: string): Record<string, unknown> {
    return {
      channelId: 'msteams',
      serviceUrl: this.serviceUrl,
      locale: 'en-US',
      from: { id: userId, name: 'Bench User', aadObjectId: aadObjectIdOf(userId) },
      recipient: { id: '28:rdp-doctor', name: 'RDP Doctor' },
      conversation: { id: conversationId, conversationType: 'personal', tenantId: 'tenant-bench' },
      timestamp: new Date().toISOString(),
    };
  }

  private post(activity: Record<string, unknown>): Promise<TurnResult> {
    const body = JSON.stringify(activity);
    const started = nowMs();
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          path: '/api/messages',
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const endedAt = nowMs();
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: endedAt - started, endedAt });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/**
 * Every bench user id is a different person (the per-user diagnosis rate limit keys on the Entra
 * object id): a stable GUID derived from the id.
 */
export function aadObjectIdOf(userId: string): string {
  const h = createHash('sha1').update(userId).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
