import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import AdmZip from 'adm-zip';
import { config as loadDotenv } from 'dotenv';
import { findRepoRoot } from './paths';
import { readPngHeader } from './png';
import { validateLocalization, validateManifest } from './validate';

/** `npm run package`: fills the Teams manifest from the environment and writes appPackage/build/rdp-doctor.zip. */

export interface PackageConfig {
  /** The bot's Microsoft App ID (MicrosoftAppId): bots[0].botId. */
  botAppId: string;
  /** The Teams app id (TEAMS_APP_ID, defaults to the bot's id). */
  teamsAppId: string;
  /** The public host name of the bot's endpoint (BOT_DOMAIN), e.g. rdp-doctor.azurewebsites.net. */
  botDomain: string;
  /** MAJOR.MINOR.PATCH (APP_VERSION, defaults to package.json's version). */
  appVersion: string;
}

/** Bad or missing configuration: names the variable; the CLI exits 2. */
export class PackageConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'PackageConfigError';
  }
}

/** The manifest or its files do not pass validation: a defect in manifest/, the CLI exits 1. */
export class PackageValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`the app package is not valid: ${problems.join('; ')}`);
    this.name = 'PackageValidationError';
  }
}

export const ICON_SIZES: Readonly<Record<'color' | 'outline', number>> = { color: 192, outline: 32 };
export const PACKAGE_FILE_NAME = 'rdp-doctor.zip';

const GUID = /^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const HOST_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const SEMVER = /^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)$/;

function isHostName(value: string): boolean {
  const labels = value.split('.');
  return value.length <= 253 && labels.length >= 2 && labels.every((l) => HOST_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1)!);
}

export function readPackageConfig(env: NodeJS.ProcessEnv, defaultVersion: string): PackageConfig {
  const botAppId = env['MicrosoftAppId']?.trim() ?? '';
  if (!botAppId) throw new PackageConfigError('MicrosoftAppId', "MicrosoftAppId is not set: give the bot's Microsoft App ID (a GUID)");
  if (!GUID.test(botAppId)) throw new PackageConfigError('MicrosoftAppId', `MicrosoftAppId is not a GUID: "${botAppId}"`);
  const teamsAppId = env['TEAMS_APP_ID']?.trim() || botAppId;
  if (!GUID.test(teamsAppId)) throw new PackageConfigError('TEAMS_APP_ID', `TEAMS_APP_ID is not a GUID: "${teamsAppId}"`);
  const botDomain = (env['BOT_DOMAIN']?.trim() ?? '').toLowerCase();
  if (!botDomain) throw new PackageConfigError('BOT_DOMAIN', "BOT_DOMAIN is not set: give the bot's public host name, e.g. rdp-doctor.azurewebsites.net");
  if (!isHostName(botDomain)) {
    throw new PackageConfigError('BOT_DOMAIN', `BOT_DOMAIN is not a host name (no https://, port or path): "${botDomain}"`);
  }
  const appVersion = env['APP_VERSION']?.trim() || defaultVersion;
  if (!SEMVER.test(appVersion)) throw new PackageConfigError('APP_VERSION', `APP_VERSION must be MAJOR.MINOR.PATCH: "${appVersion}"`);
  return { botAppId: botAppId.toLowerCase(), teamsAppId: teamsAppId.toLowerCase(), botDomain, appVersion };
}

function placeholders(config: PackageConfig): Record<string, string> {
  return {
    MicrosoftAppId: config.botAppId,
    TEAMS_APP_ID: config.teamsAppId,
    BOT_DOMAIN: config.botDomain,
    APP_VERSION: config.appVersion,
  };
}

/** Replaces every `{{NAME}}` in the template's strings; an unknown placeholder is an error. */
export function fillManifest<T>(template: T, config: PackageConfig): T {
  const values = placeholders(config);
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string') {
      return node.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
        const value = values[name];
        if (value === undefined) throw new PackageValidationError([`unknown placeholder {{${name}}} in the manifest template`]);
        return value;
      });
    }
    if (Array.isArray(node)) return node.map(fill);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v)]));
    return node;
  };
  return fill(template) as T;
}

interface ManifestShape {
  icons?: { color?: string; outline?: string };
  localizationInfo?: { additionalLanguages?: { file: string }[] };
}

export interface AppPackage {
  manifest: unknown;
  /** zip entry name -> content */
  files: Map<string, Buffer>;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

/** Builds and validates the package contents from manifest/ (template, localization files, icons). */
export function buildAppPackage(manifestDir: string, config: PackageConfig): AppPackage {
  const manifest = fillManifest(readJson(join(manifestDir, 'manifest.template.json')), config);
  const problems = validateManifest(manifest);
  const shape = manifest as ManifestShape;
  const files = new Map<string, Buffer>([['manifest.json', Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]]);

  for (const { file } of shape.localizationInfo?.additionalLanguages ?? []) {
    const localization = fillManifest(readJson(join(manifestDir, file)), config);
    problems.push(...validateLocalization(localization, manifest).map((p) => `${file}: ${p}`));
    files.set(file, Buffer.from(`${JSON.stringify(localization, null, 2)}\n`));
  }
  for (const kind of ['color', 'outline'] as const) {
    const file = shape.icons?.[kind];
    if (!file) continue; // the schema has already reported it
    const png = readFileSync(join(manifestDir, file));
    const { width, height } = readPngHeader(png);
    const size = ICON_SIZES[kind];
    if (width !== size || height !== size) problems.push(`${file}: ${kind} icon is ${width}x${height}, must be ${size}x${size}`);
    files.set(file, png);
  }
  if (problems.length > 0) throw new PackageValidationError(problems);
  return { manifest, files };
}

/** Writes the package as a zip with every file at its root. */
export function writeAppPackage(pkg: AppPackage, outFile: string): void {
  mkdirSync(dirname(outFile), { recursive: true });
  const zip = new AdmZip();
  for (const [name, content] of pkg.files) zip.addFile(name, content);
  zip.writeZip(outFile);
}

function main(): number {
  const root = findRepoRoot(__dirname);
  loadDotenv({ path: join(root, '.env'), quiet: true });
  const { version } = readJson(join(root, 'package.json')) as { version: string };
  try {
    const config = readPackageConfig(process.env, version);
    const outFile = join(root, 'appPackage', 'build', PACKAGE_FILE_NAME);
    writeAppPackage(buildAppPackage(join(root, 'manifest'), config), outFile);
    console.log(`wrote ${outFile} (app ${config.teamsAppId}, bot ${config.botAppId}, version ${config.appVersion})`);
    return 0;
  } catch (err) {
    if (err instanceof PackageConfigError) {
      console.error(err.message);
      return 2;
    }
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
}

if (require.main === module) process.exitCode = main();
