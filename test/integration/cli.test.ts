import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../services/store/sqlite';
import { DEMO_EXPECTED } from '../support/demo-expectations';
import { pwshForTests } from '../support/pwsh';
import { childCoverageEnv } from '../support/child-coverage';

/** `rdp-doctor diagnose` (CONTRACTS §4) as a user runs it: the built CLI, a child process. */
const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'rdp-doctor.js');
const fleet = join(root, 'services', 'simulator', 'fleets', 'demo-fleet.json');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '', ...childCoverageEnv(), ...env }, timeout: 60000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cli', 'index.js'))) throw new Error('run `npm run build` first (npm test does it)');
});

describe('rdp-doctor diagnose --json', () => {
  it.each(Object.entries(DEMO_EXPECTED).filter(([vm]) => vm !== 'vm-busy-09'))('%s yields exactly its findings', async (vm, expected) => {
    // the emulation here; the same VMs through the real scripts below (SIM_SCRIPTS=pwsh)
    const r = await run(['diagnose', vm, '--fleet', fleet, '--json'], { SIM_SCRIPTS: 'emulate' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      vm: { name: string };
      findings: Array<{ id: string; severity: string; evidence: unknown[] }>;
      fixes: Array<{ id: string; addresses: string[] }>;
      runCommandCalls: number;
      armCalls: number;
      elapsedMs: number;
    };
    expect(out.vm.name).toBe(vm);
    expect(out.findings.map((f) => f.id)).toEqual(expected);
    for (const f of out.findings) expect(f.evidence.length).toBeGreaterThan(0);
    const blocked = vm === 'vm-stopped-07' || vm === 'vm-noagent-08';
    expect(out.runCommandCalls).toBe(blocked ? 0 : 1);
    expect(out.armCalls).toBeGreaterThan(0);
    expect(out.elapsedMs).toBeGreaterThanOrEqual(0);
    for (const f of out.fixes) expect(f.addresses.every((a) => expected.includes(a))).toBe(true);
  });

  it('prints findings in Russian with --lang ru', async () => {
    const r = await run(['diagnose', 'vm-tlsoff-06', '--fleet', fleet, '--lang', 'ru'], { SIM_SCRIPTS: 'emulate' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/TLS 1\.2 отключён для сервера \(tls-disabled\)/);
  });

  it('takes a full resource id', async () => {
    const id = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-portclash-03';
    const r = await run(['diagnose', id, '--fleet', fleet, '--json'], { SIM_SCRIPTS: 'emulate' });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { findings: Array<{ id: string }> }).findings.map((f) => f.id)).toEqual(['rdp-port-conflict']);
  });
});

const pwsh = pwshForTests('the CLI with SIM_SCRIPTS=pwsh');

describe('rdp-doctor diagnose --json: which engine ran the script', () => {
  it('SIM_SCRIPTS=emulate says "emulate"', async () => {
    const r = await run(['diagnose', 'vm-certexpired-04', '--fleet', fleet, '--json'], { SIM_SCRIPTS: 'emulate' });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { scriptEngine: string }).scriptEngine).toBe('emulate');
  });

  (pwsh ? it : it.skip).each(Object.entries(DEMO_EXPECTED).filter(([vm]) => vm !== 'vm-busy-09'))(
    'SIM_SCRIPTS=pwsh: %s gives the same findings from the real script, and says "pwsh"',
    async (vm, expected) => {
      const r = await run(['diagnose', vm, '--fleet', fleet, '--json'], { SIM_SCRIPTS: 'pwsh', PWSH: pwsh ?? '' });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { findings: Array<{ id: string }>; scriptEngine: string; runCommandCalls: number };
      expect(out.findings.map((f) => f.id)).toEqual(expected);
      expect(out.scriptEngine).toBe('pwsh');
      expect(out.runCommandCalls).toBe(vm === 'vm-stopped-07' || vm === 'vm-noagent-08' ? 0 : 1);
    },
  );

  it('SIM_SCRIPTS=pwsh without PowerShell is a one-line configuration error, exit 2', async () => {
    const r = await run(['diagnose', 'vm-healthy-01', '--fleet', fleet, '--json'], { SIM_SCRIPTS: 'pwsh', PWSH: '/nonexistent/pwsh' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/SIM_SCRIPTS=pwsh, but no PowerShell was found/);
  });
});

describe('rdp-doctor exit codes', () => {
  it.each([
    [['diagnose'], /missing VM name/],
    [['diagnose', 'vm-nothere-1', '--fleet', fleet], /no VM matches/],
    [['diagnose', 'vm;rm -rf /', '--fleet', fleet], /invalid VM name/],
    [['diagnose', 'vm-web-01', '--lang', 'de', '--fleet', fleet], /--lang must be en or ru/],
    [['frobnicate'], /unknown command/],
    [['diagnose', 'vm-healthy-01', '--fleet', '/nonexistent/fleet.json'], /cannot read fleet file/],
  ])('%p exits 2 with a clear message', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('refuses a fleet file that breaks the contract with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rdp-cli-'));
    const bad = join(dir, 'fleet.json');
    writeFileSync(bad, JSON.stringify({ subscriptionId: 'x', vms: [] }));
    const r = await run(['diagnose', 'vm-1', '--fleet', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid fleet file at subscriptionId/);
  });

  it('exits 1 when the diagnosis cannot run (another Run Command holds the VM)', async () => {
    const r = await run(['diagnose', 'vm-busy-09', '--fleet', fleet, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/in progress/);
  });
});

describe('rdp-doctor audit verify', () => {
  it('exits 0 on an intact log and 1 with the first bad seq after the SQLite file was edited (issue #12.7)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rdp-audit-cli-'));
    const store = SqliteStore.open(dataDir);
    for (const actor of ['alex', 'approver', 'rdp-doctor', 'alex']) await store.audit.append({ at: '2030-01-01T00:00:00.000Z', actor, action: 'x' });
    const file = store.db.name;
    await store.close();
    const ok = await run(['audit', 'verify', '--json'], { DATA_DIR: dataDir });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ storage: 'sqlite', ok: true, count: 4 });
    const raw = new Database(file);
    raw.exec("DROP TRIGGER audit_no_update; UPDATE audit_log SET details = '{\"approved\":false}' WHERE seq = 3;");
    raw.close();
    const broken = await run(['audit', 'verify', '--json'], { DATA_DIR: dataDir });
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, firstBadSeq: 3 });
    const text = await run(['audit', 'verify'], { DATA_DIR: dataDir });
    expect(text).toMatchObject({ code: 1, stdout: expect.stringMatching(/BROKEN at seq 3/) });
  });
});
