import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AdmZip from 'adm-zip';
import {
  buildAppPackage,
  fillManifest,
  PackageConfig,
  PackageConfigError,
  PackageValidationError,
  readPackageConfig,
  writeAppPackage,
} from '../../manifest/package';
import { colorIcon, outlineIcon } from '../../manifest/make-icons';
import { decodePng, encodePng, readPngHeader, RgbaImage } from '../../manifest/png';
import { validateLocalization, validateManifest } from '../../manifest/validate';

const MANIFEST_DIR = join(__dirname, '..', '..', 'manifest');
const BOT_ID = '8f14e45f-ceea-467e-9d7b-6b5c2f3a1e90';
const CONFIG: PackageConfig = {
  botAppId: BOT_ID,
  teamsAppId: BOT_ID,
  botDomain: 'rdp-doctor.azurewebsites.net',
  appVersion: '1.2.3',
};

interface Command {
  title: string;
  description?: string;
}
interface CommandList {
  scopes: string[];
  commands: Command[];
}
interface Manifest {
  manifestVersion: string;
  id: string;
  version: string;
  accentColor: string;
  name: { short: string; full?: string };
  validDomains: string[];
  localizationInfo: { additionalLanguages: { languageTag: string; file: string }[] };
  bots: { botId: string; scopes: string[]; supportsFiles: boolean; commandLists: CommandList[] }[];
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(join(MANIFEST_DIR, file), 'utf8')) as T;
}

function filled(): Manifest {
  return fillManifest(readJson<Manifest>('manifest.template.json'), CONFIG);
}

function commandsOf(manifest: Manifest, scope: string): string[] {
  const list = manifest.bots[0]!.commandLists.find((l) => l.scopes.includes(scope));
  return list ? list.commands.map((c) => c.title) : [];
}

// CONTRACTS.md §5 chat commands (plus "diagnose", the entry point), per scope.
const CONTRACT_COMMANDS: Record<string, string[]> = {
  // CONTRACTS §5, and the approvers' fleet sweep (issue #16) where approvers work: personal chat and channels
  personal: ['diagnose', 'status', 'approvals', 'history', 'sweep', 'help'],
  groupChat: ['diagnose', 'status', 'approvals', 'history', 'help'],
  team: ['diagnose', 'status', 'approvals', 'approvals here', 'history', 'sweep', 'help'],
};
const CONTRACT_RUSSIAN: Record<string, string> = {
  status: 'статус',
  approvals: 'согласования',
  'approvals here': 'согласования здесь',
  history: 'история',
  help: 'помощь',
  sweep: 'проверка парка',
};

describe('Teams manifest', () => {
  it('is valid against the official schema once filled from configuration', () => {
    const manifest = filled();
    expect(validateManifest(manifest)).toEqual([]);
    expect(manifest.id).toBe(BOT_ID);
    expect(manifest.version).toBe('1.2.3');
    expect(manifest.bots[0]!.botId).toBe(BOT_ID);
    expect(manifest.validDomains).toEqual(['rdp-doctor.azurewebsites.net']);
    expect(manifest.name.short).toBe('RDP Doctor');
    expect(JSON.stringify(manifest)).not.toMatch(/\{\{/);
  });

  it('uses the newest schema that has a localization schema too', () => {
    const teamsDir = join(require.resolve('@microsoft/app-manifest/package.json'), '..', 'build', 'json-schemas', 'teams');
    const complete = readdirSync(teamsDir)
      .filter((v) => /^v1\.\d+$/.test(v))
      .filter((v) => existsSync(join(teamsDir, v, 'MicrosoftTeams.Localization.schema.json')))
      .filter((v) => existsSync(join(teamsDir, v, 'MicrosoftTeams.schema.json')))
      .map((v) => Number(v.split('.')[1]));
    expect(filled().manifestVersion).toBe(`1.${Math.max(...complete)}`);
  });

  it.each<[string, (m: Manifest) => void]>([
    ['an unknown bot scope', (m) => m.bots[0]!.scopes.push('everyone')],
    ['a named accent colour', (m) => (m.accentColor = 'blue')],
    ['a short name over 30 characters', (m) => (m.name.short = 'RDP Doctor for every Azure Windows VM')],
    ['a bot id that is not a GUID', (m) => (m.bots[0]!.botId = 'rdp-doctor')],
    ['thirteen commands in one list', (m) => m.bots[0]!.commandLists[0]!.commands.push(...Array(8).fill({ title: 'x' }))],
    ['an unknown top-level property', (m) => Object.assign(m, { botName: 'RDP Doctor' })],
  ])('is rejected by the schema with %s', (_, mutate) => {
    const manifest = filled();
    mutate(manifest);
    expect(validateManifest(manifest).length).toBeGreaterThan(0);
  });

  it('runs the bot in personal, team and group chats without files', () => {
    const bot = filled().bots[0]!;
    expect([...bot.scopes].sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(bot.supportsFiles).toBe(false);
  });

  it.each(Object.entries(CONTRACT_COMMANDS))('lists the %s commands of CONTRACTS §5', (scope, titles) => {
    expect(commandsOf(filled(), scope)).toEqual(titles);
  });
});

describe('Russian localization', () => {
  const ru = readJson<Record<string, string>>('ru.json');

  it('is referenced by the manifest and valid against the localization schema', () => {
    const manifest = filled();
    expect(manifest.localizationInfo.additionalLanguages).toEqual([{ languageTag: 'ru', file: 'ru.json' }]);
    expect(validateLocalization(ru, manifest)).toEqual([]);
  });

  it('translates every command, with the Russian words of CONTRACTS §5', () => {
    const manifest = filled();
    manifest.bots[0]!.commandLists.forEach((list, i) =>
      list.commands.forEach((command, j) => {
        const key = `bots[0].commandLists[${i}].commands[${j}]`;
        expect(ru[`${key}.description`]).toBeTruthy();
        const russian = ru[`${key}.title`];
        expect(russian).toBeTruthy();
        const expected = CONTRACT_RUSSIAN[command.title];
        if (expected) expect(russian).toBe(expected);
      }),
    );
  });

  it('is rejected when a required text is missing, too long, or names a command that does not exist', () => {
    const manifest = filled();
    const { ['description.full']: _, ...missing } = ru;
    expect(validateLocalization(missing, manifest).length).toBeGreaterThan(0);
    expect(validateLocalization({ ...ru, 'name.short': 'x'.repeat(31) }, manifest).length).toBeGreaterThan(0);
    expect(validateLocalization({ ...ru, 'bots[0].commandLists[0].commands[9].title': 'лишняя' }, manifest)).toEqual([
      'bots[0].commandLists[0].commands[9].title names nothing in the manifest',
    ]);
  });
});

function isWhiteOrTransparent(image: RgbaImage): boolean {
  for (let i = 0; i < image.data.length; i += 4) {
    const [r, g, b, a] = image.data.subarray(i, i + 4);
    if (a !== 0 && (r !== 255 || g !== 255 || b !== 255)) return false;
  }
  return true;
}

describe('icons', () => {
  const color = readFileSync(join(MANIFEST_DIR, 'color.png'));
  const outline = readFileSync(join(MANIFEST_DIR, 'outline.png'));

  it('have the sizes Teams requires', () => {
    expect(readPngHeader(color)).toMatchObject({ width: 192, height: 192 });
    expect(readPngHeader(outline)).toMatchObject({ width: 32, height: 32 });
  });

  it('outline is white on a transparent background, and not empty', () => {
    const image = decodePng(outline);
    expect(isWhiteOrTransparent(image)).toBe(true);
    const opaque = image.data.filter((_, i) => i % 4 === 3 && image.data[i] === 255).length;
    expect(opaque).toBeGreaterThan(50);
    expect(image.data[3]).toBe(0); // the corner is background
  });

  it('colour icon is in colour and opaque in its centre', () => {
    const image = decodePng(color);
    expect(isWhiteOrTransparent(image)).toBe(false);
    const centre = (96 * 192 + 96) * 4;
    expect(image.data[centre + 3]).toBe(255);
  });

  it('are what manifest/make-icons.ts draws', () => {
    expect(Buffer.from(decodePng(color).data).equals(Buffer.from(colorIcon().data))).toBe(true);
    expect(Buffer.from(decodePng(outline).data).equals(Buffer.from(outlineIcon().data))).toBe(true);
  });

  it('the white-only check catches a coloured pixel', () => {
    const image = decodePng(outline);
    const i = image.data.findIndex((v, k) => k % 4 === 3 && v === 255) - 3;
    image.data[i + 1] = 0;
    expect(isWhiteOrTransparent(decodePng(encodePng(image)))).toBe(false);
  });
});

describe('package configuration', () => {
  const version = '0.1.0';
  const ok = { MicrosoftAppId: BOT_ID, BOT_DOMAIN: 'rdp-doctor.azurewebsites.net' };

  it('reads the bot id, the domain and the version', () => {
    expect(readPackageConfig({ ...ok, APP_VERSION: '2.0.1' }, version)).toEqual({ ...CONFIG, appVersion: '2.0.1' });
    expect(readPackageConfig(ok, version).appVersion).toBe('0.1.0');
  });

  it.each<[string, NodeJS.ProcessEnv]>([
    ['MicrosoftAppId', { BOT_DOMAIN: 'rdp-doctor.azurewebsites.net' }],
    ['MicrosoftAppId', { ...ok, MicrosoftAppId: 'not-a-guid' }],
    ['BOT_DOMAIN', { MicrosoftAppId: BOT_ID }],
    ['BOT_DOMAIN', { ...ok, BOT_DOMAIN: 'https://rdp-doctor.azurewebsites.net/api/messages' }],
    ['BOT_DOMAIN', { ...ok, BOT_DOMAIN: 'localhost' }],
    ['APP_VERSION', { ...ok, APP_VERSION: 'v1' }],
    ['TEAMS_APP_ID', { ...ok, TEAMS_APP_ID: 'app' }],
  ])('names %s when it is missing or invalid', (variable, env) => {
    let caught: unknown;
    try {
      readPackageConfig(env, version);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PackageConfigError);
    expect((caught as PackageConfigError).variable).toBe(variable);
    expect((caught as Error).message).toContain(variable);
    expect((caught as Error).message).not.toContain('\n');
  });
});

describe('app package zip', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rdp-doctor-manifest-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the filled manifest, the Russian file and both icons at its root', () => {
    const out = join(dir, 'build', 'rdp-doctor.zip');
    writeAppPackage(buildAppPackage(MANIFEST_DIR, CONFIG), out);
    const zip = new AdmZip(out);
    expect(zip.getEntries().map((e) => e.entryName).sort()).toEqual(['color.png', 'manifest.json', 'outline.png', 'ru.json']);
    const manifest = JSON.parse(zip.readAsText('manifest.json')) as Manifest;
    expect(manifest.bots[0]!.botId).toBe(BOT_ID);
    expect(validateManifest(manifest)).toEqual([]);
    expect(zip.getEntry('outline.png')!.getData().equals(readFileSync(join(MANIFEST_DIR, 'outline.png')))).toBe(true);
  });

  it('refuses a broken manifest or a wrong-sized icon', () => {
    const broken = join(dir, 'manifest');
    cpSync(MANIFEST_DIR, broken, { recursive: true, filter: (src) => !src.endsWith('.ts') });
    const template = JSON.parse(readFileSync(join(broken, 'manifest.template.json'), 'utf8')) as Manifest;
    template.accentColor = 'blue';
    writeFileSync(join(broken, 'manifest.template.json'), JSON.stringify(template));
    cpSync(join(MANIFEST_DIR, 'outline.png'), join(broken, 'color.png'));
    let caught: unknown;
    try {
      buildAppPackage(broken, CONFIG);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PackageValidationError);
    const problems = (caught as PackageValidationError).problems;
    expect(problems.some((p) => p.startsWith('/accentColor'))).toBe(true);
    expect(problems).toContain('color.png: color icon is 32x32, must be 192x192');
  });
});
