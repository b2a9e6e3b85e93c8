import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import type { Logger } from '../services/log';
import { ConversationPacer, realClock, type Clock } from './pacing';

/**
 * The one way out to the channel: every request the CloudAdapter makes (a reply in a turn, a
 * proactive message, an update in place) goes through this HTTP client. It paces each
 * conversation within Teams' limits, retries what Teams asks bots to retry (429, 412, 502, 504,
 * and a lost connection) with exponential back-off, full jitter and Retry-After, gives up after
 * a bounded number of attempts, and never retries a conversation that is gone (403
 * MessageWritesBlocked and kin, 404 ConversationNotFound).
 *
 * It replaces the SDK's transport rather than adding a policy: a policy would sit above the
 * SDK's own retry policy, whose unpaced retries would then multiply ours. The errors it throws
 * are not HTTP responses, so the SDK passes them through without retrying.
 */
type ConnectorClientOptions = NonNullable<ConstructorParameters<typeof ConfigurationBotFrameworkAuthentication>[4]>;
export type ChannelHttpClient = NonNullable<ConnectorClientOptions['httpClient']>;
type WebResource = Parameters<ChannelHttpClient['sendRequest']>[0];
type CompatResponse = Awaited<ReturnType<ChannelHttpClient['sendRequest']>>;
type HeadersLike = WebResource['headers'];

export const RETRY_STATUS = new Set([412, 429, 502, 504]);
/** Codes Teams answers when the bot can no longer write to a conversation (uninstalled, removed, deleted, blocked). */
export const GONE_CODES = new Set(['MessageWritesBlocked', 'ConversationBlockedByUser', 'BotNotInConversationRoster', 'ConversationNotFound']);

export interface RetrySettings {
  /** attempts per request, the first included */
  maxAttempts: number;
  baseDelayInMs: number;
  maxDelayInMs: number;
  /** a Retry-After longer than this is not waited for: the request gives up */
  maxRetryAfterInMs: number;
  /** per attempt */
  timeoutInMs: number;
}

export const DEFAULT_RETRY: RetrySettings = { maxAttempts: 8, baseDelayInMs: 500, maxDelayInMs: 8000, maxRetryAfterInMs: 30000, timeoutInMs: 30000 };

/** The channel kept refusing (throttled or unavailable) after every attempt. */
export class ChannelGaveUpError extends Error {
  constructor(readonly conversationId: string, readonly statusCode: number | undefined, readonly attempts: number) {
    super(`channel gave up on conversation after ${attempts} attempts (last status ${statusCode ?? 'none'})`);
    this.name = 'ChannelGaveUpError';
  }
}

/** The bot can no longer write to this conversation: it is forgotten, never retried. */
export class ConversationGoneError extends Error {
  constructor(readonly conversationId: string, readonly statusCode: number, readonly code: string) {
    super(`conversation is gone: ${statusCode} ${code}`);
    this.name = 'ConversationGoneError';
  }
}

/** Our delivery error, also when something wrapped it (DialogContextError keeps the original in `error`). */
export function channelDeliveryError(e: unknown, depth = 0): ChannelGaveUpError | ConversationGoneError | undefined {
  if (e instanceof ChannelGaveUpError || e instanceof ConversationGoneError) return e;
  if (!e || typeof e !== 'object' || depth > 3) return undefined;
  const inner = e as { error?: unknown; cause?: unknown };
  return channelDeliveryError(inner.error, depth + 1) ?? channelDeliveryError(inner.cause, depth + 1);
}

export function isChannelDeliveryError(e: unknown): boolean {
  return channelDeliveryError(e) !== undefined;
}

/** The conversation a Bot Connector URL addresses, without a channel thread's `;messageid=` suffix. */
export function conversationOfUrl(url: string): string | undefined {
  const m = /\/v3\/conversations\/([^/?]+)/.exec(new URL(url).pathname);
  if (!m) return undefined;
  return baseConversationId(decodeURIComponent(m[1]));
}

export function baseConversationId(id: string): string {
  return id.split(';')[0];
}

export interface ChannelTransportDeps {
  logger: Logger;
  pacer?: ConversationPacer;
  retry?: Partial<RetrySettings>;
  clock?: Clock;
  random?: () => number;
  /** called once per conversation found gone (the lifecycle forgets what pointed there) */
  onGone?: (conversationId: string, code: string) => void;
}

export interface ChannelTransport {
  httpClient: ChannelHttpClient;
  pacer: ConversationPacer;
  /** conversations found gone in this process: no request goes there until `revive` */
  isGone(conversationId: string): boolean;
  /** a lifecycle event says the conversation is gone (the lifecycle is already forgetting it) */
  markGone(conversationId: string, code: string): void;
  revive(conversationId: string): void;
}

export function createChannelTransport(deps: ChannelTransportDeps): ChannelTransport {
  const retry: RetrySettings = { ...DEFAULT_RETRY, ...deps.retry };
  const clock = deps.clock ?? realClock;
  const random = deps.random ?? Math.random;
  const pacer = deps.pacer ?? new ConversationPacer(undefined, clock);
  const gone = new Map<string, string>();

  /** Found gone by a refusal: remembered here, and the lifecycle forgets what pointed there. */
  const discovered = (conversationId: string, code: string) => {
    const first = !gone.has(conversationId);
    gone.set(conversationId, code);
    if (first) {
      deps.logger.warn({ conversationId, code }, 'conversation is gone: forgetting it');
      deps.onGone?.(conversationId, code);
    }
  };

  const backoff = (attempt: number, retryAfterInMs: number | undefined): number => {
    const exp = Math.min(retry.maxDelayInMs, retry.baseDelayInMs * 2 ** (attempt - 1));
    const jittered = exp / 2 + random() * (exp / 2);
    return Math.max(retryAfterInMs ?? 0, jittered);
  };

  // Node's own HTTP client with keep-alive agents, not `fetch`: the bench profile (issue #16, third
  // pass) showed undici's fetch (WHATWG streams, Request/Response/Headers objects, its abort
  // signal plumbing) at ~15% of the bot's busy time for the four channel requests of a diagnose
  // conversation, more than the Azure SDK's pipeline for its nine ARM requests; a request through
  // node:http costs a quarter of one through fetch (tools: bench/README.md). One timer per
  // attempt, and the caller's signal linked only when there is one.
  const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  function attempt(request: WebResource): Promise<CompatResponse> {
    const caller = request.abortSignal as AbortSignal | undefined;
    // already aborted: nothing is sent, and the caller's reason is the failure (as fetch did)
    if (caller?.aborted) return Promise.reject(abortReason(caller));
    const url = new URL(request.url);
    const secure = url.protocol === 'https:';
    const headers: OutgoingHttpHeaders = request.headers.toJson({ preserveCase: true });
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : (request.body as string | Buffer | undefined);
    if (body !== undefined && body !== null && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = Buffer.byteLength(body);
    return new Promise<CompatResponse>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, response?: CompatResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        caller?.removeEventListener('abort', onAbort);
        if (response) resolve(response);
        else reject(error);
      };
      // a request that cannot be sent at all (a bad URL or header) throws here: not retried
      const req = (secure ? httpsRequest : httpRequest)(url, { method: request.method, headers, agent: secure ? agents.https : agents.http }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => finish(new ChannelNetworkError(e)));
        res.on('close', () => {
          if (!res.complete) finish(new ChannelNetworkError(new Error('the connection closed before the whole answer came')));
        });
        res.on('end', () => {
          const raw: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) raw[k] = Array.isArray(v) ? v.join(', ') : v;
          // as fetch's text(): UTF-8, a leading byte order mark dropped
          const text = Buffer.concat(chunks).toString('utf8');
          finish(undefined, { request, status: res.statusCode ?? 0, headers: new Headers(raw), bodyAsText: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text });
        });
      });
      const stop = (reason: unknown) => {
        finish(reason);
        req.destroy();
      };
      const timer = setTimeout(() => stop(new DOMException(`channel request timed out after ${retry.timeoutInMs} ms`, 'TimeoutError')), retry.timeoutInMs);
      const onAbort = () => stop(abortReason(caller));
      caller?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => finish(new ChannelNetworkError(e)));
      req.end(body ?? undefined);
    });
  }

  async function send(request: WebResource): Promise<CompatResponse> {
    const conversationId = conversationOfUrl(request.url);
    if (conversationId && gone.has(conversationId)) throw new ConversationGoneError(conversationId, 0, gone.get(conversationId) ?? 'gone');
    return pacer.run(conversationId ?? '*', async (take) => {
      let last: CompatResponse | undefined;
      for (let n = 1; ; n++) {
        await take();
        let retryAfterInMs: number | undefined;
        try {
          last = await attempt(request);
        } catch (e) {
          // a lost connection or a timed-out attempt is retried; a request that cannot be sent
          // at all (a header fetch refuses, the caller aborted) is not
          if ((request.abortSignal as AbortSignal | undefined)?.aborted || !isNetworkError(e)) throw e;
          last = undefined;
          deps.logger.debug({ err: e, conversationId, attempt: n }, 'channel request failed');
        }
        if (last) {
          if (last.status < 400) return last;
          const code = errorCode(last.bodyAsText);
          if (conversationId && (last.status === 403 || last.status === 404) && code && GONE_CODES.has(code)) {
            discovered(conversationId, code);
            throw new ConversationGoneError(conversationId, last.status, code);
          }
          if (!RETRY_STATUS.has(last.status)) return last; // the SDK turns it into its error
          retryAfterInMs = parseRetryAfter(last.headers.get('retry-after'), clock.now());
        }
        if (n >= retry.maxAttempts || (retryAfterInMs !== undefined && retryAfterInMs > retry.maxRetryAfterInMs)) {
          deps.logger.warn({ conversationId, status: last?.status, attempts: n, method: request.method }, 'channel request gave up');
          throw new ChannelGaveUpError(conversationId ?? '', last?.status, n);
        }
        const delay = backoff(n, retryAfterInMs);
        deps.logger.debug({ conversationId, status: last?.status, attempt: n, delayInMs: Math.round(delay) }, 'channel request retried');
        await clock.sleep(delay);
      }
    });
  }

  return {
    httpClient: { sendRequest: send },
    pacer,
    isGone: (id) => gone.has(baseConversationId(id)),
    markGone: (id, code) => void gone.set(baseConversationId(id), code),
    revive: (id) => void gone.delete(baseConversationId(id)),
  };
}

/** A connection refused or reset, DNS, a socket error: the request may be sent again. */
class ChannelNetworkError extends Error {
  constructor(cause: unknown) {
    super(`channel request failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'ChannelNetworkError';
  }
}

/** The caller's reason for aborting (an AbortError when it gave none). */
function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The connection failed (connection refused or reset, DNS, socket) or our per-attempt time-out. */
function isNetworkError(e: unknown): boolean {
  // by name: a DOMException is an Error in Node, but not of every realm's Error (jest's)
  const name = e && typeof e === 'object' ? (e as { name?: unknown }).name : undefined;
  return name === 'TimeoutError' || name === 'AbortError' || name === 'ChannelNetworkError';
}

/** Retry-After as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function errorCode(body: string | null | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}

/** The minimal core-http header collection the SDK reads from a response. */
class Headers implements HeadersLike {
  private readonly map = new Map<string, { name: string; value: string }>();

  constructor(raw: Record<string, string> = {}) {
    for (const [k, v] of Object.entries(raw)) this.set(k, v);
  }

  set(name: string, value: string | number): void {
    this.map.set(name.toLowerCase(), { name, value: String(value) });
  }

  get(name: string): string | undefined {
    return this.map.get(name.toLowerCase())?.value;
  }

  contains(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  remove(name: string): boolean {
    return this.map.delete(name.toLowerCase());
  }

  rawHeaders(): Record<string, string> {
    return this.toJson();
  }

  headersArray(): Array<{ name: string; value: string }> {
    return [...this.map.values()];
  }

  headerNames(): string[] {
    return [...this.map.values()].map((h) => h.name);
  }

  headerValues(): string[] {
    return [...this.map.values()].map((h) => h.value);
  }

  clone(): Headers {
    return new Headers(this.toJson({ preserveCase: true }));
  }

  toJson(options: { preserveCase?: boolean } = {}): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, h] of this.map) out[options.preserveCase ? h.name : key] = h.value;
    return out;
  }
}
