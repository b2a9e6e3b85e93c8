import { createPublicKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Logger } from '../../services/log';

/**
 * Teams SSO for the helpdesk tab (issue #17): the page asks Teams for a token
 * (`authentication.getAuthToken()`), which Entra issues for the app's exposed API
 * (webApplicationInfo: `api://<BOT_DOMAIN>/<app id>`, scope `access_as_user`). Here the token is
 * checked: RS256 with a signing key of the token's tenant (its OpenID keys, cached, fetched again
 * when a token names a key not seen yet), the audience (that resource or the app id), an issuer
 * of an allowed tenant (v1 and v2 forms), the times with a small skew, the scope. The person is
 * the `oid` claim: the same Entra object id as APPROVER_IDS and the chat's aadObjectId.
 */

export const DEFAULT_JWKS_URL = 'https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys';
export const SSO_SCOPE = 'access_as_user';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface TabUser {
  /** the Entra object id (`oid`), lower-case */
  oid: string;
  name?: string;
  tenantId: string;
}

/** Why a token was not accepted: `keys` is ours (the signing keys could not be read), everything else is the caller's (401). */
export type SsoFailure = 'missing' | 'malformed' | 'expired' | 'not-yet-valid' | 'audience' | 'tenant' | 'signature' | 'claims' | 'keys';

export class SsoError extends Error {
  constructor(
    readonly reason: SsoFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SsoError';
  }
}

export interface TabSsoOptions {
  appId: string;
  /** accepted `aud` values: the exposed API's resource (api://<domain>/<app id>) and the app id */
  audiences: string[];
  /** lower-case tenant ids whose users may use the tab; null: any tenant (a multi-tenant bot without ALLOWED_TENANT_IDS) */
  allowedTenantIds: string[] | null;
  /** the signing keys (JWKS) of a tenant, `{tenant}` replaced by its id (TAB_SSO_JWKS_URL: a test hook) */
  jwksUrl?: string;
  logger: Logger;
  /** a key not in the cache is looked up again at most this often per tenant */
  minRefreshInMs?: number;
  /** cached keys are read again after this long */
  maxAgeInMs?: number;
  clockToleranceSeconds?: number;
  now?: () => number;
}

interface TenantKeys {
  keys: Map<string, KeyObject>;
  fetchedAt: number;
}

/** At most this many tenants' keys are cached (a multi-tenant bot without a tenant list). */
const MAX_TENANTS = 50;

export class TabSso {
  private readonly cache = new Map<string, TenantKeys>();
  private readonly inFlight = new Map<string, Promise<TenantKeys>>();
  private readonly now: () => number;

  constructor(private readonly opts: TabSsoOptions) {
    this.now = opts.now ?? (() => Date.now());
  }

  /** The person behind `Authorization: Bearer <token>`, or an SsoError saying why not. */
  async verify(authorization: string | undefined): Promise<TabUser> {
    const m = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i.exec(authorization ?? '');
    if (!authorization) throw new SsoError('missing', 'no Authorization header');
    if (!m) throw new SsoError('malformed', 'the Authorization header is not "Bearer <JWT>"');
    const token = m[1];
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload !== 'object' || decoded.payload === null) throw new SsoError('malformed', 'the token is not a JWT');
    const { header, payload } = decoded;
    if (header.alg !== 'RS256') throw new SsoError('signature', `the token is signed with ${String(header.alg)}, not RS256`);
    if (typeof header.kid !== 'string' || !header.kid) throw new SsoError('signature', 'the token names no signing key');
    const tid = typeof payload.tid === 'string' ? payload.tid.toLowerCase() : '';
    if (!GUID.test(tid)) throw new SsoError('tenant', 'the token has no tenant id');
    if (this.opts.allowedTenantIds && !this.opts.allowedTenantIds.includes(tid)) throw new SsoError('tenant', `tenant ${tid} is not allowed`);
    if (typeof payload.exp !== 'number') throw new SsoError('claims', 'the token has no expiry');
    const key = await this.key(tid, header.kid);
    if (!key) throw new SsoError('signature', 'the token is signed with a key the tenant does not publish');
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, key, {
        algorithms: ['RS256'],
        audience: this.opts.audiences,
        // v2 tokens (accessTokenAcceptedVersion 2) and v1 tokens of the same tenant
        issuer: [`https://login.microsoftonline.com/${tid}/v2.0`, `https://sts.windows.net/${tid}/`],
        clockTolerance: this.opts.clockToleranceSeconds ?? 120,
        clockTimestamp: Math.floor(this.now() / 1000),
      }) as jwt.JwtPayload;
    } catch (e) {
      throw translate(e);
    }
    const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ') : [];
    if (!scopes.includes(SSO_SCOPE)) throw new SsoError('claims', `the token is not for the ${SSO_SCOPE} scope`);
    const oid = typeof claims.oid === 'string' ? claims.oid.toLowerCase() : '';
    if (!GUID.test(oid)) throw new SsoError('claims', 'the token has no user object id (oid)');
    const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : undefined;
    return { oid, tenantId: tid, ...(name ? { name } : {}) };
  }

  /** The tenant's key `kid`: from the cache, else read the keys again (at most every minRefreshInMs). */
  private async key(tenant: string, kid: string): Promise<KeyObject | undefined> {
    const cached = this.cache.get(tenant);
    const age = cached ? this.now() - cached.fetchedAt : Infinity;
    const hit = cached?.keys.get(kid);
    if (hit && age < (this.opts.maxAgeInMs ?? 24 * 3600_000)) return hit;
    // an unknown key: Entra rolled its keys over, or a forged token; read the keys again, not more often than allowed
    if (cached && !hit && age < (this.opts.minRefreshInMs ?? 60_000)) return undefined;
    try {
      return (await this.fetchKeys(tenant)).keys.get(kid);
    } catch (e) {
      if (hit) return hit; // the keys in hand still serve while the endpoint is down
      this.opts.logger.warn({ err: e, tenant }, 'could not read the tenant\'s signing keys for the helpdesk tab');
      throw new SsoError('keys', 'the signing keys could not be read');
    }
  }

  private fetchKeys(tenant: string): Promise<TenantKeys> {
    const running = this.inFlight.get(tenant);
    if (running) return running;
    const url = (this.opts.jwksUrl ?? DEFAULT_JWKS_URL).replace('{tenant}', encodeURIComponent(tenant));
    const work = (async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      const body = (await res.json()) as { keys?: unknown };
      const keys = new Map<string, KeyObject>();
      for (const k of Array.isArray(body.keys) ? body.keys : []) {
        const jwk = k as { kty?: unknown; kid?: unknown; n?: unknown; e?: unknown; use?: unknown };
        if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') continue;
        if (jwk.use !== undefined && jwk.use !== 'sig') continue;
        try {
          keys.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }));
        } catch {
          /* a key we cannot read verifies nothing */
        }
      }
      const entry = { keys, fetchedAt: this.now() };
      this.cache.delete(tenant);
      this.cache.set(tenant, entry);
      while (this.cache.size > MAX_TENANTS) this.cache.delete(this.cache.keys().next().value as string);
      return entry;
    })();
    this.inFlight.set(tenant, work);
    void work.then(
      () => this.inFlight.delete(tenant),
      () => this.inFlight.delete(tenant),
    );
    return work;
  }
}

function translate(e: unknown): SsoError {
  if (e instanceof jwt.TokenExpiredError) return new SsoError('expired', 'the token has expired');
  if (e instanceof jwt.NotBeforeError) return new SsoError('not-yet-valid', 'the token is not valid yet');
  const message = e instanceof Error ? e.message : String(e);
  if (/audience/.test(message)) return new SsoError('audience', 'the token is for another application');
  if (/issuer/.test(message)) return new SsoError('tenant', 'the token was issued by another tenant');
  return new SsoError('signature', 'the token\'s signature is not valid');
}
