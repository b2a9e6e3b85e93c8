import type restify from 'restify';
import { z } from 'zod';
import { historyCard } from '../../dialogs/history';
import { statusCard } from '../../dialogs/helpdesk-commands';
import { decideApproval, type ApprovalDecisionDeps } from '../../dialogs/approval-decision';
import { errorText } from '../../dialogs/error-text';
import type { FixPresenter } from '../../dialogs/fix-presenter';
import type { SweepPresenter } from '../../dialogs/sweep-presenter';
import { VM_RESOURCE_ID } from '../../services/azure/arm-ids';
import { isDomainError, type DomainError } from '../../services/errors';
import { allCatalogues, isTimeZone, translator, UTC, type Lang, type Translate } from '../../services/i18n';
import type { ApprovalService } from '../../services/incidents/approvals';
import { samePerson } from '../../services/incidents/identity';
import type { IncidentService } from '../../services/incidents/incident-service';
import type { Person } from '../../services/incidents/model';
import type { Logger } from '../../services/log';
import type { AppStore } from '../../services/store/store';
import type { Config } from '../config';
import { acceptLanguage } from '../server';
import type { RouteRegistrar } from '../surfaces';
import { SsoError, TabSso } from './sso';
import { frameAncestors, isLoopbackAddress, securityHeaders, tabAsset, tabPage } from './static';

/**
 * The helpdesk tab (issue #17; docs/teams-surfaces.md, "Helpdesk tab"): a page at `/tab` and its
 * JSON API at `/tab/api/...`, on the bot's own server. Every list is the chat's own card, built by
 * the chat's code (the status card, the approval card per viewer, the history card, the sweep
 * digest); Approve and Reject go through decideApproval, as the card verbs do.
 *
 * Who calls: with an app id, the Teams SSO token (bot/tab/sso.ts); without one (local
 * development), callers on this machine only, as the person named by the `X-Tab-As` header.
 */
export interface HelpdeskTabDeps extends ApprovalDecisionDeps {
  config: Config;
  logger: Logger;
  store: AppStore;
  incidents: IncidentService;
  approvals: ApprovalService;
  presenter: FixPresenter;
  sweepPresenter: SweepPresenter;
  /** where people's browsers reach the bot (the SSO audience's domain, the frame-ancestors' local origin) */
  publicBaseUrl: () => string;
  /** lower-case tenant ids whose users' tokens are accepted (allowedTenants(config) in bot/app.ts); null: any */
  allowedTenantIds: string[] | null;
  /** a ready verifier (tests); default: built from the configuration on first use */
  sso?: TabSso;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LISTED_APPROVALS = 20;
const LISTED_SWEEPS = 5;

const decisionBody = z.object({ reason: z.string().max(2000).optional() }).strict();
const auditQuery = z.union([
  z.object({ vm: z.string().trim().min(1).max(200) }).strict(),
  z.object({ vmId: z.string().max(400).regex(VM_RESOURCE_ID), beforeSeq: z.coerce.number().int().min(1).max(1e15).optional() }).strict(),
]);

/** A refusal or bad input, answered with its status and one sentence for the page to show. */
class TabRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

interface Caller {
  person: Person;
  lang: Lang;
  tz: string;
  t: Translate;
  approver: boolean;
}

type Handler = (req: restify.Request, caller: Caller) => Promise<Record<string, unknown>>;

export function helpdeskTab(deps: HelpdeskTabDeps): RouteRegistrar {
  const { config, logger, store, approvals, presenter } = deps;
  const appId = config.MicrosoftAppId;
  let sso = deps.sso;
  const verifier = (): TabSso => {
    if (!sso) {
      const domain = new URL(deps.publicBaseUrl()).host;
      sso = new TabSso({
        appId,
        audiences: [`api://${domain}/${appId}`, appId],
        allowedTenantIds: deps.allowedTenantIds,
        jwksUrl: config.TAB_SSO_JWKS_URL,
        logger,
      });
    }
    return sso;
  };

  const langOf = (req: restify.Request): Lang => {
    const asked = queryOf(req).lang;
    return asked === 'en' || asked === 'ru' ? asked : acceptLanguage(req.header('accept-language'));
  };

  /** The person calling, or a refusal (401/403) in the caller's language. */
  const callerOf = async (req: restify.Request): Promise<Caller> => {
    const lang = langOf(req);
    const rawTz = queryOf(req).tz;
    const tz = isTimeZone(rawTz) ? rawTz : UTC;
    const t = translator(lang, tz);
    const devAs = req.header('x-tab-as');
    let person: Person;
    if (appId) {
      if (devAs) throw new TabRefusal(401, t('tab.api.devIdentityRefused'));
      try {
        const user = await verifier().verify(req.header('authorization'));
        person = { id: user.oid, aadObjectId: user.oid, ...(user.name ? { name: user.name } : {}) };
      } catch (e) {
        if (!(e instanceof SsoError)) throw e;
        logger.info({ reason: e.reason, detail: e.message }, 'helpdesk tab: sign-in refused');
        if (e.reason === 'keys') throw new TabRefusal(503, t('tab.api.keysUnavailable'));
        throw new TabRefusal(401, e.reason === 'missing' ? t('tab.api.noToken') : t('tab.api.badToken', { detail: e.message }), { reason: e.reason });
      }
    } else {
      if (!devAs || !GUID.test(devAs)) throw new TabRefusal(401, t('tab.api.noIdentity'));
      const known = await store.users.findByAadObjectId(devAs.toLowerCase());
      person = { id: devAs.toLowerCase(), aadObjectId: devAs.toLowerCase(), ...(known?.name ? { name: known.name } : {}) };
    }
    return { person, lang, tz, t, approver: approvals.isApprover(person) };
  };

  /** Loopback-only without an app id: every /tab address says so to anyone else. */
  const reachable = (req: restify.Request, res: restify.Response): boolean => {
    if (appId || isLoopbackAddress(req.socket?.remoteAddress)) return true;
    logger.warn({ remote: req.socket?.remoteAddress }, 'helpdesk tab refused to a caller not on this machine (no app id)');
    json(res, 403, { error: translator(langOf(req), UTC)('tab.api.loopbackOnly') });
    return false;
  };

  const json = (res: restify.Response, status: number, body: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(securityHeaders(frameAncestors(deps.publicBaseUrl())))) res.header(k, v);
    res.header('Cache-Control', 'no-store');
    res.send(status, body);
  };

  const api = (handler: Handler) => async (req: restify.Request, res: restify.Response) => {
    if (!reachable(req, res)) return;
    try {
      const caller = await callerOf(req);
      json(res, 200, await handler(req, caller));
    } catch (e) {
      if (e instanceof TabRefusal) {
        json(res, e.status, { error: e.message, ...e.extra });
        return;
      }
      logger.error({ err: e, path: req.path() }, 'helpdesk tab API failed');
      json(res, 500, { error: translator(langOf(req), UTC)('tab.api.internal') });
    }
  };

  /** A domain error of the services as the tab answers it: the chat's sentence, with the status that fits. */
  const refusalOf = (t: Translate, e: DomainError): TabRefusal => {
    const detail = typeof e.params.detailKey === 'string' ? e.params.detailKey : '';
    const status =
      detail === 'approval.unknown' ? 404
      : e.code === 'not-allowed' || detail === 'approval.self' || detail === 'plans.twoPerson.sameApprover' ? 403
      : e.code === 'rate-limited' ? 429
      : e.code === 'bad-input' ? 400
      : 409;
    return new TabRefusal(status, errorText(t, e));
  };

  const approvalIdOf = (req: restify.Request, t: Translate): string => {
    const id = String((req.params as Record<string, unknown>).id ?? '');
    if (!GUID.test(id)) throw new TabRefusal(400, t('tab.api.badId'));
    return id;
  };

  const decide = (decision: 'approve' | 'reject'): Handler => async (req, { person, lang, tz, t, approver }) => {
    const approvalId = approvalIdOf(req, t);
    // a JSON body only: a form post from another site cannot reach here without a CORS preflight
    if (!/^application\/json$/i.test(req.contentType() ?? '')) throw new TabRefusal(415, t('tab.api.jsonOnly'));
    const body = decisionBody.safeParse(req.body ?? {});
    if (!body.success) throw new TabRefusal(400, t('tab.api.badBody', { detail: body.error.issues[0]?.message ?? '' }));
    let result;
    try {
      result = await decideApproval(deps, person, approvalId, decision, decision === 'reject' ? body.data.reason : undefined);
    } catch (e) {
      if (isDomainError(e)) throw refusalOf(t, e);
      throw e;
    }
    const a = result.approval;
    const card = await presenter.card(a, presenter.viewFor(a, person), lang, tz, approver);
    const named = { fix: t(`fixes.${a.fixId}.title`), vm: a.vmName };
    if (result.outcome === 'already') throw new TabRefusal(409, t('tab.api.already', { state: t(`tab.state.${a.state}`) }), { approvalId: a.id, card });
    const message = result.outcome === 'voted' ? t('tab.api.voted', named) : t(decision === 'approve' ? 'tab.api.approved' : 'tab.api.rejected', named);
    return { approvalId: a.id, outcome: result.outcome, state: a.state, message, card };
  };

  return (server) => {
    // restify's own refusals (unknown address, not JSON, body too large) in the tab's shape and language
    server.on('restifyError', (req: restify.Request, _res: restify.Response, err: Error & { statusCode?: number; toJSON?: () => unknown }, cb: () => void) => {
      if (!/^\/tab(\/|$)/.test(req.path?.() ?? '')) return cb();
      const t = translator(langOf(req), UTC);
      const status = err.statusCode ?? 500;
      const message =
        status === 404 ? t('tab.api.notFound')
        : status === 415 ? t('tab.api.jsonOnly')
        : status === 413 ? t('tab.api.tooLarge')
        : status === 400 && /JSON/i.test(err.message) ? t('tab.api.badJson')
        : status >= 500 ? t('tab.api.internal')
        : err.message;
      err.toJSON = () => ({ error: message });
      return cb();
    });

    server.get('/tab', async (req, res) => {
      if (!reachable(req, res)) return;
      const body = Buffer.from(tabPage(langOf(req)), 'utf8');
      res.writeHead(200, {
        ...securityHeaders(frameAncestors(deps.publicBaseUrl())),
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Length': body.length,
        'Cache-Control': 'no-store',
      });
      res.end(body);
    });

    server.get('/tab/static/:file', async (req, res) => {
      if (!reachable(req, res)) return;
      const asset = tabAsset(String((req.params as Record<string, unknown>).file ?? ''));
      if (!asset) {
        json(res, 404, { error: translator(langOf(req), UTC)('tab.api.notFound') });
        return;
      }
      res.writeHead(200, {
        ...securityHeaders(frameAncestors(deps.publicBaseUrl())),
        'Content-Type': asset.type,
        'Content-Length': asset.body.length,
        'Cache-Control': 'no-cache',
      });
      res.end(asset.body);
    });

    server.get('/tab/api/me', api(async (_req, { person, lang, approver }) => ({
      user: { id: person.aadObjectId, name: person.name ?? person.aadObjectId },
      approver,
      lang,
      strings: pageStrings(lang),
    })));

    server.get('/tab/api/incidents', api(async (_req, { person, t, approver }) => {
      const open = await deps.incidents.listOpen(100);
      const mine = approver ? open : open.filter((i) => samePerson(i.requester, person));
      const vms = new Map<string, string>();
      for (const i of mine) if (i.vmId && i.vmName) vms.set(i.vmId.toLowerCase(), i.vmName);
      return { card: await statusCard(t, deps, person), vms: [...vms.values()].sort() };
    }));

    server.get('/tab/api/approvals', api(async (_req, { person, lang, tz, approver }) => {
      const now = Date.now();
      // approvers see every request waiting; anyone else their own (the chat's `status` rule)
      const pending = (await approvals.listPending(100, 'newest'))
        .filter((a) => Date.parse(a.expiresAt) > now)
        .filter((a) => approver || samePerson(a.requester, person))
        .slice(0, LISTED_APPROVALS);
      const cards = await Promise.all(pending.map(async (a) => ({ approvalId: a.id, card: await presenter.card(a, presenter.viewFor(a, person), lang, tz, approver) })));
      return { approvals: cards };
    }));

    server.get('/tab/api/approvals/:id', api(async (req, { person, lang, tz, t, approver }) => {
      const id = approvalIdOf(req, t);
      const a = await store.approvals.get(id);
      if (!a) throw new TabRefusal(404, t('approval.unknown'));
      if (!approver && !samePerson(a.requester, person)) throw new TabRefusal(403, t('tab.api.onlyYours'));
      return { approvalId: a.id, card: await presenter.card(a, presenter.viewFor(a, person), lang, tz, approver) };
    }));

    server.post('/tab/api/approvals/:id/approve', api(decide('approve')));
    server.post('/tab/api/approvals/:id/reject', api(decide('reject')));

    server.get('/tab/api/audit', api(async (req, { person, t, approver }) => {
      if (!approver) throw new TabRefusal(403, t('history.onlyHelpdesk'));
      const { lang: _l, tz: _z, ...rest } = queryOf(req);
      void _l;
      void _z;
      const q = auditQuery.safeParse(rest);
      if (!q.success) throw new TabRefusal(400, t('tab.api.badQuery', { detail: 'vm=<name> or vmId=<resource id>[&beforeSeq=<n>]' }));
      if ('vmId' in q.data) {
        const name = q.data.vmId.split('/').pop() ?? q.data.vmId;
        return { vm: name, card: await historyCard(t, store, { id: q.data.vmId, name }, q.data.beforeSeq) };
      }
      let vms;
      try {
        vms = await deps.incidents.resolveVmFor(person, q.data.vm);
      } catch (e) {
        if (isDomainError(e)) throw new TabRefusal(e.code === 'rate-limited' ? 429 : 400, errorText(t, e, { what: q.data.vm, vm: q.data.vm }));
        throw e;
      }
      if (vms.length === 0) throw new TabRefusal(404, t('tab.api.noMatch', { query: q.data.vm }));
      if (vms.length > 1) throw new TabRefusal(409, t('tab.api.tooMany', { query: q.data.vm, count: vms.length }));
      return { vm: vms[0].name, card: await historyCard(t, store, vms[0]) };
    }));

    server.get('/tab/api/sweeps', api(async (_req, { lang, tz, t, approver }) => {
      if (!approver) throw new TabRefusal(403, t('sweepUi.cmd.notApproverList'));
      const recent = await store.sweeps.list(LISTED_SWEEPS);
      const cards = await Promise.all(
        recent.map(async (d) => {
          const who = d.startedBy === 'schedule' ? undefined : ((await store.users.findByAadObjectId(d.startedBy)) ?? (await store.users.get(d.startedBy)))?.name || d.startedBy;
          return { sweepId: d.id, card: deps.sweepPresenter.card(d, lang, tz, who) };
        }),
      );
      return { sweeps: cards };
    }));
  };
}

/** The query string's parameters (restify parses none: the server has no queryParser); a repeated name keeps its last value. */
function queryOf(req: restify.Request): Record<string, string> {
  return Object.fromEntries(new URL(req.url ?? '/', 'http://localhost').searchParams);
}

/** The page's own words (`tab.page.*`), for the script to show in the reader's language. */
function pageStrings(lang: Lang): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, text] of allCatalogues()[lang]) if (key.startsWith('tab.page.')) out[key.slice('tab.page.'.length)] = text;
  return out;
}
