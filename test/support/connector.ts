import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../../services/simulator/fleet-generator';
import { scaled } from './wait-scale';

/** What the bot sent to the channel: a new activity, or an update of an existing one. */
export interface Captured {
  kind: 'send' | 'update';
  conversationId: string;
  activityId: string;
  activity: Record<string, unknown> & { text?: string; attachments?: Array<{ contentType: string; content: Record<string, unknown> }> };
}

/** Every HTTP request the bot made, answered or refused, in arrival order. */
export interface RequestRecord {
  at: number;
  method: string;
  conversationId: string;
  activityId?: string;
  status: number;
  retryAfter?: string;
}

/** Refusals the channel may answer with, as Teams does under load. */
export type Fault = '429' | '429-retry-after' | '412' | '502' | '504';

export interface FaultMode {
  /** the share of requests refused, 0..1 */
  rate: number;
  seed: number;
  kinds: Fault[];
}

/** A small seeded generator (the simulator's mulberry32): the same seed refuses the same requests. */
export const seeded = prng;

/**
 * A small Bot Framework connector (the channel side): the bot POSTs replies and PUTs updates
 * here, as it would to Teams' serviceUrl. Every delivered call is captured for the test to read;
 * every request, refused ones included, is in `requests`. With a fault mode it refuses a share
 * of the requests at random (seeded) with 429 (with and without Retry-After), 412, 502 or 504;
 * a conversation given a refusal always gets it (as Teams answers once the bot was removed).
 */
export class TestConnector {
  readonly captured: Captured[] = [];
  readonly requests: RequestRecord[] = [];
  /** conversation id -> the refusal it always gets (403 MessageWritesBlocked or 404 ConversationNotFound once the bot is gone; 502 when it is down) */
  readonly refusals = new Map<string, { status: number; code: string }>();
  private server?: Server;
  private seq = 0;
  private waiters: Array<() => void> = [];
  private random: () => number = Math.random;
  url = '';
  /** conversation ids whose posts are accepted (200) with no activity id in the answer */
  readonly withoutIds = new Set<string>();
  /** How long the channel takes to accept a post or an update in a conversation (a slow Teams), by conversation id. */
  readonly delays = new Map<string, number>();

  constructor(private faults?: FaultMode) {
    if (faults) this.random = seeded(faults.seed);
  }

  /** Turns the fault mode on or off (e.g. only for the part of a test that measures it). */
  setFaults(faults: FaultMode | undefined): void {
    this.faults = faults;
    if (faults) this.random = seeded(faults.seed);
  }

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
    const log: RequestRecord = { at: Date.now(), method: req.method ?? '', conversationId, activityId: m[2] ? decodeURIComponent(m[2]) : undefined, status: 200 };
    this.requests.push(log);
    const delay = this.delays.get(conversationId);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const dead = this.refusals.get(conversationId.split(';')[0]);
    if (dead) {
      log.status = dead.status;
      reply(res, dead.status, JSON.stringify({ error: { code: dead.code, message: 'The bot is not part of the conversation roster.' } }));
      return;
    }
    const fault = this.faults && this.random() < this.faults.rate ? this.faults.kinds[Math.floor(this.random() * this.faults.kinds.length)] : undefined;
    if (fault) {
      log.status = Number(fault.slice(0, 3));
      if (fault === '429-retry-after') {
        log.retryAfter = '1';
        res.setHeader('Retry-After', '1');
      }
      reply(res, log.status, JSON.stringify({ error: { code: log.status === 429 ? 'Throttled' : 'ServiceError', message: `test fault ${fault}` } }));
      return;
    }
    if (req.method === 'PUT' && m[2]) {
      this.record({ kind: 'update', conversationId, activityId: decodeURIComponent(m[2]), activity: body });
      reply(res, 200, JSON.stringify({ id: decodeURIComponent(m[2]) }));
      return;
    }
    if (this.withoutIds.has(conversationId.split(';')[0])) {
      reply(res, 200, '{}');
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
  async waitFor<T>(pred: (all: Captured[]) => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 25000): Promise<T> {
    const deadline = Date.now() + scaled(timeoutMs);
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
    if (typeof o.type === 'string' && o.type.startsWith('Input.') && typeof o.label === 'string') out.push(o.label);
    if (typeof o.title === 'string' && typeof o.type === 'string' && o.type.startsWith('Action.')) out.push(`[${o.title}]`);
    if (o.type === 'FactSet' && Array.isArray(o.facts)) for (const f of o.facts as Array<{ title: string; value: string }>) out.push(`${f.title}: ${f.value}`);
    for (const [k, v] of Object.entries(o)) if (k !== 'fallback') walk(v);
  };
  walk(card);
  return out.join('\n');
}
