#!/usr/bin/env node
// `npm run coverage [-- jest args]`: line and branch coverage per layer, counted across processes.
// jest collects the in-process tests (V8 coverage, mapped to the TypeScript sources); every bot,
// simulator and CLI process the tests start writes V8 coverage too (NODE_V8_COVERAGE, set by
// test/support/child-coverage.ts when RDP_CHILD_COVERAGE is set); the dist/ JavaScript of those is
// mapped back to the TypeScript through the build's source maps and merged. A SIGKILLed process
// writes nothing (the crash test's restarted bot does). Writes coverage/summary.{json,md}.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const v8ToIstanbul = require('v8-to-istanbul');
const { createCoverageMap, createCoverageSummary } = require('istanbul-lib-coverage');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'coverage');
const children = join(out, 'children');
const LAYERS = ['bot', 'dialogs', 'cards', 'services/incidents', 'services/runbook', 'services/azure', 'services/simulator', 'services/store', 'cli'];

const mergeOnly = process.argv.includes('--merge-only');
const jestArgs = process.argv.slice(2).filter((a) => a !== '--merge-only');

if (!mergeOnly) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(children, { recursive: true });
  const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  const jest = spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--coverage', '--maxWorkers=1', ...jestArgs], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, RDP_CHILD_COVERAGE: children },
  });
  if (jest.status !== 0) console.error(`coverage: jest exited ${jest.status}; the summary counts the tests that ran`);
}

const map = createCoverageMap({});
const jestFile = join(out, 'jest', 'coverage-final.json');
if (existsSync(jestFile)) map.merge(JSON.parse(readFileSync(jestFile, 'utf8')));
// the same per-layer figures from the jest workers alone, to show what the children add
const inProcess = createCoverageMap(JSON.parse(JSON.stringify(map.toJSON())));

// the children: only our compiled files, mapped back to their TypeScript sources
const distUrl = pathToFileURL(join(root, 'dist') + sep).href;
const sources = new Map();
const sourceOf = (path) => {
  if (!sources.has(path)) {
    const source = readFileSync(path, 'utf8');
    const mapPath = `${path}.map`;
    sources.set(path, existsSync(mapPath) ? { source, sourceMap: { sourcemap: JSON.parse(readFileSync(mapPath, 'utf8')) } } : null);
  }
  return sources.get(path);
};
let processes = 0;
for (const name of existsSync(children) ? readdirSync(children).filter((f) => f.endsWith('.json')) : []) {
  const raw = JSON.parse(readFileSync(join(children, name), 'utf8'));
  processes++;
  for (const script of raw.result ?? []) {
    if (!script.url.startsWith(distUrl) || !script.url.endsWith('.js')) continue;
    const path = fileURLToPath(script.url);
    const src = sourceOf(path);
    if (!src) continue;
    const conv = v8ToIstanbul(path, 0, src);
    await conv.load();
    conv.applyCoverage(script.functions);
    const data = conv.toIstanbul();
    // keep only our TypeScript (not the dist JavaScript, not tests)
    for (const key of Object.keys(data)) {
      const rel = relative(root, key).split(sep).join('/');
      if (!/\.ts$/.test(rel) || rel.startsWith('dist/') || rel.startsWith('test/')) delete data[key];
    }
    map.merge(data);
    conv.destroy();
  }
}

function summarize(map) {
const rows = [];
const total = createCoverageSummary();
for (const layer of LAYERS) {
  const sum = createCoverageSummary();
  let files = 0;
  for (const file of map.files()) {
    const rel = relative(root, file).split(sep).join('/');
    const owner = LAYERS.filter((l) => rel.startsWith(`${l}/`)).sort((a, b) => b.length - a.length)[0];
    if (owner !== layer) continue;
    const s = map.fileCoverageFor(file).toSummary();
    sum.merge(s);
    total.merge(s);
    files++;
  }
  rows.push({ layer, files, lines: sum.lines.pct, branches: sum.branches.pct, linesCovered: `${sum.lines.covered}/${sum.lines.total}`, branchesCovered: `${sum.branches.covered}/${sum.branches.total}` });
}
rows.push({ layer: 'all', files: rows.reduce((n, r) => n + r.files, 0), lines: total.lines.pct, branches: total.branches.pct, linesCovered: `${total.lines.covered}/${total.lines.total}`, branchesCovered: `${total.branches.covered}/${total.branches.total}` });
return rows;
}
const rows = summarize(map);
const jestOnly = summarize(inProcess);

const md = [
  `| layer | files | lines | branches |`,
  `|---|---:|---:|---:|`,
  ...rows.map((r) => `| ${r.layer === 'all' ? '**all**' : `\`${r.layer}\``} | ${r.files} | ${r.lines} % (${r.linesCovered}) | ${r.branches} % (${r.branchesCovered}) |`),
].join('\n');
mkdirSync(out, { recursive: true });
const jestOnlyLine = jestOnly.map((r) => `${r.layer} ${r.lines}/${r.branches}`).join(', ');
writeFileSync(join(out, 'summary.json'), JSON.stringify({ childProcesses: processes, layers: rows, inProcessOnly: jestOnly }, null, 2));
writeFileSync(join(out, 'summary.md'), `${md}\n`);
console.log(`\ncoverage across the jest workers and ${processes} child processes:\n${md}\n\nin-process only (lines/branches %): ${jestOnlyLine}`);
