import { createHmac, generateKeyPairSync, createSign } from 'node:crypto';
import nock from 'nock';
import { startHarness, type Harness } from '../support/bot-harness';

/** Issue #12 part B at the HTTP door: tenants, local-development mode, forged tokens. */
const TENANT = '00000000-0000-4000-8000-00000000aaaa';
const OTHER_TENANT = '00000000-0000-4000-8000-00000000bbbb';

function message(h: Harness, tenantId?: string): Record<string, unknown> {
  return {
    type: 'message',
    text: 'help',
    channelId: 'msteams',
    serviceUrl: h.connector.url,
    from: { id: '29:u', aadObjectId: '00000000-0000-0000-0000-0000000000c1' },
    recipient: { id: '28:b' },
    conversation: { id: 'a:x', conversationType: 'personal', ...(tenantId ? { tenantId } : {}) },
    ...(tenantId ? { channelData: { tenant: { id: tenantId } } } : {}),
  };
}

describe('tenants (issue #12.5)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 'test-secret', MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: TENANT });
  });
  afterAll(async () => {
    await h.close();
  });

  it("refuses an activity from another tenant than the bot's, and one without a tenant, with 403", async () => {
    const mark = h.mark();
    expect((await h.post(message(h, OTHER_TENANT))).status).toBe(403);
    expect((await h.post(message(h))).status).toBe(403);
    // the bot's own tenant goes on to the token check (no token here: 401)
    expect((await h.post(message(h, TENANT.toUpperCase()))).status).toBe(401);
    expect(h.since(mark)).toEqual([]);
  });
});

describe('ALLOWED_TENANT_IDS', () => {
  it('serves the listed tenants only; without an app id there is no tenant check', async () => {
    const h = await startHarness({ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's', MicrosoftAppType: 'MultiTenant', ALLOWED_TENANT_IDS: `${OTHER_TENANT}` });
    try {
      expect((await h.post(message(h, TENANT))).status).toBe(403);
      expect((await h.post(message(h, OTHER_TENANT))).status).toBe(401);
    } finally {
      await h.close();
    }
    const local = await startHarness({});
    try {
      expect((await local.post(message(local, OTHER_TENANT))).status).toBe(200);
    } finally {
      await local.close();
    }
  });
});

describe('local development (issue #12.8)', () => {
  it('posts only to the connector API of a loopback channel: a serviceUrl with a query or dot segments gets 403 and nothing is sent', async () => {
    const h = await startHarness({});
    try {
      const base = h.connector.url.replace(/\/$/, '');
      for (const serviceUrl of [`${base}/admin/reset?x=`, `${base}/a/../b/`, `${base}/#frag`]) {
        const mark = h.mark();
        const r = await h.post({ ...message(h), serviceUrl });
        expect(r.status).toBe(403);
        expect(h.since(mark)).toEqual([]);
      }
      expect((await h.post(message(h))).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('forged tokens without network (issue #12.9)', () => {
  const APP = '00000000-0000-0000-0000-0000000000b1';
  let h: Harness;
  beforeAll(async () => {
    // no way out: the sign-in metadata (login.botframework.com) cannot be fetched; loopback stays open
    nock.disableNetConnect();
    nock.enableNetConnect((host) => /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host));
    h = await startHarness({ MicrosoftAppId: APP, MicrosoftAppPassword: 'test-secret', MicrosoftAppType: 'MultiTenant' });
  });
  afterAll(async () => {
    await h.close();
    nock.enableNetConnect();
  });

  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = () => ({ iss: 'https://api.botframework.com', aud: APP, exp: Math.floor(Date.now() / 1000) + 3600, nbf: Math.floor(Date.now() / 1000) - 60, serviceurl: h.connector.url });
  const forged: Record<string, () => string> = {
    'alg none': () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`,
    HS256: () => {
      const head = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims())}`;
      return `${head}.${createHmac('sha256', 'test-secret').update(head).digest('base64url')}`;
    },
    'self-signed RS256': () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const head = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'forged-key', x5t: 'forged-key' })}.${b64(claims())}`;
      return `${head}.${createSign('RSA-SHA256').update(head).sign(privateKey).toString('base64url')}`;
    },
  };

  it.each(Object.keys(forged))('%s gets 401, not 500, and the bot sends nothing', async (kind) => {
    const mark = h.mark();
    const r = await h.post({ ...message(h), conversation: { id: 'a:forged', conversationType: 'personal' } }, { authorization: `Bearer ${forged[kind]()}` });
    expect(r.status).toBe(401);
    expect(h.since(mark)).toEqual([]);
  });
});
