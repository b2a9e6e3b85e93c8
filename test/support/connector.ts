import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the bot sent to the channel: a new activity, or an update of an existing one. */
export interface Captured {
  kind: 'send' | 'update';
  conversationId: string;
  activityId: string;
  activity: Record<string, unknown> & { text?: string; attachments?: Array<{ contentType: string; content: Record<string, unknown> }> };
}

/**
 * A small Bot Framework connector (the channel side): the bot POSTs replies and PUTs updates
 * here, as it would to Teams' serviceUrl. Every call is captured for the test to read.
 */
export class TestConnector {
  readonly captured: Captured[] = [];
  private server?: Server;
  private seq = 0;
  private waiters: Array<() => void> = [];
  url = '';
  /** How long the channel takes to accept a post or an update in a conversation (a slow Teams), by conversation id. */
  readonly delays = new Map<string, number>();

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Captured['activity']) : {};
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(req.url ?? '');
    if (!m) {
      reply(res, 404, '');
      return;
    }
    const conversationId = decodeURIComponent(m[1]);
    const delay = this.delays.get(conversationId);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (req.method === 'PUT' && m[2]) {
      this.record({ kind: 'update', conversationId, activityId: decodeURIComponent(m[2]), activity: body });
      reply(res, 200, JSON.stringify({ id: decodeURIComponent(m[2]) }));
      return;
    }
    const id = `act-${++this.seq}`;
    this.record({ kind: 'send', conversationId, activityId: id, activity: body });
    reply(res, 200, JSON.stringify({ id }));
  }

  private record(c: Captured): void {
    this.captured.push(c);
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds over what was captured (bounded). */
  async waitFor<T>(pred: (all: Captured[]) => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await pred(this.captured);
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; captured:\n${this.captured.map(describe).join('\n')}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }
}

// restify patches http.ServerResponse.prototype (writeHead returns nothing there): no chaining
function reply(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  if (body) res.setHeader('content-type', 'application/json');
  res.end(body);
}

export function describe(c: Captured): string {
  const cards = (c.activity.attachments ?? []).map((a) => cardText(a.content)).join(' | ');
  return `${c.kind} ${c.activityId}: ${c.activity.text ?? ''} ${cards}`.slice(0, 400);
}

/** All TextBlock texts and action titles of a card, for assertions on what a user reads. */
export function cardText(card: unknown): string {
  const out: string[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    const o = n as Record<string, unknown>;
    if (o.type === 'TextBlock' && typeof o.text === 'string') out.push(o.text);
    if (typeof o.title === 'string' && typeof o.type === 'string' && o.type.startsWith('Action.')) out.push(`[${o.title}]`);
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as Array<{ title: string; value: string }>) out.push(`${f.title}: ${f.value}`);
    for (const [k, v] of Object.entries(o)) if (k !== 'fallback') walk(v);
  };
  walk(card);
  return out.join('\n');
}
