import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the bot made to the channel: a new activity (POST) or an update (PUT). */
export interface ChannelEvent {
  kind: 'send' | 'update';
  activityId: string;
  /** the raw JSON body: parsed only by whoever needs it, to keep the load generator cheap */
  raw: string;
  /** process.hrtime in ms when the body had arrived */
  at: number;
}

interface Watch {
  events: ChannelEvent[];
  waiters: Set<(e: ChannelEvent) => boolean>;
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * The channel side for the bench (the bot's serviceUrl): answers as the Bot Framework
 * connector does and keeps only the events of conversations someone is watching, so that
 * memory stays flat however many conversations run.
 */
export class BenchConnector {
  private server?: Server;
  private seq = 0;
  private readonly watches = new Map<string, Watch>();
  sends = 0;
  updates = 0;
  /** request body bytes received, all conversations (bench:turn-cost: the floor bot sends what the bot sends) */
  bytes = 0;
  private lastAt = 0;
  url = '';

  async start(): Promise<string> {
    this.server = createServer({ keepAliveTimeout: 30000 }, (req, res) => void this.handle(req, res));
    this.server.maxHeadersCount = 0;
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this.url;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  watch(conversationId: string): void {
    this.watches.set(conversationId, { events: [], waiters: new Set() });
  }

  unwatch(conversationId: string): void {
    this.watches.delete(conversationId);
  }

  /**
   * Resolves once no request has arrived for `ms`: the bot's paced requests that follow what a
   * driver waits for (a "diagnosis is ready" message queued behind the findings update) have landed.
   */
  async quiet(ms: number): Promise<void> {
    for (;;) {
      const idle = nowMs() - this.lastAt;
      if (idle >= ms) return;
      await new Promise((r) => setTimeout(r, ms - idle));
    }
  }

  /** The first event (already seen or to come) of a watched conversation that satisfies `pred`. */
  waitFor(conversationId: string, pred: (e: ChannelEvent) => boolean, timeoutMs: number): Promise<ChannelEvent> {
    const w = this.watches.get(conversationId);
    if (!w) return Promise.reject(new Error(`not watching ${conversationId}`));
    const seen = w.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter = (e: ChannelEvent): boolean => {
        if (!pred(e)) return false;
        clearTimeout(timer);
        resolve(e);
        return true;
      };
      const timer = setTimeout(() => {
        w.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting on ${conversationId}; saw ${w.events.map((e) => `${e.kind}:${describeEvent(e.raw)}`).join(' | ')}`));
      }, timeoutMs);
      w.waiters.add(waiter);
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const at = nowMs();
    for (const c of chunks) this.bytes += c.length;
    this.lastAt = at;
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(req.url ?? '');
    if (!m) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const conversationId = decodeURIComponent(m[1]);
    let event: ChannelEvent;
    if (req.method === 'PUT' && m[2]) {
      this.updates++;
      event = { kind: 'update', activityId: decodeURIComponent(m[2]), raw: '', at };
    } else {
      this.sends++;
      event = { kind: 'send', activityId: `act-${++this.seq}`, raw: '', at };
    }
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: event.activityId }));

    const w = this.watches.get(conversationId);
    if (!w) return;
    event.raw = Buffer.concat(chunks).toString('utf8');
    w.events.push(event);
    for (const waiter of w.waiters) if (waiter(event)) w.waiters.delete(waiter);
  }
}

/** The text and card titles of an event, for an error message. */
function describeEvent(raw: string): string {
  try {
    const a = JSON.parse(raw) as { text?: string; attachments?: Array<{ content?: { body?: Array<{ text?: string }> } }> };
    return [a.text ?? '', ...(a.attachments ?? []).map((x) => x.content?.body?.[0]?.text ?? '')].join(' ').slice(0, 300);
  } catch {
    return raw.slice(0, 200);
  }
}
