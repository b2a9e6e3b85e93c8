import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through between the playground and the bot, for what the playground cannot do itself:
 * - it always sends `locale: "en-US"` (its UI knows no other language), whereas Teams sends the
 *   user's client language: `setLocale` rewrites the locale of every activity, so one browser
 *   session can be a Russian Teams client for some steps and an English one for others;
 * - messages typed in its UI always come from the config's `currentUser`: `setUser` makes every
 *   activity come from another user (name and Entra object id too).
 * It also records what reached the bot and what the bot answered (status and body).
 */

export interface SeenActivity {
  type: string;
  name?: string;
  text?: string;
  locale?: string;
  fromId?: string;
  conversationId?: string;
  /** HTTP status the bot answered. */
  status: number;
  /** The bot's answer body (invoke responses; at most 4000 characters). */
  answer: string;
}

export interface ActivityProxy {
  /** Give this to the playground as --app-endpoint. */
  endpoint: string;
  /**
   * `'ru-RU'` etc.: every activity carries this locale; `null`: the locale is removed (the bot
   * then guesses from the text); `undefined`: activities pass unchanged.
   */
  setLocale(locale: string | null | undefined): void;
  /** Every activity's `from` becomes this user; null = as the playground sent it. */
  setUser(user: { id: string; name: string; aadObjectId: string } | null): void;
  seen: SeenActivity[];
  stop(): Promise<void>;
}

interface ActivityBody {
  type?: unknown;
  name?: unknown;
  text?: unknown;
  locale?: unknown;
  from?: { id?: unknown; name?: unknown; aadObjectId?: unknown };
  conversation?: { id?: unknown };
  entities?: unknown;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function rewrite(activity: ActivityBody, locale: string | null): void {
  if (locale === null) delete activity.locale;
  else activity.locale = locale;
  if (!Array.isArray(activity.entities)) return;
  for (const e of activity.entities as Array<Record<string, unknown>>) {
    if (e && e.type === 'clientInfo') {
      if (locale === null) delete e.locale;
      else e.locale = locale;
    }
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startActivityProxy(target: string): Promise<ActivityProxy> {
  let locale: string | null | undefined;
  let user: { id: string; name: string; aadObjectId: string } | null = null;
  const seen: SeenActivity[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let body: Buffer | undefined = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
    let activity: ActivityBody | undefined;
    if (body && body.length > 0 && String(req.headers['content-type'] ?? '').includes('json')) {
      try {
        activity = JSON.parse(body.toString('utf8')) as ActivityBody;
      } catch {
        activity = undefined;
      }
      if (activity && typeof activity === 'object' && (locale !== undefined || user)) {
        if (locale !== undefined) rewrite(activity, locale);
        if (user) activity.from = { ...activity.from, id: user.id, name: user.name, aadObjectId: user.aadObjectId };
        body = Buffer.from(JSON.stringify(activity), 'utf8');
      }
    }
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'authorization', 'accept']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const upstream = await fetch(target, { method: req.method, headers, body });
    const answer = Buffer.from(await upstream.arrayBuffer());
    if (activity && typeof activity === 'object') {
      seen.push({
        type: str(activity.type) ?? '?',
        name: str(activity.name),
        text: str(activity.text),
        locale: str(activity.locale),
        fromId: str(activity.from?.id),
        conversationId: str(activity.conversation?.id),
        status: upstream.status,
        answer: answer.toString('utf8').slice(0, 4000),
      });
    }
    const ct = upstream.headers.get('content-type');
    res.writeHead(upstream.status, ct ? { 'content-type': ct } : {});
    res.end(answer);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`locale proxy: ${(e as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/api/messages`,
    setLocale(l) {
      locale = l;
    },
    setUser(u) {
      user = u;
    },
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
