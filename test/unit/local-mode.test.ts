import { assertBotExposure, ConfigError, loadConfig } from '../../bot/config';
import { isLocalConnectorUrl } from '../../bot/server';

/** Issue #12.8: local development (no app id) is closed to everyone but this machine's connector. */
describe('local-development mode', () => {
  it('binds 127.0.0.1 by default without an app id, 0.0.0.0 with one, and HOST wins', () => {
    expect(loadConfig({}).HOST).toBe('127.0.0.1');
    expect(loadConfig({ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's', MicrosoftAppTenantId: '00000000-0000-0000-0000-0000000000c1' }).HOST).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
  });

  it('refuses real Azure subscriptions without an app id in one line, unless ALLOW_UNAUTHENTICATED=true', () => {
    const subs = { AZURE_SUBSCRIPTION_IDS: '00000000-0000-0000-0000-000000000001' };
    let err: unknown;
    try {
      assertBotExposure(loadConfig(subs));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^AZURE_SUBSCRIPTION_IDS: .*MicrosoftAppId.*ALLOW_UNAUTHENTICATED=true/);
    expect((err as Error).message).not.toContain('\n');
    expect(() => assertBotExposure(loadConfig({ ...subs, ALLOW_UNAUTHENTICATED: 'true' }))).not.toThrow();
    expect(() => assertBotExposure(loadConfig({ ...subs, MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's', MicrosoftAppTenantId: '00000000-0000-0000-0000-0000000000c1' }))).not.toThrow();
    // a loopback ARM endpoint is the simulator, not real Azure; demo mode has no subscription
    expect(() => assertBotExposure(loadConfig({ ...subs, AZURE_ARM_ENDPOINT: 'https://127.0.0.1:8443' }))).not.toThrow();
    expect(() => assertBotExposure(loadConfig({}))).not.toThrow();
  });

  it.each([
    ['http://127.0.0.1:3000/', true],
    ['http://127.0.0.1:3000', true],
    ['http://localhost:56150/_connector', true],
    ['http://[::1]:5000/connector/', true],
    ['http://127.0.0.1:2375/containers/create?x=', false],
    ['http://127.0.0.1:8080/a/../admin', false],
    ['http://127.0.0.1:8080/%2e%2e/admin', false],
    ['http://127.0.0.1:8080/#', false],
    ['http://evil.example@127.0.0.1/', false],
    ['http://127.0.0.1:9200/_all/_delete_by_query.json', false],
    ['https://smba.trafficmanager.net/emea/', false],
  ])('serviceUrl %s is a local connector: %s', (url, ok) => {
    expect(isLocalConnectorUrl(url)).toBe(ok);
  });
});
