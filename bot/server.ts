import restify from 'restify';
import { z } from 'zod';
import type { CloudAdapter } from 'botbuilder';
import type { ActivityHandler } from 'botbuilder';
import { t, type Lang } from '../services/i18n';
import { scriptPage } from '../services/runbook/script-pages';
import type { AppStore } from '../services/store/store';
import type { Logger } from '../services/log';
import type { RouteRegistrar } from './surfaces';

export interface HttpServerDeps {
  adapter: CloudAdapter;
  bot: ActivityHandler;
  store: AppStore;
  logger: Logger;
  maxBodyBytes: number;
  /** Extra readiness checks (e.g. the Azure endpoint in demo mode). */
  readiness?: Array<() => Promise<void>>;
  /**
   * Without an app id nothing authenticates the caller, so the bot would post its replies to any
   * serviceUrl it is sent: local development accepts loopback channels only.
   */
  loopbackServiceUrlsOnly: boolean;
  /** Entra tenants whose activities are served; null: no tenant check (local development). */
  allowedTenantIds?: string[] | null;
  /** more routes on the same server (issue #17: the helpdesk tab) */
  routes?: RouteRegistrar[];
}

/** The tenant an activity comes from: Teams puts it in the conversation and in channelData. */
export function tenantOf(body: unknown): string | undefined {
  const b = body as { conversation?: { tenantId?: unknown }; channelData?: { tenant?: { id?: unknown } } } | null;
  const id = b?.conversation?.tenantId ?? b?.channelData?.tenant?.id;
  return typeof id === 'string' ? id.toLowerCase() : undefined;
}

export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  } catch {
    return false;
  }
}

/**
 * A channel on this machine, and only its connector API: the bot sends to
 * `<serviceUrl>/v3/conversations/...`, so the serviceUrl may not carry a query, a fragment,
 * credentials or dot segments that would point those requests at another path of a local service.
 */
export function isLocalConnectorUrl(url: string): boolean {
  if (!isLoopbackUrl(url) || /[?#@%\\]/.test(url)) return false;
  const path = /^https?:\/\/[^/]+(\/.*)?$/i.exec(url)?.[1] ?? '';
  return /^(\/[A-Za-z0-9_-]+)*\/?$/.test(path);
}

export interface HttpServer {
  server: restify.Server;
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, waits for running turns (bounded), then closes the listener. */
  close(timeoutInMs?: number): Promise<void>;
  inFlight(): number;
}

/**
 * The least an activity needs before the adapter sees it. Anything else (a missing conversation,
 * a serviceUrl that is not a URL) would fail deeper inside and answer 500; it is bad input: 400.
 */
const member = z.object({ id: z.string().max(1024) });
const activityShape = z.object({
  type: z.string().min(1).max(64),
  serviceUrl: z.string().max(2048).regex(/^https?:\/\/[^\s]+$/),
  channelId: z.string().min(1).max(64),
  conversation: z.object({ id: z.string().min(1).max(1024) }),
  // every channel names the sender; without it there is no one to answer, rate-limit or audit
  from: z.object({ id: z.string().min(1).max(1024) }),
  recipient: z.object({ id: z.string().max(1024) }).optional(),
  // a message over Teams' 28,000 characters is answered by the bot ("too long"), the body limit still applies
  text: z.string().optional(),
  // a language tag (en-US, ru-RU, zh-Hans-CN): anything else is not a locale Teams sends
  locale: z
    .string()
    .max(64)
    .regex(/^[A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*$/)
    .optional(),
  // botbuilder reads these without checking their shape (TurnContext.getMentions, the members of a
  // conversationUpdate): a string or a mention without `mentioned` would end the turn in a TypeError
  entities: z
    .array(
      z
        .object({ type: z.string().max(256) })
        .passthrough()
        .refine((e) => e.type.toLowerCase() !== 'mention' || member.safeParse(e.mentioned).success, { message: 'a mention names who is mentioned' }),
    )
    .max(256)
    .optional(),
  attachments: z.array(z.object({}).passthrough()).max(256).optional(),
  membersAdded: z.array(member).max(10_000).optional(),
  membersRemoved: z.array(member).max(10_000).optional(),
  channelData: z.object({}).passthrough().optional(),
});

/**
 * The HTTP face of the bot: `POST /api/messages` through the CloudAdapter (which checks the
 * Bot Framework token when an app id is configured), `/healthz` and `/readyz`.
 */
export function createHttpServer(deps: HttpServerDeps): HttpServer {
  const { adapter, bot, store, logger } = deps;
  const server = restify.createServer({ name: 'rdp-doctor', handleUncaughtExceptions: false });
  let accepting = true;
  let inFlight = 0;
  let drained: (() => void) | null = null;

  server.use(restify.plugins.bodyParser({ maxBodySize: deps.maxBodyBytes, mapParams: false, rejectUnknown: true }));

  server.post('/api/messages', async (req, res) => {
    if (!accepting) {
      res.header('Retry-After', '5');
      res.send(503, { error: 'shutting down' });
      return;
    }
    const shape = activityShape.safeParse(req.body);
    if (!shape.success) {
      const where = ` (${shape.error.issues[0]?.path.join('.') || 'body'})`;
      res.send(400, { error: `expected a Bot Framework activity${where}` });
      return;
    }
    if (deps.loopbackServiceUrlsOnly && !isLocalConnectorUrl(shape.data.serviceUrl)) {
      logger.warn({ serviceUrl: shape.data.serviceUrl.slice(0, 200) }, 'serviceUrl refused in local development');
      res.send(403, { error: 'without MicrosoftAppId only a channel on this machine (a loopback serviceUrl with a plain path) is accepted' });
      return;
    }
    if (deps.allowedTenantIds) {
      const tenant = tenantOf(req.body);
      if (!tenant || !deps.allowedTenantIds.includes(tenant)) {
        logger.warn({ tenant: tenant ?? '(none)', conversationId: shape.data.conversation.id }, 'activity from a tenant that is not allowed refused');
        res.send(403, { error: 'this bot does not serve that tenant' });
        return;
      }
    }
    const started = process.hrtime.bigint();
    inFlight++;
    try {
      await adapter.process(req, res, (context) => bot.run(context));
    } catch (e) {
      logger.error({ err: e }, 'adapter.process failed');
      if (!res.headersSent) res.send(500, { error: 'internal error' });
    } finally {
      inFlight--;
      logger.info(
        {
          conversationId: shape.data.conversation.id,
          activityType: shape.data.type,
          status: res.statusCode,
          durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
        },
        'turn',
      );
      if (inFlight === 0 && drained) drained();
    }
  });

  // the exact text of a script a card links to ("View the script"): only texts the bot ships
  server.get('/scripts/:sha256', async (req, res) => {
    const text = scriptPage(String((req.params as Record<string, unknown>).sha256 ?? ''));
    if (text === undefined) {
      plain(res, 404, 'no script with this SHA-256\n');
      return;
    }
    res.header('Cache-Control', 'public, max-age=31536000, immutable');
    plain(res, 200, text);
  });

  // the manifest's privacyUrl and termsOfUseUrl
  for (const page of ['privacy', 'terms'] as const) {
    server.get(`/${page}`, async (req, res) => {
      const lang = acceptLanguage(req.header('accept-language'));
      res.header('Content-Language', lang);
      plain(res, 200, `${t(lang, `teams.${page}.title`)}\n\n${t(lang, `teams.${page}.body`)}\n`);
    });
  }

  for (const register of deps.routes ?? []) register(server);

  server.get('/healthz', async (_req, res) => {
    res.send(200, { status: 'ok' });
  });

  server.get('/readyz', async (_req, res) => {
    try {
      if (!accepting) throw new Error('shutting down');
      await store.ping();
      for (const check of deps.readiness ?? []) await check();
      res.send(200, { status: 'ready', storage: store.kind });
    } catch (e) {
      res.send(503, { status: 'not ready', reason: (e as Error).message });
    }
  });

  return {
    server,
    inFlight: () => inFlight,
    listen(port, host = '0.0.0.0') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.removeListener('error', reject);
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? addr.port : port);
        });
      });
    },
    async close(timeoutInMs = 10000) {
      accepting = false;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutInMs);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A text/plain body sent byte for byte (restify's formatters would JSON-encode a string). */
function plain(res: restify.Response, status: number, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, 'X-Content-Type-Options': 'nosniff' });
  res.end(body);
}

/** The preferred of our languages in an Accept-Language header (q-values respected), else English. */
export function acceptLanguage(header: string | undefined): Lang {
  const ranked = (header ?? '')
    .split(',')
    .map((part, i) => {
      const [tag, ...params] = part.trim().toLowerCase().split(';');
      const q = Number(params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find(Boolean) ?? '1');
      return { primary: tag.split('-')[0], q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((x) => x.q > 0 && (x.primary === 'en' || x.primary === 'ru'))
    .sort((a, b) => b.q - a.q || a.i - b.i);
  return ranked[0]?.primary === 'ru' ? 'ru' : 'en';
}
