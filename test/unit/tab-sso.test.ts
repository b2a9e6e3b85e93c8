import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import jwt from 'jsonwebtoken';
import { SsoError, TabSso } from '../../bot/tab/sso';
import { silentLogger } from '../../services/log';

/**
 * The helpdesk tab's token check (bot/tab/sso.ts), against a local JWKS endpoint: the keys are
 * cached, read again when a token names a key not seen yet (Entra's key rollover), and not more
 * often than allowed; a tenant outside the list never causes a read.
 */
const APP_ID = '00000000-0000-0000-0000-0000000000b1';
const TENANT = '00000000-0000-4000-8000-00000000aaaa';
const USER = '00000000-0000-0000-0000-0000000000a2';

describe('TabSso signing keys', () => {
  let server: Server;
  let url: string;
  let served: Array<{ kid: string; key: KeyObject }>;
  let fetches: string[];
  let failing = false;
  const first = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const second = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    server = createServer((req, res) => {
      fetches.push(req.url ?? '');
      if (failing) {
        res.writeHead(503);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: served.map((k) => ({ ...k.key.export({ format: 'jwk' }), kid: k.kid, use: 'sig' })) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/{tenant}/keys`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });
  beforeEach(() => {
    served = [{ kid: 'k1', key: first.publicKey }];
    fetches = [];
    failing = false;
  });

  let clock = 1_800_000_000_000;
  const sso = (minRefreshInMs: number) =>
    new TabSso({ appId: APP_ID, audiences: [APP_ID], allowedTenantIds: [TENANT], jwksUrl: url, logger: silentLogger, minRefreshInMs, now: () => clock });
  const token = (key: KeyObject, kid: string, claims: Record<string, unknown> = {}) => {
    const now = Math.floor(clock / 1000);
    return `Bearer ${jwt.sign({ aud: APP_ID, iss: `https://login.microsoftonline.com/${TENANT}/v2.0`, tid: TENANT, oid: USER, scp: 'access_as_user', exp: now + 600, nbf: now - 5, ...claims }, key, { algorithm: 'RS256', keyid: kid })}`;
  };
  const reason = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'accepted';
    } catch (e) {
      if (e instanceof SsoError) return e.reason;
      throw e;
    }
  };

  it('reads the keys once, then from the cache', async () => {
    const v = sso(60_000);
    expect(await v.verify(token(first.privateKey, 'k1'))).toEqual({ oid: USER, tenantId: TENANT });
    expect(await v.verify(token(first.privateKey, 'k1'))).toEqual({ oid: USER, tenantId: TENANT });
    expect(fetches).toEqual([`/${TENANT}/keys`]);
  });

  it('reads the keys again for a key it has not seen (a rollover), and accepts the new key', async () => {
    const v = sso(0);
    await v.verify(token(first.privateKey, 'k1'));
    served = [{ kid: 'k1', key: first.publicKey }, { kid: 'k2', key: second.publicKey }];
    expect(await v.verify(token(second.privateKey, 'k2'))).toMatchObject({ oid: USER });
    expect(fetches).toHaveLength(2);
  });

  it('does not read the keys again more often than allowed: an unknown key within that time is refused without a read', async () => {
    const v = sso(60_000);
    await v.verify(token(first.privateKey, 'k1'));
    served = [{ kid: 'k2', key: second.publicKey }];
    expect(await reason(v.verify(token(second.privateKey, 'k2')))).toBe('signature');
    expect(await reason(v.verify(token(second.privateKey, 'k3')))).toBe('signature');
    expect(fetches).toHaveLength(1);
    clock += 61_000;
    expect(await reason(v.verify(token(second.privateKey, 'k2')))).toBe('accepted');
    expect(fetches).toHaveLength(2);
  });

  it('keys it cannot read are a 503 matter ("keys"), not the caller\'s fault; a tenant outside the list is never looked up', async () => {
    failing = true;
    expect(await reason(sso(0).verify(token(first.privateKey, 'k1')))).toBe('keys');
    const before = fetches.length;
    const other = '00000000-0000-4000-8000-00000000bbbb';
    expect(await reason(sso(0).verify(token(first.privateKey, 'k1', { tid: other, iss: `https://login.microsoftonline.com/${other}/v2.0` })))).toBe('tenant');
    expect(fetches).toHaveLength(before);
  });

  it('allows a small clock skew and no more', async () => {
    const v = sso(0);
    const now = Math.floor(clock / 1000);
    expect(await reason(v.verify(token(first.privateKey, 'k1', { exp: now - 60 })))).toBe('accepted');
    expect(await reason(v.verify(token(first.privateKey, 'k1', { exp: now - 600 })))).toBe('expired');
    expect(await reason(v.verify(token(first.privateKey, 'k1', { nbf: now + 60 })))).toBe('accepted');
    expect(await reason(v.verify(token(first.privateKey, 'k1', { nbf: now + 600 })))).toBe('not-yet-valid');
  });
});
