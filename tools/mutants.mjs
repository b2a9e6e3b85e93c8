#!/usr/bin/env node
// `npm run mutants [-- --only name,name] [-- --list]`: breaks the product on purpose, one mutation
// at a time, and expects the named tests to fail (issue #19). Each mutation is an exact text
// replaced in one file, in place; the file is written back in a `finally` (and on Ctrl-C), and the
// script refuses to start while any of those files differs from git's HEAD. Prints killed /
// survived; exit code 1 when a mutation survived. Slow (minutes per mutation): not part of CI.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** name, file, exact search text (must occur once), replacement (+ `also`: more [search, replace] in the same file), tests (+ `only`: a -t name pattern) */
const MUTANTS = [
  {
    name: 'nsg-sort-removed',
    file: 'services/runbook/nsg.ts',
    search: '.sort((a, b) => a.priority - b.priority)',
    replace: '',
    tests: ['test/unit/runbook-nsg.test.ts', 'test/unit/fix-plan.test.ts'],
  },
  {
    name: 'dollar-through-base64-whitelist',
    file: 'services/runbook/scripts.ts',
    search: 'const SAFE = /^[A-Za-z0-9.-]*$/;',
    replace: 'const SAFE = /^[A-Za-z0-9.$-]*$/;',
    tests: ['test/unit/hardening-params.test.ts', 'test/unit/runbook-scripts.test.ts'],
  },
  {
    name: 'approver-check-disabled (op log alone)',
    file: 'services/incidents/approvals.ts',
    search: "    if (!this.isApprover(actor)) {\n      await this.audit(actor, 'approval.refused', approval, { reason: 'not-approver', decision });",
    replace: "    if (false && !this.isApprover(actor)) {\n      await this.audit(actor, 'approval.refused', approval, { reason: 'not-approver', decision });",
    tests: ['test/integration/fix-approval.test.ts'],
    only: 'judged by the operation log',
  },
  {
    name: 'self-approval-check-disabled',
    file: 'services/incidents/approvals.ts',
    search: 'if (samePerson(approval.requester, actor) && !this.deps.policy.allowSelfApproval) {',
    replace: 'if (false && samePerson(approval.requester, actor) && !this.deps.policy.allowSelfApproval) {',
    tests: ['test/integration/fix-approval.test.ts'],
    only: 'cannot approve their own request',
  },
  {
    name: 'extra-run-command',
    file: 'services/incidents/diagnosis.ts',
    search: "    await opts.onPhase?.('analysis');",
    replace: "    await gateway.runScript(vm.id, { scriptId: DIAGNOSE_SCRIPT.id, script: DIAGNOSE_SCRIPT.source, parameters: diagnoseParameters(opts.since) });\n    await opts.onPhase?.('analysis');",
    tests: ['test/integration/diagnosis-chat.test.ts'],
  },
  {
    name: 'brute-force-threshold-moved',
    file: 'services/runbook/findings.ts',
    search: 'export const BRUTE_FORCE_THRESHOLD = 100;',
    replace: 'export const BRUTE_FORCE_THRESHOLD = 101;',
    tests: ['test/unit/runbook-findings.test.ts'],
  },
  {
    name: 'expiry-sweep-disabled',
    file: 'services/incidents/approvals.ts',
    search: '      if (Date.parse(a.expiresAt) > this.now().getTime()) continue;',
    replace: '      continue;',
    tests: ['test/integration/guarantees-decisions.test.ts'],
    only: 'expiry sweep',
  },
  {
    name: 'tamper-check-disabled (approval seal)',
    file: 'services/incidents/approvals.ts',
    search: '    if (approvalHash(approval) !== approval.paramsHash) {',
    replace: '    if (false && approvalHash(approval) !== approval.paramsHash) {',
    tests: ['test/integration/guarantees-decisions.test.ts'],
    only: 'break the seal',
  },
  {
    name: 'tamper-check-disabled (job vs approval)',
    file: 'services/incidents/fix-runner.ts',
    search: "approval.state !== 'approved' || approvalHash(job) !== approval.paramsHash || job.paramsHash !== approval.paramsHash || !incident",
    replace: "approval.state !== 'approved' || !incident",
    tests: ['test/integration/guarantees-decisions.test.ts'],
    only: 'does not match its approval',
  },
  {
    name: 'duplicate-merge-disabled',
    file: 'services/incidents/approvals.ts',
    search: '    if (existing) return { approval: existing, created: false };',
    replace: '    if (false && existing) return { approval: existing, created: false };',
    tests: ['test/integration/trust.test.ts'],
    only: '20 clicks on the same request',
  },
  {
    name: 'script-ok-false-ignored',
    file: 'services/incidents/fix-runner.ts',
    search: '    if (!status || status.ok !== true) {',
    replace: '    if (!status) {',
    tests: ['test/integration/guarantees-jobs.test.ts'],
    only: 'ok:false',
  },
  {
    // the claim's busy check and the unique index behind it (either alone still keeps one job per VM)
    name: 'one-job-per-vm-claim-removed',
    file: 'services/store/sqlite-records.ts',
    search: '      if (busy && busy.n > 0) return null;',
    replace: '',
    also: [["CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_running_per_vm ON jobs(vm_key) WHERE state = 'running';", '']],
    tests: ['test/integration/guarantees-jobs.test.ts'],
    only: 'one job at a time',
  },
];

const args = process.argv.slice(2);
if (args.includes('--list')) {
  for (const m of MUTANTS) console.log(`${m.name}\t${m.file}\t${m.tests.join(' ')}${m.only ? ` -t "${m.only}"` : ''}`);
  process.exit(0);
}
const onlyArg = args[args.indexOf('--only') + 1];
const chosen = args.includes('--only') && onlyArg ? MUTANTS.filter((m) => onlyArg.split(',').some((n) => m.name.startsWith(n))) : MUTANTS;
if (chosen.length === 0) {
  console.error('mutants: no mutation by that name (--list shows them)');
  process.exit(2);
}

const files = [...new Set(chosen.map((m) => m.file))];
const dirty = spawnSync('git', ['status', '--porcelain', '--', ...files], { cwd: root, encoding: 'utf8' });
if (dirty.status !== 0 || dirty.stdout.trim()) {
  console.error(`mutants: refusing to run: these files differ from HEAD (commit or stash them first):\n${dirty.stdout || dirty.stderr}`);
  process.exit(2);
}

let restore = null;
const onSignal = () => {
  restore?.();
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const results = [];
for (const m of chosen) {
  const path = join(root, m.file);
  const original = readFileSync(path, 'utf8');
  const edits = [[m.search, m.replace], ...(m.also ?? [])];
  const hits = Math.min(...edits.map(([search]) => original.split(search).length - 1));
  if (hits !== 1 || edits.some(([search]) => original.split(search).length !== 2)) {
    results.push({ name: m.name, outcome: `not applied (search text found ${hits} times)` });
    continue;
  }
  restore = () => writeFileSync(path, original);
  const started = Date.now();
  let outcome;
  try {
    writeFileSync(path, edits.reduce((text, [search, replace]) => text.replace(search, () => replace), original));
    const usesDist = m.tests.some((t) => t.startsWith('test/integration/'));
    if (usesDist) spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });
    const jest = spawnSync(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--maxWorkers=1', ...m.tests, ...(m.only ? ['-t', m.only] : [])], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: '' },
      maxBuffer: 256 * 1024 * 1024,
    });
    const failed = /Tests:\s+(\d+) failed/.exec(`${jest.stdout}${jest.stderr}`);
    outcome = jest.status !== 0 ? `killed${failed ? ` (${failed[1]} failed)` : ` (jest exit ${jest.status})`}` : 'SURVIVED';
  } finally {
    restore();
    restore = null;
  }
  results.push({ name: m.name, outcome, seconds: Math.round((Date.now() - started) / 1000) });
  console.log(`${m.name}: ${outcome}`);
}
// dist/ back to the unmutated code
if (chosen.some((m) => m.tests.some((t) => t.startsWith('test/integration/')))) spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'ignore' });

const width = Math.max(...results.map((r) => r.name.length));
console.log(`\n${'mutation'.padEnd(width)}  outcome`);
for (const r of results) console.log(`${r.name.padEnd(width)}  ${r.outcome}${r.seconds !== undefined ? ` (${r.seconds} s)` : ''}`);
process.exit(results.every((r) => r.outcome.startsWith('killed')) ? 0 : 1);
