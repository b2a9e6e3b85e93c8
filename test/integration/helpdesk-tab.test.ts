import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import jwt from 'jsonwebtoken';
import { startHarness, type Harness } from '../support/bot-harness';
import { cardText } from '../support/connector';
import { activity, diagnoseAs, requestFixAs, type User } from '../support/journey';

/**
 * The helpdesk tab (issue #17) over real HTTP: its page and JSON API on the bot's own server.
 * What happened to a VM is read from the simulator's operation log once the queue has drained.
 */
const endUser: User = { userId: '29:tab-user', aadObjectId: '00000000-0000-0000-0000-0000000000a1', name: 'Alex User', conversationId: 'a:tab-user' };
const approver: User = { userId: '29:tab-approver', aadObjectId: '00000000-0000-0000-0000-0000000000a2', name: 'Helpdesk Hana', conversationId: 'a:tab-approver' };
const stranger = '00000000-0000-0000-0000-0000000000a9';
const UNKNOWN_APPROVAL = '00000000-0000-4000-8000-00000000dead';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  text: string;
}

async function call(base: string, path: string, opts: { method?: string; as?: string; token?: string; body?: string; contentType?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.as) headers['X-Tab-As'] = opts.as;
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${base}${path}`, { method: opts.method ?? 'GET', headers, body: opts.body });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* the page is HTML */
  }
  return { status: res.status, headers: res.headers, body, text };
}

const verbsOf = (card: unknown): string[] => [...JSON.stringify(card).matchAll(/"verb":"([\w.]+)"/g)].map((m) => m[1]);

describe('helpdesk tab without an app id (local development)', () => {
  let h: Harness;
  let base: string;
  let approvalId: string;
  let incidentId: string;
  const ops = (vm: string) => h.app.azure.simulator!.operations().filter((o) => o.vm === vm && o.kind !== 'read');
  const fixOps = async (vm: string) => {
    await h.drained();
    return ops(vm).map((o) => `${o.kind}:${o.scriptId ?? ''}`);
  };

  beforeAll(async () => {
    h = await startHarness({ APPROVER_IDS: approver.aadObjectId });
    base = `http://127.0.0.1:${h.port}`;
    // the approver has chatted once: the bot knows their name and can reach them
    const mark = h.mark();
    await h.post(activity(h, approver, { type: 'message', text: 'help' }));
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === approver.conversationId));
    ({ incidentId } = await diagnoseAs(h, endUser, 'Internal error when I RDP to vm-tlsoff-06'));
    approvalId = await requestFixAs(h, endUser, approver, incidentId, 'enable-tls', { tls10: 'false', tls11: 'false' });
  });
  afterAll(async () => {
    await h.close();
  });

  it('serves the page with its security headers, its words from the catalogue and no inline script', async () => {
    const page = await call(base, '/tab', { headers: { 'Accept-Language': 'ru-RU,ru;q=0.9,en;q=0.5' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/frame-ancestors [^;]*https:\/\/teams\.microsoft\.com [^;]*https:\/\/\*\.teams\.microsoft\.com [^;]*https:\/\/\*\.cloud\.microsoft/);
    expect(csp).toContain(`http://localhost:${h.port}`);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.text).toContain('<html lang="ru">');
    expect(page.text).toContain('Открытые инциденты');
    // every script is a file of this server: no inline code
    const scripts = [...page.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => /src="(\/tab\/static\/[\w.]+)"/.exec(m[1])?.[1])).toEqual(['/tab/static/MicrosoftTeams.min.js', '/tab/static/adaptivecards.min.js', '/tab/static/tab.js']);
    expect(scripts.every((m) => m[2].trim() === '')).toBe(true);
    for (const file of ['MicrosoftTeams.min.js', 'adaptivecards.min.js', 'tab.js', 'tab.css']) {
      const asset = await call(base, `/tab/static/${file}`);
      expect([file, asset.status]).toEqual([file, 200]);
      expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
    }
    expect((await call(base, '/tab/static/..%2Fpackage.json')).status).toBe(404);
    expect((await call(base, '/tab/static/index.html')).status).toBe(404);
  });

  it('asks for a user: no development identity is 401 with a sentence, a valid one is the user, in their language', async () => {
    const none = await call(base, '/tab/api/me');
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/\?as=/);
    expect((await call(base, '/tab/api/me', { as: 'not-a-guid' })).status).toBe(401);
    const me = await call(base, '/tab/api/me?lang=ru', { as: approver.aadObjectId });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { id: approver.aadObjectId, name: 'Helpdesk Hana' }, approver: true, lang: 'ru' });
    expect((me.body.strings as Record<string, string>).approvals).toBe('Ожидают согласования');
    const other = await call(base, '/tab/api/me', { as: stranger, headers: { 'Accept-Language': 'en-US' } });
    expect(other.body).toMatchObject({ user: { id: stranger }, approver: false, lang: 'en' });
  });

  it('lists open incidents, pending approvals (the approver\'s view for approvers) and a VM\'s audit trail with the chat\'s cards', async () => {
    const incidents = await call(base, '/tab/api/incidents', { as: approver.aadObjectId });
    expect(incidents.status).toBe(200);
    expect(cardText(incidents.body.card)).toMatch(/vm-tlsoff-06/);
    expect(incidents.body.vms).toEqual(['vm-tlsoff-06']);

    const listed = await call(base, '/tab/api/approvals', { as: approver.aadObjectId });
    const cards = listed.body.approvals as Array<{ approvalId: string; card: unknown }>;
    expect(cards.map((c) => c.approvalId)).toEqual([approvalId]);
    expect(cardText(cards[0].card)).toMatch(/Fix request: Enable TLS 1.2/);
    expect(verbsOf(cards[0].card)).toEqual(expect.arrayContaining(['approval.approve', 'approval.reject']));
    // the requester sees their own request, without the decision; a stranger sees none
    const mine = (await call(base, '/tab/api/approvals', { as: endUser.aadObjectId })).body.approvals as Array<{ card: unknown }>;
    expect(mine).toHaveLength(1);
    expect(verbsOf(mine[0].card)).not.toContain('approval.approve');
    expect((await call(base, '/tab/api/approvals', { as: stranger })).body.approvals).toEqual([]);
    expect((await call(base, `/tab/api/approvals/${approvalId}`, { as: stranger })).status).toBe(403);
    expect((await call(base, '/tab/api/incidents', { as: stranger })).body.vms).toEqual([]);

    const audit = await call(base, '/tab/api/audit?vm=vm-tlsoff-06', { as: approver.aadObjectId });
    expect(audit.status).toBe(200);
    expect(cardText(audit.body.card)).toMatch(/approval\.requested[\s\S]*diagnosis\.completed/);
    const refused = await call(base, '/tab/api/audit?vm=vm-tlsoff-06', { as: endUser.aadObjectId });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/Only helpdesk approvers/);
    expect((await call(base, '/tab/api/audit?vm=', { as: approver.aadObjectId })).status).toBe(400);
    expect((await call(base, '/tab/api/audit?vm=no-such-vm-xyz', { as: approver.aadObjectId })).status).toBe(404);
    expect((await call(base, '/tab/api/sweeps', { as: approver.aadObjectId })).body).toEqual({ sweeps: [] });
    expect((await call(base, '/tab/api/sweeps', { as: endUser.aadObjectId })).status).toBe(403);
  });

  it('answers bad input with 4xx and a sentence, and changes nothing', async () => {
    const before = await h.app.store.audit.list({ incidentId, limit: 1000 });
    const approve = (id: string, body: string | undefined, contentType?: string) => call(base, `/tab/api/approvals/${id}/approve`, { method: 'POST', as: approver.aadObjectId, body, contentType });
    const unknown = await approve(UNKNOWN_APPROVAL, '{}');
    expect([unknown.status, unknown.body.error]).toEqual([404, expect.stringMatching(/does not exist/)]);
    expect((await approve('not-an-id', '{}')).status).toBe(400);
    const text = await approve(approvalId, 'approve', 'text/plain');
    expect([text.status, text.body.error]).toEqual([415, expect.stringMatching(/application\/json/)]);
    const form = await approve(approvalId, 'reason=x', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    const broken = await approve(approvalId, '{"reason":');
    expect([broken.status, broken.body.error]).toEqual([400, 'The request body is not valid JSON.']);
    expect((await approve(approvalId, '{"approvalId":"x","force":true}')).status).toBe(400);
    expect((await approve(approvalId, '[]')).status).toBe(400);
    const missing = await call(base, '/tab/api/nothing-here', { as: approver.aadObjectId });
    expect([missing.status, missing.body.error]).toEqual([404, expect.stringMatching(/no such address/)]);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('pending');
    expect(await fixOps('vm-tlsoff-06')).toEqual(['runCommand:diagnose']);
    // an unknown id is recorded as a refusal (as the card verb does); nothing about this incident changed
    expect(await h.app.store.audit.list({ incidentId, limit: 1000 })).toEqual(before);
  });

  it("refuses a non-approver's Approve with 403 and runs nothing", async () => {
    const r = await call(base, `/tab/api/approvals/${approvalId}/approve`, { method: 'POST', as: stranger, body: '{}' });
    expect(r.status).toBe(403);
    expect(r.body.error).toMatch(/only configured helpdesk approvers can decide/);
    // the requester is no approver either
    expect((await call(base, `/tab/api/approvals/${approvalId}/reject`, { method: 'POST', as: endUser.aadObjectId, body: '{}' })).status).toBe(403);
    expect(await fixOps('vm-tlsoff-06')).toEqual(['runCommand:diagnose']);
    expect((await h.app.store.approvals.get(approvalId))?.state).toBe('pending');
    const refused = (await h.app.store.audit.list({ incidentId })).filter((a) => a.action === 'approval.refused');
    expect(refused.map((a) => [a.actor, a.details?.reason])).toEqual([
      [stranger, 'not-approver'],
      [endUser.aadObjectId, 'not-approver'],
    ]);
  });

  it("an approver's Approve queues the fix once; a second Approve is 409; the fix runs once (operation log)", async () => {
    const mark = h.mark();
    const [first, second] = await Promise.all([
      call(base, `/tab/api/approvals/${approvalId}/approve`, { method: 'POST', as: approver.aadObjectId, body: '{}' }),
      call(base, `/tab/api/approvals/${approvalId}/approve`, { method: 'POST', as: approver.aadObjectId, body: '' }),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const ok = first.status === 200 ? first : second;
    const late = first.status === 200 ? second : first;
    expect(ok.body).toMatchObject({ approvalId, outcome: 'decided', state: 'approved' });
    expect(ok.body.message).toMatch(/Approved: Enable TLS 1.2 .* on vm-tlsoff-06 is queued/);
    expect(late.body.error).toMatch(/already decided: approved/);
    expect(cardText(late.body.card)).toMatch(/Fix request: Enable TLS 1.2/);
    const again = await call(base, `/tab/api/approvals/${approvalId}/approve`, { method: 'POST', as: approver.aadObjectId, body: '{}' });
    expect(again.status).toBe(409);
    expect(await fixOps('vm-tlsoff-06')).toEqual(['runCommand:diagnose', 'snapshot:', 'runCommand:fix-enable-tls', 'restart:', 'runCommand:diagnose']);
    const jobs = (await h.app.store.jobs.listByState(['queued', 'running', 'succeeded', 'failed', 'interrupted'])).filter((j) => j.approvalId === approvalId);
    expect(jobs).toHaveLength(1);
    // the requester hears it in the chat, as after a click on the card
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId && /was approved by Helpdesk Hana/.test(c.activity.text ?? '')));
    const approved = (await h.app.store.audit.list({ incidentId })).filter((a) => a.action === 'approval.approved');
    expect(approved.map((a) => a.actor)).toEqual([approver.aadObjectId]);
  });

  it('an approver rejects with a reason: nothing runs, the requester is told the reason', async () => {
    const { incidentId: second } = await diagnoseAs(h, endUser, 'Internal error when I RDP to vm-rdpoff-21');
    const id = await requestFixAs(h, endUser, approver, second, 'allow-rdp-connections');
    const mark = h.mark();
    const r = await call(base, `/tab/api/approvals/${id}/reject?lang=ru`, { method: 'POST', as: approver.aadObjectId, body: JSON.stringify({ reason: 'maintenance window tonight' }) });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ outcome: 'decided', state: 'rejected' });
    expect(r.body.message).toMatch(/^Отклонено: на vm-rdpoff-21 ничего не изменится/);
    expect(cardText(r.body.card)).toMatch(/Отклонено|Rejected/);
    await h.connector.waitFor((all) => all.slice(mark).find((c) => c.conversationId === endUser.conversationId && /maintenance window tonight/.test(c.activity.text ?? '')));
    expect(await fixOps('vm-rdpoff-21')).toEqual(['runCommand:diagnose']);
    expect((await h.app.store.approvals.get(id))?.reason).toBe('maintenance window tonight');
    expect((await call(base, `/tab/api/approvals/${id}/approve`, { method: 'POST', as: approver.aadObjectId, body: '{}' })).status).toBe(409);
    expect(await fixOps('vm-rdpoff-21')).toEqual(['runCommand:diagnose']);
  });
});

/** The machine's first address that is not loopback (the caller the tab must refuse without an app id). */
function externalAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return undefined;
}

describe('helpdesk tab without an app id, reached from another address', () => {
  const address = externalAddress();
  (address ? it : it.skip)('is refused with 403 to a caller that is not on this machine, and served on loopback', async () => {
    const h = await startHarness({ HOST: '0.0.0.0', APPROVER_IDS: approver.aadObjectId });
    try {
      for (const path of ['/tab', '/tab/api/me', '/tab/static/tab.js']) {
        const r = await call(`http://${address}:${h.port}`, path, { as: approver.aadObjectId });
        expect([path, r.status]).toEqual([path, 403]);
        expect(r.body.error).toMatch(/this machine only/);
      }
      const post = await call(`http://${address}:${h.port}`, `/tab/api/approvals/${UNKNOWN_APPROVAL}/approve`, { method: 'POST', as: approver.aadObjectId, body: '{}' });
      expect(post.status).toBe(403);
      expect((await call(`http://127.0.0.1:${h.port}`, '/tab/api/me', { as: approver.aadObjectId })).status).toBe(200);
    } finally {
      await h.close();
    }
  });
});

describe('helpdesk tab with an app id: Teams SSO tokens', () => {
  const APP_ID = '00000000-0000-0000-0000-0000000000b1';
  const TENANT = '00000000-0000-4000-8000-00000000aaaa';
  const OTHER_TENANT = '00000000-0000-4000-8000-00000000bbbb';
  const DOMAIN = 'rdp-doctor.example.com';
  let h: Harness;
  let jwks: Server;
  let keyFetches: string[];
  let base: string;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });

  const mint = (claims: Record<string, unknown> = {}, opts: { key?: KeyObject; kid?: string; algorithm?: jwt.Algorithm; secret?: string } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      aud: `api://${DOMAIN}/${APP_ID}`,
      iss: `https://sts.windows.net/${TENANT}/`,
      tid: TENANT,
      oid: approver.aadObjectId,
      name: 'Helpdesk Hana (SSO)',
      scp: 'access_as_user',
      iat: now - 10,
      nbf: now - 10,
      exp: now + 3600,
      ...claims,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined) delete (payload as Record<string, unknown>)[k];
    if (opts.secret) return jwt.sign(payload, opts.secret, { algorithm: 'HS256', header: { alg: 'HS256', kid: 'k1' } as jwt.JwtHeader });
    return jwt.sign(payload, opts.key ?? privateKey, { algorithm: opts.algorithm ?? 'RS256', keyid: opts.kid ?? 'k1' });
  };

  beforeAll(async () => {
    keyFetches = [];
    jwks = createServer((req, res) => {
      keyFetches.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const port = (jwks.address() as { port: number }).port;
    h = await startHarness({
      MicrosoftAppId: APP_ID,
      MicrosoftAppPassword: 'test-secret',
      MicrosoftAppTenantId: TENANT,
      PUBLIC_BASE_URL: `https://${DOMAIN}`,
      APPROVER_IDS: approver.aadObjectId,
      TAB_SSO_JWKS_URL: `http://127.0.0.1:${port}/{tenant}/discovery/v2.0/keys`,
    });
    base = `http://127.0.0.1:${h.port}`;
  });
  afterAll(async () => {
    await h.close();
    await new Promise((r) => jwks.close(r));
  });

  it('takes a valid token (v1 and v2 forms) as the user of its oid, reading the tenant\'s keys once', async () => {
    const v1 = await call(base, '/tab/api/me', { token: mint() });
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({ user: { id: approver.aadObjectId, name: 'Helpdesk Hana (SSO)' }, approver: true });
    const v2 = await call(base, '/tab/api/me', { token: mint({ aud: APP_ID, iss: `https://login.microsoftonline.com/${TENANT}/v2.0`, oid: stranger, name: 'Somebody' }) });
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ user: { id: stranger }, approver: false });
    expect((await call(base, '/tab/api/approvals', { token: mint() })).status).toBe(200);
    expect(keyFetches).toEqual([`/${TENANT}/discovery/v2.0/keys`]);
    // the page is served to anyone (Teams frames it); its API is what needs the token
    expect((await call(base, '/tab')).status).toBe(200);
  });

  const refused: Array<[string, () => string | undefined, RegExp]> = [
    ['no token', () => undefined, /no Teams sign-in token/],
    ['not a JWT', () => 'abc.def', /not "Bearer <JWT>"|not a JWT/],
    ['an expired token', () => mint({ exp: Math.floor(Date.now() / 1000) - 600 }), /expired/],
    ['a token not valid yet', () => mint({ nbf: Math.floor(Date.now() / 1000) + 900 }), /not valid yet/],
    ['a token for another application', () => mint({ aud: 'api://elsewhere.example.com/00000000-0000-0000-0000-0000000000ff' }), /another application/],
    ['a token of a tenant that is not allowed', () => mint({ tid: OTHER_TENANT, iss: `https://sts.windows.net/${OTHER_TENANT}/` }), /not allowed/],
    ['a token whose issuer is another tenant', () => mint({ iss: `https://sts.windows.net/${OTHER_TENANT}/` }), /another tenant/],
    ['a token signed by another key under the same kid', () => mint({}, { key: other.privateKey }), /signature/],
    ['a token signed by a key the tenant does not publish', () => mint({}, { key: other.privateKey, kid: 'k-unknown' }), /does not publish/],
    ['an HS256 token', () => mint({}, { secret: 'shared-secret' }), /not RS256/],
    ['a token without the access_as_user scope', () => mint({ scp: 'User.Read' }), /access_as_user/],
    ['a token without oid', () => mint({ oid: undefined }), /oid/],
    ['a token without expiry', () => mint({ exp: undefined }), /no expiry/],
  ];
  it.each(refused)('refuses %s with 401 and a sentence', async (_what, token, detail) => {
    for (const path of ['/tab/api/me', '/tab/api/approvals']) {
      const r = await call(base, path, { token: token() });
      expect([path, r.status]).toEqual([path, 401]);
      expect(r.body.error).toMatch(detail);
    }
    const post = await call(base, `/tab/api/approvals/${UNKNOWN_APPROVAL}/approve`, { method: 'POST', token: token(), body: '{}' });
    expect(post.status).toBe(401);
  });

  it('refuses the development identity when an app id is set, even with a valid token', async () => {
    const r = await call(base, '/tab/api/me', { as: approver.aadObjectId });
    expect(r.status).toBe(401);
    expect(r.body.error).toMatch(/not accepted when the bot has an app id/);
    expect((await call(base, '/tab/api/me', { as: approver.aadObjectId, token: mint() })).status).toBe(401);
  });
});
