import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv-draft-04';
import addFormats from 'ajv-formats';

/**
 * Offline validation against Microsoft's own Teams manifest schemas, as shipped by
 * @microsoft/app-manifest (a dev dependency: packaging is a build-time step).
 */

export type SchemaKind = 'manifest' | 'localization';

const SCHEMA_FILES: Record<SchemaKind, string> = {
  manifest: 'MicrosoftTeams.schema.json',
  localization: 'MicrosoftTeams.Localization.schema.json',
};

export function schemaPath(manifestVersion: string, kind: SchemaKind): string {
  if (!/^\d+\.\d+$/.test(manifestVersion)) throw new Error(`not a manifest schema version: ${manifestVersion}`);
  const pkg = dirname(require.resolve('@microsoft/app-manifest/package.json'));
  return join(pkg, 'build', 'json-schemas', 'teams', `v${manifestVersion}`, SCHEMA_FILES[kind]);
}

const compiled = new Map<string, ValidateFunction>();

function validator(manifestVersion: string, kind: SchemaKind): ValidateFunction {
  const path = schemaPath(manifestVersion, kind);
  let validate = compiled.get(path);
  if (!validate) {
    // unicodeRegExp off: a pattern in the localization schema is not a valid Unicode regex
    const ajv = new Ajv({ allErrors: true, strict: false, unicodeRegExp: false });
    addFormats(ajv);
    validate = ajv.compile(JSON.parse(readFileSync(path, 'utf8')) as object);
    compiled.set(path, validate);
  }
  return validate;
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`);
}

function versionOf(manifest: unknown): string {
  const version = (manifest as { manifestVersion?: unknown } | null)?.manifestVersion;
  return typeof version === 'string' ? version : '';
}

/** Schema errors of a filled manifest (the schema version is the manifest's own manifestVersion). */
export function validateManifest(manifest: unknown): string[] {
  const version = versionOf(manifest);
  if (!version) return ['/ must have a string manifestVersion'];
  const validate = validator(version, 'manifest');
  return validate(manifest) ? [] : describe(validate.errors);
}

/** Schema errors of a localization file, plus keys that point at nothing in the manifest. */
export function validateLocalization(localization: unknown, manifest: unknown): string[] {
  const validate = validator(versionOf(manifest), 'localization');
  const errors = validate(localization) ? [] : describe(validate.errors);
  if (localization && typeof localization === 'object') {
    for (const key of Object.keys(localization)) {
      if (key === '$schema' || key === 'localizationKeys') continue;
      if (resolveKey(manifest, key) === undefined) errors.push(`${key} names nothing in the manifest`);
    }
  }
  return errors;
}

/** Follows a localization key such as `bots[0].commandLists[1].commands[3].title` into the manifest. */
export function resolveKey(manifest: unknown, key: string): unknown {
  let node: unknown = manifest;
  for (const part of key.split('.')) {
    const m = /^([A-Za-z]+)((?:\[\d+\])*)$/.exec(part);
    if (!m || node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[m[1]!];
    for (const index of m[2]!.match(/\d+/g) ?? []) {
      if (!Array.isArray(node)) return undefined;
      node = node[Number(index)];
    }
  }
  return node;
}
