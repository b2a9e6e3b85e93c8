import { ConversationState, MemoryStorage } from 'botbuilder';
import { createAdapter } from '../../bot/adapter';
import { ConfigError, loadConfig, publicBaseUrl, redactedSummary } from '../../bot/config';
import { silentLogger } from '../../services/log';

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
    [{ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's' }, /^MicrosoftAppTenantId: expected the bot's Entra tenant GUID when MicrosoftAppId is set \(MicrosoftAppType defaults to SingleTenant/],
    [{ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppType: 'UserAssignedMSI' }, /^MicrosoftAppTenantId: expected the bot's Entra tenant GUID when MicrosoftAppType=UserAssignedMSI$/],
    [{ MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: '00000000-0000-0000-0000-0000000000c1' }, /^MicrosoftAppId: expected the client id/],
    [{ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's', MicrosoftAppType: 'SingleTenant' }, /^MicrosoftAppTenantId: /],
    [{ PUBLIC_BASE_URL: 'rdp-doctor.example.com' }, /^PUBLIC_BASE_URL: expected the bot's public http\(s\) address/],
    [{ PUBLIC_BASE_URL: 'ftp://rdp-doctor.example.com' }, /^PUBLIC_BASE_URL: /],
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

  it('with an app id and no type, the bot is SingleTenant (new registrations cannot be multi-tenant); MultiTenant only when asked for', () => {
    const id = { MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's', MicrosoftAppTenantId: '00000000-0000-0000-0000-0000000000c1' };
    expect(loadConfig(id).MicrosoftAppType).toBe('SingleTenant');
    expect(loadConfig({ ...id, MicrosoftAppType: 'MultiTenant', MicrosoftAppTenantId: '' }).MicrosoftAppType).toBe('MultiTenant');
    expect(loadConfig({}).MicrosoftAppType).toBe('');
  });

  it('a user-assigned managed identity with its tenant needs no password, and the adapter accepts it', () => {
    const c = loadConfig({ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: '00000000-0000-0000-0000-0000000000c1' });
    expect(() => createAdapter(c, silentLogger, new ConversationState(new MemoryStorage()))).not.toThrow();
  });

  it('the public address of the script pages: PUBLIC_BASE_URL, else this machine', () => {
    expect(publicBaseUrl(loadConfig({ PUBLIC_BASE_URL: 'https://rdp-doctor.example.com/' }), 3978)).toBe('https://rdp-doctor.example.com');
    expect(publicBaseUrl(loadConfig({}), 4000)).toBe('http://localhost:4000');
  });

  it('never shows the bot secret in the start-up summary', () => {
    const c = loadConfig({ MicrosoftAppId: '00000000-0000-0000-0000-0000000000b1', MicrosoftAppPassword: 's3cr3t-value', MicrosoftAppTenantId: '00000000-0000-0000-0000-0000000000c1' });
    expect(JSON.stringify(redactedSummary(c))).not.toContain('s3cr3t-value');
  });
});
