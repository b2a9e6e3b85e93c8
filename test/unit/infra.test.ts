import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerRunSteps, parseDockerfile, toShellCommand } from '../../infra/dockerfile';
import { serviceEndpoints } from '../../services/store/azure/connection';

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

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/**
 * A small evaluator of ARM template expressions, enough for what the storage choice decides
 * (names, URL, capacity, app settings). Deployment-time values are stand-ins: uniqueString()
 * gives 13 lower-case characters like the real one, reference() gives a fixed clientId.
 */
function evaluate(t: ArmTemplate, params: Record<string, Value>, value: unknown): Value {
  if (Array.isArray(value)) return value.map((v) => evaluate(t, params, v));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(t, params, v)]));
  }
  if (typeof value !== 'string' || !/^\[.*\]$/s.test(value) || value.startsWith('[[')) return value as Value;
  const src = value.slice(1, -1);
  let at = 0;
  const skip = () => {
    while (src[at] === ' ') at++;
  };
  const call = (fn: string, args: Value[]): Value => {
    const s = (i: number) => String(args[i]);
    switch (fn.toLowerCase()) {
      case 'parameters': {
        const p = t.parameters?.[s(0)];
        if (!p) throw new Error(`undeclared parameter ${s(0)}`);
        return s(0) in params ? params[s(0)]! : evaluate(t, params, p.defaultValue);
      }
      case 'variables':
        if (!(s(0) in (t.variables ?? {}))) throw new Error(`undeclared variable ${s(0)}`);
        return evaluate(t, params, t.variables![s(0)]);
      case 'format':
        return s(0).replace(/\{(\d+)\}/g, (_, i: string) => String(args[Number(i) + 1]));
      case 'take':
        return typeof args[0] === 'string' ? args[0].slice(0, Number(args[1])) : (args[0] as Value[]).slice(0, Number(args[1]));
      case 'tolower':
        return s(0).toLowerCase();
      case 'replace':
        return s(0).split(s(1)).join(s(2));
      case 'string':
        return typeof args[0] === 'string' ? args[0] : JSON.stringify(args[0]);
      case 'equals':
        return JSON.stringify(args[0]) === JSON.stringify(args[1]);
      case 'if':
        return args[0] ? args[1]! : args[2]!;
      case 'empty':
        return args[0] === '' || (Array.isArray(args[0]) && args[0].length === 0);
      case 'concat':
        return args.every(Array.isArray) ? (args as Value[][]).flat() : args.map(String).join('');
      case 'length':
        return (args[0] as string | Value[]).length;
      case 'createarray':
        return args;
      case 'createobject':
        return Object.fromEntries(args.flatMap((a, i) => (i % 2 ? [] : [[String(a), args[i + 1]!]])));
      case 'uniquestring':
        return 'abcdefghij123';
      case 'resourcegroup':
        return { id: '/subscriptions/s/resourceGroups/rg', location: 'westeurope' };
      case 'subscription':
        return { id: '/subscriptions/s', subscriptionId: 's', tenantId: 't' };
      case 'environment':
        return { suffixes: { storage: 'core.windows.net' } };
      case 'subscriptionresourceid':
        return `/subscriptions/s/providers/${args.map(String).join('/')}`;
      case 'guid':
        return createHash('sha1').update(args.map(String).join('|')).digest('hex').slice(0, 32);
      case 'resourceid':
        return `/subscriptions/s/resourceGroups/rg/providers/${args.map(String).join('/')}`;
      case 'reference':
        return { clientId: 'client-id-of-the-identity', principalId: 'principal-id', defaultHostName: 'app.azurewebsites.net' };
      default:
        throw new Error(`evaluate: ${fn}() not supported`);
    }
  };
  const expr = (): Value => {
    skip();
    let v: Value;
    if (src[at] === "'") {
      let out = '';
      for (at++; ; at++) {
        if (src[at] === "'" && src[at + 1] === "'") (out += "'"), at++;
        else if (src[at] === "'") break;
        else out += src[at];
      }
      at++;
      v = out;
    } else if (/[0-9-]/.test(src[at]!)) {
      const m = /^-?\d+/.exec(src.slice(at))![0];
      at += m.length;
      v = Number(m);
    } else {
      const name = /^\w+/.exec(src.slice(at))![0];
      at += name.length + 1; // name and '('
      const args: Value[] = [];
      skip();
      while (src[at] !== ')') {
        args.push(expr());
        skip();
        if (src[at] === ',') at++;
        skip();
      }
      at++;
      v = call(name, args);
    }
    for (;;) {
      if (src[at] === '.') {
        const key = /^\w+/.exec(src.slice(++at))![0];
        at += key.length;
        v = (v as Record<string, Value>)[key]!;
      } else if (src[at] === '[') {
        at++;
        const i = expr();
        at++; // ']'
        v = (v as Value[])[Number(i)]!;
      } else return v;
    }
  };
  return expr();
}

const STORAGE_CONDITION = "[equals(parameters('storage'), 'azure')]";
const STORAGE_ROLES = {
  'Storage Blob Data Contributor': 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
};

/** The storage account and what is scoped to it: only for storage = azure. */
function storageResources(t: ArmTemplate): ArmResource[] {
  return t.resources.filter((r) => r.type === 'Microsoft.Storage/storageAccounts' || String(r['scope'] ?? '').includes('Microsoft.Storage/storageAccounts'));
}
/** Those of them that would be deployed whatever `storage` says. */
function unconditionalStorageResources(t: ArmTemplate): string[] {
  return storageResources(t)
    .filter((r) => r['condition'] !== STORAGE_CONDITION)
    .map((r) => `${r.type} ${r.name}`);
}

/** Bicep resources on the storage account and whether each is deployed only for storage == 'azure'. */
function bicepStorageResources(text: string): { name: string; conditional: boolean }[] {
  return [...text.matchAll(/^resource (\w+) '([^']+)' = (.*)$/gm)]
    .filter((m) => m[2]!.startsWith('Microsoft.Storage/storageAccounts@') || /^\s+scope: storageAccount$/m.test(text.slice(m.index).split(/^}/m)[0]!))
    .map((m) => ({ name: m[1]!, conditional: /(^|: )if \(storage == 'azure'\) \{$/.test(m[3]!) }));
}

function appSettingsFor(t: ArmTemplate, params: Record<string, Value>): Record<string, string> {
  const site = t.resources.find((r) => r.type === 'Microsoft.Web/sites')!;
  const expr = (site.properties!['siteConfig'] as Record<string, string>)['appSettings'];
  const list = evaluate(t, params, expr) as { name: string; value: string }[];
  return Object.fromEntries(list.map((s) => [s.name, s.value]));
}
const required = { microsoftAppId: 'app-id', microsoftAppPassword: 'secret', name: 'rdp-doctor' };

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
    const appSettingsExpr = (only('Microsoft.Web/sites').properties!['siteConfig'] as Record<string, string>)['appSettings']!;
    expect(appSettingsExpr).toContain("variables('baseAppSettings')");
    expect(appSettingsExpr).toContain("'AZURE_CLIENT_ID'"); // DefaultAzureCredential picks the user-assigned identity by it
    const settings = appSettingsFor(template, required);
    expect(settings['AZURE_CLIENT_ID']).toBe('client-id-of-the-identity');
    const names = Object.keys(settings);
    for (const name of [
      'MicrosoftAppId',
      'MicrosoftAppPassword',
      'MicrosoftAppType',
      'MicrosoftAppTenantId',
      'PUBLIC_BASE_URL',
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
    const assignments = resourcesOf(template).filter(
      (r) => r.type === 'Microsoft.Authorization/roleAssignments' && !storageResources(template).includes(r),
    );
    expect(assignments).toHaveLength(2);
    for (const a of assignments) expect(a.properties).toMatchObject({ principalType: 'ServicePrincipal' });
    const loops = template.resources.filter((r) => r.properties?.template?.resources.some((x) => assignments.includes(x)));
    expect(loops.map((r) => (r['copy'] as { count: string }).count).sort()).toEqual([
      "[length(parameters('roleAssignmentResourceGroups'))]",
      "[length(parameters('roleAssignmentSubscriptionIds'))]",
    ]);
  });

  it('with storage = sqlite (the default): SQLite in /home (persistent), one instance whatever instanceCount says, no storage account', () => {
    expect(template.parameters!['storage']).toMatchObject({ defaultValue: 'sqlite', allowedValues: ['sqlite', 'azure'] });
    expect(template.parameters!['instanceCount']).toMatchObject({ type: 'int', defaultValue: 1, minValue: 1 });
    expect(JSON.stringify(template.parameters!['instanceCount'])).toMatch(/azure/);
    const settings = appSettingsFor(template, { ...required, instanceCount: 4 });
    expect(settings).toMatchObject({ STORAGE: 'sqlite', DATA_DIR: '/home/data', WEBSITES_ENABLE_APP_SERVICE_STORAGE: 'true' });
    expect(settings).not.toHaveProperty('AZURE_STORAGE_ACCOUNT_URL');
    expect(settings).not.toHaveProperty('SWEEP_INSTANCES'); // one instance: the default, 1
    const plan = only('Microsoft.Web/serverfarms');
    expect(evaluate(template, { ...required, instanceCount: 4 }, (plan['sku'] as Record<string, unknown>)['capacity'])).toBe(1);
    for (const r of storageResources(template)) expect(evaluate(template, required, r['condition'])).toBe(false);
  });

  it('with storage = azure: the plan runs instanceCount instances and the app gets the account URL the store expects', () => {
    const params = { ...required, storage: 'azure', instanceCount: 3 };
    const plan = only('Microsoft.Web/serverfarms');
    expect(evaluate(template, params, (plan['sku'] as Record<string, unknown>)['capacity'])).toBe(3);
    const settings = appSettingsFor(template, params);
    expect(settings['STORAGE']).toBe('azure');
    // the ARM budget and the sweep concurrency are split between the instances the plan runs (docs/sweeps.md)
    expect(settings['SWEEP_INSTANCES']).toBe('3');
    expect(appSettingsFor(template, { ...params, instanceCount: 7 })['SWEEP_INSTANCES']).toBe('7');
    expect(settings).not.toHaveProperty('DATA_DIR');
    expect(settings).not.toHaveProperty('AZURE_STORAGE_CONNECTION_STRING'); // no keys: the managed identity signs in
    const account = String(evaluate(template, params, "[variables('storageAccountName')]"));
    expect(settings['AZURE_STORAGE_ACCOUNT_URL']).toBe(`https://${account}.blob.core.windows.net`);
    expect(serviceEndpoints(settings['AZURE_STORAGE_ACCOUNT_URL']!)).toEqual({
      blob: `https://${account}.blob.core.windows.net`,
      table: `https://${account}.table.core.windows.net`,
      queue: `https://${account}.queue.core.windows.net`,
    });
    for (const r of storageResources(template)) expect(evaluate(template, params, r['condition'])).toBe(true);
  });

  it('names the storage account within Azure\'s rules (3-24 lower-case letters and digits), whatever the base name', () => {
    for (const name of ['rdp', 'rdp-doctor', 'RDP-Doctor-Production-West', 'abcdefghijklmnopqrstuvwx']) {
      const account = String(evaluate(template, { ...required, name }, "[variables('storageAccountName')]"));
      expect(account).toMatch(/^[a-z0-9]{3,24}$/);
    }
  });

  it('creates a StorageV2 account that takes only HTTPS, TLS 1.2, no public blobs and no shared keys', () => {
    const account = only('Microsoft.Storage/storageAccounts');
    expect(account).toMatchObject({ kind: 'StorageV2', name: "[variables('storageAccountName')]" });
    expect(account.properties).toMatchObject({
      supportsHttpsTrafficOnly: true,
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
    });
  });

  it('gives the bot\'s identity the Blob, Table and Queue Data Contributor built-in roles on that account only', () => {
    const [assignment, ...more] = storageResources(template).filter((r) => r.type === 'Microsoft.Authorization/roleAssignments');
    expect(more).toEqual([]);
    const params = { ...required, storage: 'azure' };
    expect(evaluate(template, params, assignment!['scope'])).toBe(`Microsoft.Storage/storageAccounts/${String(evaluate(template, params, "[variables('storageAccountName')]"))}`);
    expect(assignment!.properties).toMatchObject({
      principalId: "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName')), '2023-01-31').principalId]",
      principalType: 'ServicePrincipal',
    });
    // the copy loop gives one assignment per role: evaluate each copy
    const loop = assignment!['copy'] as { count: string };
    const count = Number(evaluate(template, params, loop.count));
    const roleIds = Array.from({ length: count }, (_, i) =>
      String(evaluate(template, params, String(assignment!.properties!['roleDefinitionId']).replace(/copyIndex\(\)/g, String(i)))),
    );
    expect(roleIds.map((id) => id.replace('/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/', '')).sort()).toEqual(
      Object.values(STORAGE_ROLES).sort(),
    );
    const names = Array.from({ length: count }, (_, i) => String(evaluate(template, params, assignment!.name.replace(/copyIndex\(\)/g, String(i)))));
    expect(new Set(names).size).toBe(count);
    // the web app starts only once its data roles are there
    expect(only('Microsoft.Web/sites')['dependsOn']).toContain((assignment!['copy'] as { name: string }).name);
  });

  it('deploys the storage account and its role assignments only when storage = azure', () => {
    expect(storageResources(template).map((r) => r.type).sort()).toEqual(['Microsoft.Authorization/roleAssignments', 'Microsoft.Storage/storageAccounts']);
    expect(unconditionalStorageResources(template)).toEqual([]);
    const dropped = (type: string): ArmTemplate => ({
      ...template,
      resources: template.resources.map((r) => (r.type === type && storageResources(template).includes(r) ? { ...r, condition: undefined } : r)),
    });
    expect(unconditionalStorageResources(dropped('Microsoft.Storage/storageAccounts'))).toEqual([
      "Microsoft.Storage/storageAccounts [variables('storageAccountName')]",
    ]);
    expect(unconditionalStorageResources(dropped('Microsoft.Authorization/roleAssignments'))).toHaveLength(1);
  });

  const roleFile = join(INFRA, 'rdp-doctor-role.json');
  it('grants exactly the actions of infra/rdp-doctor-role.json', () => {
    // the role file ships with the product (README, deploy.md): a missing file is a failure, not a skip
    expect(existsSync(roleFile)).toBe(true);
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
    const lists = Object.keys(template.variables!).filter((v) => v.endsWith('AppSettings'));
    expect(lists.sort()).toEqual(['azureStorageAppSettings', 'baseAppSettings', 'codeAppSettings', 'containerAppSettings', 'sqliteAppSettings']);
    const armNames = lists.flatMap((v) => (template.variables![v] as { name: string }[]).map((x) => x.name));
    expect(bicepNames.sort()).toEqual([...armNames, 'AZURE_CLIENT_ID'].sort());
    expect(bicep).toContain("storage == 'azure' ? azureStorageAppSettings : sqliteAppSettings");
    expect(bicep).toMatch(/^var storageAccountUrl = 'https:\/\/\$\{storageAccountName\}\.blob\.\$\{environment\(\)\.suffixes\.storage\}'$/m);
  });

  it('makes the same storage choice: the account and its role assignments only for storage == \'azure\', capacity 1 for sqlite', () => {
    expect(bicepStorageResources(bicep)).toEqual([
      { name: 'storageAccount', conditional: true },
      { name: 'storageRoleAssignments', conditional: true },
    ]);
    const dropped = bicep.replace("[for roleId in storageDataRoleIds: if (storage == 'azure') {", '[for roleId in storageDataRoleIds: {');
    expect(dropped).not.toBe(bicep);
    expect(bicepStorageResources(dropped)).toContainEqual({ name: 'storageRoleAssignments', conditional: false });
    expect(bicep).toMatch(/^\s+sku: \{ name: appServicePlanSku, capacity: storage == 'azure' \? instanceCount : 1 \}$/m);
    expect(bicep).toContain('dependsOn: [storageRoleAssignments]');
  });

  it('grants the same built-in storage roles', () => {
    const bicepIds = [...bicep.matchAll(/^\s+'([0-9a-f-]{36})' \/\/ (.+)$/gm)].map((m) => [m[2]!, m[1]!]);
    expect(Object.fromEntries(bicepIds)).toEqual(STORAGE_ROLES);
    expect([...(template.variables!['storageDataRoleIds'] as string[])].sort()).toEqual(Object.values(STORAGE_ROLES).sort());
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
