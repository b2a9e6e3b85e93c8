#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof; `npm run bench -- --only=1 --profile` writes them
// to bench/profiles/): the top functions by self time and by inclusive time, and the same grouped
// by file (node_modules packages folded to their package name). Inclusive time counts a function
// once per sample even when it recurses.
//
//   npm run profile                        # the newest profile in bench/profiles/
//   npm run profile -- FILE.cpuprofile --top=25
//   --startup        also count the process's start (the synchronous require of the entry module),
//                    left out by default: the bench measures turns, after /readyz
//   --callers=NAME   the call paths (--depth=N frames) that lead to functions whose key contains NAME
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 20);
const repo = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
let file = args.find((a) => !a.startsWith('--'));
if (!file) {
  const dir = join(repo, 'bench', 'profiles');
  let names = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'));
  } catch {
    // no profiles yet
  }
  if (!names.length) {
    process.stderr.write('no .cpuprofile given and none in bench/profiles/ (npm run bench -- --only=1 --profile)\n');
    process.exit(2);
  }
  file = join(dir, names.map((n) => [n, statSync(join(dir, n)).mtimeMs]).sort((a, b) => b[1] - a[1])[0][0]);
}

const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// time per sample: timeDeltas[i] is the time before sample i
const startup = args.includes('--startup');
const atStart = new Map();
const isStartup = (id) => {
  if (startup) return false;
  let v = atStart.get(id);
  if (v === undefined) {
    const n = nodes.get(id);
    v = n.callFrame.url === 'node:internal/main/run_main_module' || (parent.has(id) && isStartup(parent.get(id)));
    atStart.set(id, v);
  }
  return v;
};
const selfUs = new Map();
const deltas = profile.timeDeltas ?? [];
profile.samples.forEach((id, i) => {
  if (isStartup(id)) return;
  const d = deltas[i + 1] ?? deltas[i] ?? 0;
  selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, d));
});
const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);
function fileOf(url) {
  if (!url) return '(native)';
  const p = url.startsWith('file://') ? new URL(url).pathname : url;
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = p.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (p.startsWith('node:')) return p;
  return p.startsWith('/') ? relative(repo, p) : p;
}
function fnKey(n) {
  const cf = n.callFrame;
  const name = cf.functionName || '(anonymous)';
  if (SPECIAL.has(name)) return name;
  return `${name} ${fileOf(cf.url)}:${cf.lineNumber + 1}`;
}
function fileKey(n) {
  const name = n.callFrame.functionName;
  return SPECIAL.has(name) ? name : fileOf(n.callFrame.url);
}

// self and inclusive time, by function and by file; inclusive counts each key once per stack
function tally(keyOf) {
  const self = new Map();
  const incl = new Map();
  for (const [id, us] of selfUs) {
    const leaf = nodes.get(id);
    const k = keyOf(leaf);
    self.set(k, (self.get(k) ?? 0) + us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const key = keyOf(nodes.get(cur));
      if (key === '(root)' || seen.has(key)) continue;
      seen.add(key);
      incl.set(key, (incl.get(key) ?? 0) + us);
    }
  }
  return { self, incl };
}

const busyUs = totalUs - (tally(fileKey).self.get('(idle)') ?? 0);
function print(title, m) {
  process.stdout.write(`\n## ${title}\n\n| ms | % of busy | where |\n|---:|---:|---|\n`);
  const rows = [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, us] of rows) process.stdout.write(`| ${(us / 1000).toFixed(0)} | ${((100 * us) / busyUs).toFixed(1)} | \`${k.replace(/\|/g, '\\|')}\` |\n`);
}

process.stdout.write(`# ${relative(repo, file)}\n\n${(totalUs / 1e6).toFixed(1)} s sampled${startup ? '' : ' after start-up'}, ${(busyUs / 1e6).toFixed(1)} s busy (not idle)\n`);
const byFn = tally(fnKey);
const byFile = tally(fileKey);
print('by self time, per file (npm packages folded)', byFile.self);
print('by inclusive time, per file', byFile.incl);
print('by self time, per function', byFn.self);
print('by inclusive time, per function', byFn.incl);

// --callers=NAME: for functions whose key contains NAME, the call paths that lead to them (--depth frames up, 6 by default), by time
const depth = Number(args.find((a) => a.startsWith('--depth='))?.slice(8) ?? 6);
const callers = args.find((a) => a.startsWith('--callers='))?.slice(10);
if (callers) {
  const paths = new Map();
  for (const [id, us] of selfUs) {
    const chain = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) chain.push(fnKey(nodes.get(cur)));
    const at = chain.findIndex((k) => k.includes(callers));
    if (at < 0) continue;
    const key = chain.slice(at, at + depth).join(' <- ');
    paths.set(key, (paths.get(key) ?? 0) + us);
  }
  print(`call paths to ${callers} (inclusive)`, paths);
}
