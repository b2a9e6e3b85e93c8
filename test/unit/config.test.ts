import { ConfigError, loadConfig, redactedSummary } from '../../bot/config';

describe('configuration', () => {
  it('starts on embedded defaults: port 3978, SQLite, demo mode', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 3978, STORAGE: 'sqlite', demoMode: true, APPROVAL_TTL_MINUTES: 60, SNAPSHOT_BEFORE_FIX: true, ALLOW_SELF_APPROVAL: false });
  });

  it('reads lists and booleans', () => {
    const c = loadConfig({
      AZURE_SUBSCRIPTION_IDS: '00000000-0000-0000-0000-000000000001, 00000000-0000-0000-0000-000000000002',
      APPROVER_IDS: '00000000-0000-0000-0000-0000000000a2',
      ALLOW_SELF_APPROVAL: 'true',
    });
    expect(c.AZURE_SUBSCRIPTION_IDS).toHaveLength(2);
    expect(c.demoMode).toBe(false);
    expect(c.ALLOW_SELF_APPROVAL).toBe(true);
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT: /],
    [{ PORT: '70000' }, /^PORT: /],
    [{ STORAGE: 'mongo' }, /^STORAGE: expected sqlite or azure/],
    [{ AZURE_SUBSCRIPTION_IDS: 'not-a-guid' }, /^AZURE_SUBSCRIPTION_IDS: /],
    [{ MicrosoftAppId: 'bot' }, /^MicrosoftAppId: expected a GUID/],
    [{ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1' }, /^MicrosoftAppPassword: /],
    [{ ALLOW_SELF_APPROVAL: 'maybe' }, /^ALLOW_SELF_APPROVAL: expected true or false/],
    [{ AZURE_ARM_ENDPOINT: 'http://127.0.0.1:1' }, /^AZURE_ARM_ENDPOINT: expected an https URL/],
  ])('refuses %p with one line naming the variable', (env, message) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain('\n');
  });

  it('never shows the bot secret in the start-up summary', () => {
    const c = loadConfig({ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's3cr3t-value' });
    expect(JSON.stringify(redactedSummary(c))).not.toContain('s3cr3t-value');
  });
});
