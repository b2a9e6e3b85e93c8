import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** Only services/azure (and the simulator, which serves the same API) may use the Azure SDK. */
const ROOT = join(__dirname, '..', '..');
const SCANNED = ['bot', 'dialogs', 'cards', 'services', 'cli'];
const ALLOWED = [join('services', 'azure') + sep, join('services', 'simulator') + sep];
const AZURE_SDK = /(?:from\s+|require\(\s*|import\(\s*)['"](@azure\/arm-[^'"]*|@azure\/identity[^'"]*)['"]/;

function tsFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') return [];
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

function offenders(root: string): string[] {
  return SCANNED.flatMap((d) => tsFiles(join(root, d)))
    .map((f) => relative(root, f))
    .filter((rel) => !ALLOWED.some((a) => rel.startsWith(a)))
    .filter((rel) => AZURE_SDK.test(readFileSync(join(root, rel), 'utf8')));
}

describe('Azure SDK boundary', () => {
  test('no file outside services/azure and services/simulator imports @azure/arm-* or @azure/identity', () => {
    expect(offenders(ROOT)).toEqual([]);
  });

  test('the scan does find such an import (it can fail)', () => {
    expect(AZURE_SDK.test("import { ComputeManagementClient } from '@azure/arm-compute';")).toBe(true);
    expect(AZURE_SDK.test("const { DefaultAzureCredential } = require('@azure/identity');")).toBe(true);
    expect(AZURE_SDK.test("import type { TokenCredential } from \"@azure/identity\";")).toBe(true);
    expect(AZURE_SDK.test("import { TableClient } from '@azure/data-tables';")).toBe(false);
    expect(tsFiles(join(ROOT, 'services', 'azure')).length).toBeGreaterThan(0);
  });
});
