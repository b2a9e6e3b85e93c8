import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerRunSteps, parseDockerfile, toShellCommand } from '../../infra/dockerfile';

const ROOT = join(__dirname, '..', '..');
const INFRA = join(ROOT, 'infra');

interface ArmResource {
  type: string;
  name: string;
  kind?: string;
  identity?: { type: string };
  properties?: Record<string, unknown> & { template?: ArmTemplate };
  [key: string]: unknown;
}
interface ArmTemplate {
  $schema: string;
  parameters?: Record<string, { type: string; defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[];
  outputs?: Record<string, unknown>;
}

const template = JSON.parse(readFileSync(join(INFRA, 'azuredeploy.json'), 'utf8')) as ArmTemplate;
const bicep = readFileSync(join(INFRA, 'main.bicep'), 'utf8');

function resourcesOf(t: ArmTemplate): ArmResource[] {
  return t.resources.flatMap((r) => [r, ...(r.properties?.template ? resourcesOf(r.properties.template) : [])]);
}
function only(type: string): ArmResource {
  const found = resourcesOf(template).filter((r) => r.type === type);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Strings of a template outside its nested templates (those have their own parameters). */
function ownStrings(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) node.forEach((n) => ownStrings(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'template') continue;
      ownStrings(k, out);
      ownStrings(v, out);
    }
  }
  return out;
}

/** parameters('x') / variables('x') that a template uses but does not declare, nested templates included. */
function undeclaredReferences(t: ArmTemplate, where = 'azuredeploy.json'): string[] {
  const copyNames = ((t.variables?.['copy'] ?? []) as { name: string }[]).map((c) => c.name);
  const declared = {
    parameters: new Set(Object.keys(t.parameters ?? {})),
    variables: new Set([...Object.keys(t.variables ?? {}), ...copyNames]),
  };
  const missing: string[] = [];
  for (const s of ownStrings({ ...t, resources: t.resources })) {
    for (const m of s.matchAll(/\b(parameters|variables)\('([^']+)'\)/g)) {
      if (!declared[m[1] as 'parameters' | 'variables'].has(m[2]!)) missing.push(`${where}: ${m[1]}('${m[2]}')`);
    }
  }
  for (const r of t.resources) {
    if (r.properties?.template) missing.push(...undeclaredReferences(r.properties.template, `${where} > ${String(r.name)}`));
  }
  return missing;
}

function roleActionsInTemplate(): string[] {
  const role = only('Microsoft.Authorization/roleDefinitions');
  const permissions = (role.properties as { permissions: { actions: string }[] }).permissions;
  const ref = /^\[parameters\('(\w+)'\)\]$/.exec(permissions[0]!.actions)![1]!;
  const deployment = template.resources.find((r) => r.properties?.template?.resources.includes(role))!;
  const passed = (deployment.properties!['parameters'] as Record<string, { value: string }>)[ref]!.value;
  const variable = /^\[variables\('(\w+)'\)\]$/.exec(passed)![1]!;
  return template.variables![variable] as string[];
}

describe('ARM template (infra/azuredeploy.json)', () => {
  it('is a resource-group deployment template', () => {
    expect(template.$schema).toMatch(/\/deploymentTemplate\.json#$/);
  });

  it('declares every parameter and variable it uses', () => {
    expect(undeclaredReferences(template)).toEqual([]);
    const typo: ArmResource = { type: 'Microsoft.Web/sites', name: "[parameters('webappName')]" };
    expect(undeclaredReferences({ ...template, resources: [...template.resources, typo] })).toEqual([
      "azuredeploy.json: parameters('webappName')",
    ]);
  });

  it('creates the bot with its Teams channel, pointing at the web app', () => {
    const bot = only('Microsoft.BotService/botServices');
    expect(bot.properties).toMatchObject({ msaAppId: "[parameters('microsoftAppId')]", msaAppType: 'SingleTenant' });
    expect(String(bot.properties!['endpoint'])).toContain('/api/messages');
    expect(only('Microsoft.BotService/botServices/channels').properties).toMatchObject({
      channelName: 'MsTeamsChannel',
      properties: { isEnabled: true },
    });
  });

  it('runs the bot on a Linux plan, Node 20, HTTPS only, health-checked on /healthz, with a managed identity', () => {
    expect(only('Microsoft.Web/serverfarms')).toMatchObject({ kind: 'linux', properties: { reserved: true } });
    const site = only('Microsoft.Web/sites');
    expect(site.identity?.type).toMatch(/UserAssigned|SystemAssigned/);
    expect(site.properties).toMatchObject({ httpsOnly: true, siteConfig: { healthCheckPath: '/healthz', minTlsVersion: '1.2' } });
    const siteConfig = site.properties!['siteConfig'] as Record<string, string>;
    expect(siteConfig['linuxFxVersion']).toContain("'NODE|20-lts'");
    expect(siteConfig['appCommandLine']).toContain('node dist/bot/index.js');
    only('Microsoft.ManagedIdentity/userAssignedIdentities');
  });

  it('sets the app settings of CONTRACTS §6 that a deployment needs', () => {
    const settings = template.variables!['baseAppSettings'] as { name: string }[];
    const appSettingsExpr = (only('Microsoft.Web/sites').properties!['siteConfig'] as Record<string, string>)['appSettings']!;
    expect(appSettingsExpr).toContain("variables('baseAppSettings')");
    expect(appSettingsExpr).toContain("'AZURE_CLIENT_ID'"); // DefaultAzureCredential picks the user-assigned identity by it
    const names = settings.map((s) => s.name);
    for (const name of [
      'MicrosoftAppId',
      'MicrosoftAppPassword',
      'MicrosoftAppType',
      'MicrosoftAppTenantId',
      'DATA_DIR',
      'AZURE_SUBSCRIPTION_IDS',
      'APPROVER_IDS',
      'ALLOW_SELF_APPROVAL',
      'APPROVAL_TTL_MINUTES',
      'SNAPSHOT_BEFORE_FIX',
      'STORAGE',
    ]) {
      expect(names).toContain(name);
    }
  });

  it('takes the bot secret as a secure parameter and the target scopes as parameters', () => {
    const p = template.parameters!;
    expect(p['microsoftAppId']?.type).toBe('string');
    expect(p['microsoftAppId']?.defaultValue).toBeUndefined();
    expect(p['microsoftAppPassword']?.type).toBe('securestring');
    expect(p['roleAssignmentSubscriptionIds']?.type).toBe('array');
    expect(p['roleAssignmentResourceGroups']?.type).toBe('array');
    expect(template.outputs).toHaveProperty('botDomain');
  });

  it('defines a custom role without wildcards or data actions and assigns it at subscription and resource-group scope', () => {
    const role = only('Microsoft.Authorization/roleDefinitions');
    expect(role.properties).toMatchObject({ type: 'CustomRole', permissions: [{ notActions: [], dataActions: [] }] });
    const actions = roleActionsInTemplate();
    expect(actions).toContain('Microsoft.Compute/virtualMachines/runCommand/action');
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    const assignments = resourcesOf(template).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(assignments).toHaveLength(2);
    for (const a of assignments) expect(a.properties).toMatchObject({ principalType: 'ServicePrincipal' });
    const loops = template.resources.filter((r) => r.properties?.template?.resources.some((x) => assignments.includes(x)));
    expect(loops.map((r) => (r['copy'] as { count: string }).count).sort()).toEqual([
      "[length(parameters('roleAssignmentResourceGroups'))]",
      "[length(parameters('roleAssignmentSubscriptionIds'))]",
    ]);
  });

  const roleFile = join(INFRA, 'rdp-doctor-role.json');
  (existsSync(roleFile) ? it : it.skip)('grants exactly the actions of infra/rdp-doctor-role.json', () => {
    const role = JSON.parse(readFileSync(roleFile, 'utf8')) as Record<string, unknown>;
    const permissions = (role['permissions'] ?? (role['properties'] as Record<string, unknown> | undefined)?.['permissions']) as
      | { actions?: string[] }[]
      | undefined;
    const fileActions = (role['Actions'] ?? role['actions'] ?? permissions?.[0]?.actions) as string[];
    expect([...roleActionsInTemplate()].sort()).toEqual([...fileActions].sort());
  });
});

describe('Bicep (infra/main.bicep) and the ARM JSON stay the same template', () => {
  it('has the same parameters', () => {
    const bicepParams = [...bicep.matchAll(/^param (\w+)/gm)].map((m) => m[1]);
    expect(bicepParams.sort()).toEqual(Object.keys(template.parameters!).sort());
  });

  it('deploys the same resource types at the same API versions', () => {
    const modules = [...bicep.matchAll(/^module \w+ '([^']+)'/gm)].map((m) => readFileSync(join(INFRA, m[1]!), 'utf8'));
    const declared = [bicep, ...modules].flatMap((text) => [...text.matchAll(/^resource \w+ '([^']+)'/gm)].map((m) => m[1]!));
    const arm = resourcesOf(template)
      .filter((r) => r.type !== 'Microsoft.Resources/deployments')
      .map((r) => `${r.type}@${String(r['apiVersion'])}`);
    expect([...new Set(declared)].sort()).toEqual([...new Set(arm)].sort());
  });

  it('writes the same app settings', () => {
    const bicepNames = [...bicep.matchAll(/\{ name: '(\w+)', value:/g)].map((m) => m[1]!);
    const armNames = ['baseAppSettings', 'codeAppSettings', 'containerAppSettings'].flatMap((v) =>
      (template.variables![v] as { name: string }[]).map((x) => x.name),
    );
    expect(bicepNames.sort()).toEqual([...armNames, 'AZURE_CLIENT_ID'].sort());
  });

  it('grants the same role actions: Bicep reads them from infra/rdp-doctor-role.json', () => {
    expect(bicep).toMatch(/^var roleFile = loadJsonContent\('rdp-doctor-role\.json'\)$/m);
    expect(bicep).toMatch(/^var roleActions = roleFile\.Actions$/m);
    const role = JSON.parse(readFileSync(join(INFRA, 'rdp-doctor-role.json'), 'utf8')) as { Actions: string[] };
    expect(roleActionsInTemplate()).toEqual(role.Actions);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = parseDockerfile(dockerfile);

  it('builds on node:20-bookworm-slim and runs the bot as a non-root user on port 3978', () => {
    expect(instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0])).toEqual([
      'node:20-bookworm-slim',
      'node:20-bookworm-slim',
    ]);
    const last = instructions.filter((i) => i.stage === instructions.at(-1)!.stage);
    const user = last.filter((i) => i.keyword === 'USER').at(-1);
    expect(user?.args).toBeDefined();
    expect(user!.args).not.toMatch(/^(root|0)(:|$)/);
    expect(last.find((i) => i.keyword === 'EXPOSE')?.args).toBe('3978');
    expect(last.find((i) => i.keyword === 'HEALTHCHECK')?.args).toContain('/healthz');
    expect(toShellCommand(last.find((i) => i.keyword === 'CMD')!.args)).toBe('node dist/bot/index.js');
  });

  it('installs, builds and drops dev dependencies in its RUN steps, which CI can run as plain commands', () => {
    const steps = dockerRunSteps(dockerfile, 'build').map((s) => s.command);
    const at = (prefix: string): number => steps.findIndex((c) => c.startsWith(prefix));
    expect(at('npm ci')).toBeGreaterThanOrEqual(0);
    expect(at('npm ci')).toBeLessThan(at('npm run build'));
    expect(at('npm run build')).toBeLessThan(at('npm prune --omit=dev'));
    for (const c of steps) expect(c).not.toMatch(/\n/);
  });

  it('parses continued lines, comments and exec form', () => {
    const parsed = parseDockerfile(
      ['FROM node:20-bookworm-slim AS one', '# note', 'RUN a && \\', '  # inside', '  b', 'FROM scratch', 'RUN ["echo", "two words"]'].join('\n'),
    );
    expect(parsed.map((i) => [i.stage, i.keyword, i.line])).toEqual([
      ['one', 'FROM', 1],
      ['one', 'RUN', 3],
      ['1', 'FROM', 6],
      ['1', 'RUN', 7],
    ]);
    expect(dockerRunSteps('RUN a && \\\n  b').map((s) => s.command)).toEqual(['a &&  b']);
    expect(toShellCommand('["echo", "two words"]')).toBe("echo 'two words'");
  });

  it('keeps secrets, dependencies and build output out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.env', 'node_modules', 'dist', '.git', 'data']) expect(ignored).toContain(entry);
  });
});
