import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root seen from source (manifest/) or compiled code (dist/manifest/). */
export function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'manifest', 'manifest.template.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`manifest/manifest.template.json not found above ${from}`);
  }
}
