import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_EXPECTED } from '../support/demo-expectations';
import { childCoverageEnv } from '../support/child-coverage';

/** `rdp-doctor sweep` as a user runs it: the built CLI, a child process, the demo fleet. */
const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'rdp-doctor.js');
const fleet = join(root, 'services', 'simulator', 'fleets', 'demo-fleet.json');
const VMS = (JSON.parse(readFileSync(fleet, 'utf8')) as { vms: unknown[] }).vms.length;

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', SIM_SCRIPTS: 'emulate', ...childCoverageEnv(), ...env }, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'sweep.js'))) throw new Error('run `npm run build` first (npm test does it)');
});

interface Digest {
  state: string;
  total: number;
  done: number;
  counts: Record<string, number>;
  vms: Array<{ vmName: string; findings: string[]; worst: string | null; skipped?: string }>;
  runCommands: number;
  skipped?: Record<string, number>;
}

it('fast --json: the digest of every demo VM, ARM reads only, exit 0', async () => {
  const r = await run(['sweep', '--fleet', fleet, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const d = JSON.parse(r.stdout) as Digest;
  expect(d).toMatchObject({ state: 'done', total: VMS, done: VMS, runCommands: 0 });
  expect(d.vms.find((v) => v.vmName === 'vm-stopped-07')?.findings).toEqual(['vm-not-running']);
  expect(d.vms.find((v) => v.vmName === 'vm-private-36')?.findings).toEqual(['vm-not-running', 'rdp-no-public-ip']);
  expect(d.vms.find((v) => v.vmName === 'vm-healthy-01')).toBeUndefined();
});

it('deep --json: the diagnosis findings of the demo fleet (as diagnose finds them), the busy VM skipped', async () => {
  const r = await run(['sweep', '--fleet', fleet, '--deep', '--json']);
  expect(r.code).toBe(0);
  const d = JSON.parse(r.stdout) as Digest;
  expect(d.state).toBe('done');
  for (const [vm, expected] of Object.entries(DEMO_EXPECTED)) {
    if (vm === 'vm-busy-09') continue;
    const got = d.vms.find((v) => v.vmName === vm)?.findings ?? [];
    expect({ vm, findings: [...got].sort() }).toEqual({ vm, findings: [...(expected as string[])].sort() });
  }
  expect(d.vms.find((v) => v.vmName === 'vm-busy-09')?.skipped).toBe('busy');
}, 240_000);

it('text in Russian', async () => {
  const r = await run(['sweep', '--fleet', fleet, '--lang', 'ru']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^Быстрая проверка .*: завершена, проверено ВМ: ${VMS} из ${VMS}`));
  expect(r.stdout).toContain('ВМ не запущена (vm-not-running)');
});

it.each([
  [['--subscription', '11111111-1111-1111-1111-111111111111'], 'out-of-scope'],
  [['--subscription', 'nope'], 'bad-input'],
  [['--resource-group', 'a/b'], 'bad-input'],
  [['extra'], 'usage'],
])('refuses %j with exit 2 and the error code', async (extra, code) => {
  const r = await run(['sweep', '--fleet', fleet, '--json', ...extra]);
  expect(r.code).toBe(2);
  expect(JSON.parse(r.stdout)).toMatchObject({ error: { code } });
});
