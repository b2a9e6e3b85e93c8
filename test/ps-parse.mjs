// Parses every shipped PowerShell script with tree-sitter-powershell and exits non-zero on a syntax error.
// ESM because the grammar package is ESM with top-level await (jest's CommonJS runtime cannot load it).
// Usage: node test/ps-parse.mjs [file.ps1 ...]   (default: services/runbook/scripts/**/*.ps1 and the offline scripts)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Parser from 'tree-sitter';
import PowerShell from 'tree-sitter-powershell';

const root = join(fileURLToPath(import.meta.url), '..', '..');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.toLowerCase().endsWith('.ps1')) out.push(p);
  }
  return out;
}

function firstError(node) {
  if (node.type === 'ERROR' || node.isMissing) return node;
  for (const child of node.children) {
    if (child.hasError || child.isMissing || child.type === 'ERROR') {
      const e = firstError(child);
      if (e) return e;
    }
  }
  return node.hasError ? node : null;
}

const files = process.argv.length > 2 ? process.argv.slice(2) : walk(join(root, 'services', 'runbook', 'scripts'));
if (files.length === 0) {
  console.error('no .ps1 files found');
  process.exit(2);
}
const parser = new Parser();
parser.setLanguage(PowerShell);
let failed = 0;
for (const f of files) {
  // tree-sitter's default input buffer is small; pass a bigger one for long scripts
  const src = readFileSync(f, 'utf8');
  const tree = parser.parse(src, undefined, { bufferSize: Math.max(32 * 1024, src.length * 2) });
  if (tree.rootNode.hasError) {
    failed++;
    const e = firstError(tree.rootNode);
    const pos = e ? `${e.startPosition.row + 1}:${e.startPosition.column + 1}` : '?';
    const line = e ? src.split('\n')[e.startPosition.row] : '';
    console.error(`SYNTAX ERROR ${relative(root, f)}:${pos}: ${line.trim()}`);
  } else {
    console.log(`ok ${relative(root, f)}`);
  }
}
process.exit(failed > 0 ? 1 : 0);
