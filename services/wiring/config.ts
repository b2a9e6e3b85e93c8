import { z } from 'zod';
import { parseScopeEntry } from '../incidents/self-service';
import { CronError, parseCron } from '../sweeps/cron';

/**
 * Configuration: read once from the environment (and `.env`), validated, then passed down.
 * Names are those of CONTRACTS.md §6. A bad value stops the start with one line that names
 * the variable and what it expects. Shared by both composition roots (bot/index.ts, cli/index.ts);
 * what only the bot's HTTP face needs is in bot/config.ts.
 */

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''], { message: 'expected true or false' })
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : v === 'true' || v === '1' || v === 'yes'));

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const csv = (item: z.ZodString, what: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item, { message: `expected a comma-separated list of ${what}` }));

const schema = z.object({
  PORT: z.coerce.number({ message: 'expected a port number' }).int().min(0).max(65535).default(3978),
  /** default: 0.0.0.0 with an app id, 127.0.0.1 in local development (nothing authenticates callers) */
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PUBLIC_BASE_URL: z
    .string()
    .url({ message: 'expected the bot\'s public http(s) address, e.g. https://rdp-doctor.example.com' })
    .refine((u) => /^https?:\/\//.test(u), 'expected the bot\'s public http(s) address, e.g. https://rdp-doctor.example.com')
    .optional(),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10 * 1024 * 1024).default(256 * 1024),

  MicrosoftAppId: z.string().regex(guid, 'expected a GUID (the bot\'s Entra app id) or nothing for local development').or(z.literal('')).default(''),
  MicrosoftAppPassword: z.string().default(''),
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI', ''], { message: 'expected MultiTenant, SingleTenant or UserAssignedMSI' }).default(''),
  MicrosoftAppTenantId: z.string().regex(guid, 'expected a tenant GUID').or(z.literal('')).default(''),

  AZURE_SUBSCRIPTION_IDS: csv(z.string().regex(guid, 'not a GUID'), 'subscription GUIDs'),
  AZURE_RESOURCE_GROUPS: csv(z.string().regex(/^[-\w._()]{1,90}$/, 'not a resource group name'), 'resource group names'),
  AZURE_ARM_ENDPOINT: z.string().url({ message: 'expected an https URL' }).refine((u) => u.startsWith('https://'), 'expected an https URL').optional(),
  AZURE_ARM_CA_FILE: z.string().optional(),
  SIM_FLEET: z.string().optional(),
  SIM_RUN_COMMAND_LATENCY_MS: z.coerce.number().int().min(0).max(600000).optional(),
  SIM_SCRIPTS: z.enum(['pwsh', 'emulate', 'auto'], { message: 'expected pwsh, emulate or auto' }).default('auto'),

  SELF_SERVICE_SCOPE: csv(z.string().refine((e) => parseScopeEntry(e) !== null, 'not a resource group name or tag:name=value'), 'resource group names or tag:name=value'),
  ALLOWED_TENANT_IDS: csv(z.string().regex(guid, 'not a GUID'), 'tenant GUIDs'),
  APPROVER_IDS: csv(z.string().regex(guid, 'not a GUID'), 'Entra object id GUIDs'),
  ALLOW_SELF_APPROVAL: bool(false),
  /** kinds of change that need two different approvers: restart, nsg (comma-separated; empty: one approver) */
  TWO_PERSON_FIXES: z
    .string()
    .optional()
    .transform((v) => (v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.enum(['restart', 'nsg']), { message: 'expected a comma-separated list of restart, nsg' })),
  APPROVAL_TTL_MINUTES: z.coerce.number({ message: 'expected minutes' }).int().min(1).max(7 * 24 * 60).default(60),
  SNAPSHOT_BEFORE_FIX: bool(true),
  STORAGE: z.enum(['sqlite', 'azure'], { message: 'expected sqlite or azure' }).default('sqlite'),
  AZURE_STORAGE_CONNECTION_STRING: z.string().optional(),
  AZURE_STORAGE_ACCOUNT_URL: z.string().url({ message: 'expected https://<account>.blob.core.windows.net' }).optional(),
  AZURE_STORAGE_PREFIX: z.string().regex(/^[a-z][a-z0-9]{0,39}$/, 'expected lower-case letters and digits, starting with a letter').default('rdpdoctor'),
  JOB_LEASE_SECONDS: z.coerce.number({ message: 'expected seconds' }).int().min(1).max(3600).default(60),
  SWEEP_INTERVAL_SECONDS: z.coerce.number({ message: 'expected seconds' }).int().min(1).max(3600).default(30),
  ALLOW_UNAUTHENTICATED: bool(false),
  RATE_LIMIT_DIAGNOSES_PER_HOUR: z.coerce.number().int().min(1).max(10000).default(20),
  RATE_LIMIT_SEARCHES_PER_HOUR: z.coerce.number().int().min(1).max(10000).default(60),
  RATE_LIMIT_INCIDENTS_PER_HOUR: z.coerce.number().int().min(1).max(10000).default(30),
  RATE_LIMIT_FIX_REQUESTS_PER_HOUR: z.coerce.number().int().min(1).max(10000).default(20),
  // --- fleet sweeps (issue #16, sweep-core; docs/sweeps.md) ---
  /** 5-field cron (UTC) starting a fast sweep of the whole scope; empty: off */
  SWEEP_SCHEDULE: z
    .string()
    .optional()
    .superRefine((v, ctx) => {
      if (!v) return;
      try {
        parseCron(v);
      } catch (e) {
        if (!(e instanceof CronError)) throw e;
        ctx.addIssue({ code: 'custom', message: `${e.message} (expected 5 cron fields, UTC, e.g. "0 6 * * 1-5")` });
      }
    }),
  SWEEP_CONCURRENCY: z.coerce.number({ message: 'expected a number of diagnoses at once' }).int().min(1).max(200).default(10),
  SWEEP_ARM_BUDGET_PERCENT: z.coerce.number({ message: 'expected a percentage' }).int().min(1).max(100).default(50),
  // --- end fleet sweeps ---
  // --- helpdesk tab (issue #17, tab; docs/teams-surfaces.md) ---
  /**
   * A test hook: where the tab reads a tenant's token signing keys (`{tenant}` is replaced by the
   * tenant id). Default: Entra's https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys.
   */
  TAB_SSO_JWKS_URL: z
    .string()
    .refine((u) => /^https:\/\/[^\s]+$|^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/[^\s]*$/.test(u), 'expected an https URL (http only on this machine), with {tenant} where the tenant id goes')
    .optional(),
  // --- end helpdesk tab ---
  // --- sweep-spread (issue #16 item 3; docs/sweeps.md "Across instances") ---
  /** STORAGE=azure: how many instances share the sweeps' ARM budget; each takes SWEEP_ARM_BUDGET_PERCENT / SWEEP_INSTANCES */
  SWEEP_INSTANCES: z.coerce.number({ message: 'expected a number of instances' }).int().min(1).max(100).default(1),
  // --- end sweep-spread ---
  // --- reaching approvers through Microsoft Graph (issue #17, graph; docs/graph.md) ---
  /** `auto`: on with an app id, GRAPH_ENDPOINT or in demo mode (the simulator's Graph); `off`: never */
  GRAPH_REACH: z.enum(['auto', 'off'], { message: 'expected auto or off' }).default('auto'),
  /** another Graph endpoint (e.g. `npm run simulator`); a loopback one gets the static development token */
  GRAPH_ENDPOINT: z.string().url({ message: 'expected an https URL' }).refine((u) => u.startsWith('https://'), 'expected an https URL').optional(),
  GRAPH_CA_FILE: z.string().optional(),
  /** the Teams app's id in its manifest (manifest/package.ts: defaults to MicrosoftAppId) */
  TEAMS_APP_ID: z.string().regex(guid, 'expected the Teams app id (a GUID)').optional(),
  /** the app's id in the tenant's app catalog, when known (skips a look-up that needs AppCatalog.Read.All) */
  TEAMS_APP_CATALOG_ID: z.string().regex(/^[-\w.]{1,100}$/, 'expected the catalog id of the app').optional(),
  /** where the bot posts to a personal chat Graph opened before Teams sent any activity of the tenant */
  TEAMS_SERVICE_URL: z.string().url({ message: 'expected https://smba.trafficmanager.net/teams/ or a regional one' }).refine((u) => u.startsWith('https://'), 'expected https://smba.trafficmanager.net/teams/ or a regional one').optional(),
  // --- end reaching approvers ---
});

export type Config = Omit<z.infer<typeof schema>, 'HOST'> & { HOST: string; demoMode: boolean };

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv): Config {
  // treat empty strings as "not set" for optional values so `.env.example` copied as-is works
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const r = schema.safeParse(cleaned);
  if (!r.success) {
    const issue = r.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid value'} (got ${JSON.stringify(env[name] ?? '')})`);
  }
  const c = r.data;
  if (c.MicrosoftAppId && c.MicrosoftAppType !== 'UserAssignedMSI' && !c.MicrosoftAppPassword) {
    throw new ConfigError('MicrosoftAppPassword: expected the bot\'s client secret when MicrosoftAppId is set (or MicrosoftAppType=UserAssignedMSI)');
  }
  // Since July 2025 new Azure Bot registrations cannot be multi-tenant: with an app id and no
  // type, the bot is single-tenant (a MultiTenant default would make every reply fail there)
  const appType = c.MicrosoftAppId && !c.MicrosoftAppType ? 'SingleTenant' : c.MicrosoftAppType;
  if (appType === 'UserAssignedMSI' && !c.MicrosoftAppId) {
    throw new ConfigError('MicrosoftAppId: expected the client id of the user-assigned managed identity when MicrosoftAppType=UserAssignedMSI');
  }
  if ((appType === 'SingleTenant' || appType === 'UserAssignedMSI') && !c.MicrosoftAppTenantId) {
    const why = c.MicrosoftAppType ? `MicrosoftAppType=${appType}` : 'MicrosoftAppId is set (MicrosoftAppType defaults to SingleTenant; set MultiTenant only for an older multi-tenant registration)';
    throw new ConfigError(`MicrosoftAppTenantId: expected the bot's Entra tenant GUID when ${why}`);
  }
  if (c.AZURE_ARM_CA_FILE && !c.AZURE_ARM_ENDPOINT) {
    throw new ConfigError('AZURE_ARM_CA_FILE: only meaningful with AZURE_ARM_ENDPOINT');
  }
  if (c.GRAPH_CA_FILE && !c.GRAPH_ENDPOINT) throw new ConfigError('GRAPH_CA_FILE: only meaningful with GRAPH_ENDPOINT'); // issue #17 (graph)
  if (c.STORAGE === 'azure' && !c.AZURE_STORAGE_CONNECTION_STRING && !c.AZURE_STORAGE_ACCOUNT_URL) {
    throw new ConfigError('STORAGE: azure needs AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL');
  }
  return {
    ...c,
    MicrosoftAppType: appType,
    HOST: c.HOST ?? (c.MicrosoftAppId ? '0.0.0.0' : '127.0.0.1'),
    demoMode: c.AZURE_SUBSCRIPTION_IDS.length === 0,
  };
}

/** What the start-up log shows: every setting, secrets replaced. */
export function redactedSummary(c: Config): Record<string, unknown> {
  return {
    port: c.PORT,
    publicBaseUrl: c.PUBLIC_BASE_URL ?? `(http://localhost:${c.PORT})`,
    dataDir: c.DATA_DIR,
    storage: c.STORAGE,
    appId: c.MicrosoftAppId || '(none: local development, no authentication)',
    appPassword: c.MicrosoftAppPassword ? '***' : '(not set)',
    appType: c.MicrosoftAppType || '(default)',
    tenantId: c.MicrosoftAppTenantId || '(not set)',
    mode: c.demoMode ? 'demo (simulated Azure fleet)' : 'Azure',
    subscriptions: c.AZURE_SUBSCRIPTION_IDS,
    resourceGroups: c.AZURE_RESOURCE_GROUPS,
    armEndpoint: c.AZURE_ARM_ENDPOINT ?? '(Azure public cloud)',
    approvers: c.APPROVER_IDS.length,
    allowSelfApproval: c.ALLOW_SELF_APPROVAL,
    twoPersonFixes: c.TWO_PERSON_FIXES,
    approvalTtlMinutes: c.APPROVAL_TTL_MINUTES,
    snapshotBeforeFix: c.SNAPSHOT_BEFORE_FIX,
  };
}
