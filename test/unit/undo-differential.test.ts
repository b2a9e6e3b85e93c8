import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import type { ScriptParameter } from '../../services/azure/gateway';
import { UNDO_SCRIPT_IDS, scriptsDir } from '../../services/runbook/scripts';
import { undoScriptFor } from '../../services/runbook/undo';
import type { FixId } from '../../services/runbook/fixes';
import { canonicalWindows, type WindowsState } from '../../services/simulator/fleet';
import { emulateFix } from '../../services/simulator/vm-interior-fixes';
import { emulateUndo } from '../../services/simulator/vm-interior-undo';
import { pwshForTests } from '../support/pwsh';

/**
 * The TypeScript emulation of the undo scripts (vm-interior-undo.ts) against the real undo scripts
 * run by the modelled Windows: generated states x generated parameters (good, edge and bad ones),
 * each run twice (the second on the state the first left), and the undo of what the emulated fix printed on a generated state: the same status line and the
 * same canonical state afterwards. One pwsh batch. Without pwsh the suite is skipped with one line;
 * with CI=true a missing pwsh fails. (Kept apart from fix-differential.test.ts, whose owner is
 * changing its state generator.)
 */
const root = join(__dirname, '..', '..');
const modelDir = process.env.RDPD_MODEL_DIR ?? join(root, 'services', 'simulator', 'windows-model');
const runner = join(modelDir, 'Invoke-ModelScript.ps1');
const pwsh = pwshForTests('undo differential (emulation == undo scripts)');
const available = pwsh !== null && existsSync(runner);
const SEED = Number(process.env.UNDO_DIFF_SEED ?? 20261130);
const PER_SCRIPT = Number(process.env.UNDO_DIFF_RUNS ?? 12);
const NOW = '2026-11-30T12:00:00Z';

interface Run {
  id: string;
  scriptId: string;
  windows: WindowsState;
  scriptPath: string;
  parameters: ScriptParameter[];
  now: string;
}
interface ModelResult {
  id: string;
  stdout: string;
  stderr: string;
  windows: unknown;
  hung: boolean;
}

const dwordArb = fc.constantFrom<number | undefined>(undefined, 0, 1, 2, -1);
const tlsArb = fc.record({ Enabled: dwordArb, DisabledByDefault: dwordArb }).map((t) => {
  const o: { Enabled?: number; DisabledByDefault?: number } = {};
  if (t.Enabled !== undefined) o.Enabled = t.Enabled;
  if (t.DisabledByDefault !== undefined) o.DisabledByDefault = t.DisabledByDefault;
  return o;
});

/** A healthy Windows with the values the undo scripts touch generated. */
const stateArb = fc
  .record({
    port: fc.constantFrom(3389, 3390),
    tls10: fc.option(tlsArb, { nil: undefined }),
    tls11: fc.option(tlsArb, { nil: undefined }),
    tls12: fc.option(tlsArb, { nil: undefined }),
    ua: fc.constantFrom(undefined, 0, 1),
    neg: fc.constantFrom(undefined, 0, 1),
    sl: fc.constantFrom(undefined, 0, 1, 2),
    rule: fc.option(fc.record({ enabled: fc.boolean(), localPort: fc.constantFrom<number | string | string[]>(3389, '3390', ['3389', '3391'], 'Any') }), { nil: null }),
    damagedFirewall: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    // §1b: remote desktop switched off, TermService config
    rdpOff: fc.constantFrom('none', 'none', 'deny', 'listener', 'svc'),
  })
  .map((g): WindowsState => {
    const schannelServer: WindowsState['schannelServer'] = {};
    if (g.tls10) schannelServer['TLS 1.0'] = g.tls10;
    if (g.tls11) schannelServer['TLS 1.1'] = g.tls11;
    if (g.tls12) schannelServer['TLS 1.2'] = g.tls12;
    const rdpTcp: WindowsState['rdpTcp'] = {};
    if (g.ua !== undefined) rdpTcp.UserAuthentication = g.ua;
    if (g.neg !== undefined) rdpTcp.fAllowSecProtocolNegotiation = g.neg;
    if (g.sl !== undefined) rdpTcp.SecurityLayer = g.sl;
    return {
      rdpPort: g.port,
      listeners: [{ port: g.port, pid: 1104, process: 'svchost', services: ['TermService'] }],
      services: { TermService: g.rdpOff === 'svc' ? { state: 'Running', startName: 'LocalSystem' } : 'Running', SessionEnv: 'Running', UmRdpService: 'Running' },
      rdpCertificate: { thumbprint: '3F2A9C0D7E1B4A6C8D2E0F1A3B5C7D9E1F2A3B4C', notAfter: '2031-05-01T00:00:00Z', hasPrivateKey: true },
      sslCertificateSHA1Hash: null,
      machineKeysAcl: ['S-1-5-32-544:F', 'S-1-1-0:special'],
      rdpKeyFileAcl: ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'],
      schannelServer,
      rdpTcp,
      firewallRdpRule: g.rule,
      damage: g.damagedFirewall ? { cimClasses: ['MSFT_NetFirewallRule'] } : undefined,
      ...(g.rdpOff === 'deny' ? { terminalServer: { fDenyTSConnections: 1 } } : {}),
      ...(g.rdpOff === 'listener' ? { terminalServer: { TSServerDrainMode: 2 } } : {}),
      domainJoined: false,
      policyManagedKeys: [],
      events24h: { '36871': 1 },
      failedLogonSources: [],
    };
  });

const dwordParam = fc.constantFrom('keep', 'keep', 'absent', 'ABSENT', '0', '1', '2', '00', '4294967295', '4294967296', '-1', 'yes', '');
const paramsArb: Record<string, fc.Arbitrary<ScriptParameter[]>> = {
  'undo-enable-tls': fc
    .tuple(dwordParam, dwordParam, dwordParam, dwordParam, dwordParam, dwordParam, fc.integer({ min: 0, max: 63 }))
    .map(([a, b, c, d, e, f, omit]) =>
      (
        [
          ['Tls10Enabled', a],
          ['Tls10DisabledByDefault', b],
          ['Tls11Enabled', c],
          ['Tls11DisabledByDefault', d],
          ['Tls12Enabled', e],
          ['Tls12DisabledByDefault', f],
        ] as const
      )
        .filter((_, i) => (omit & (1 << i)) === 0)
        .map(([name, value]) => ({ name, value })),
    ),
  'undo-enable-nla': fc
    .tuple(dwordParam, dwordParam, dwordParam, fc.integer({ min: 0, max: 7 }))
    .map(([a, b, c, omit]) =>
      (
        [
          ['UserAuthentication', a],
          ['AllowSecProtocolNegotiation', b],
          ['SecurityLayer', c],
        ] as const
      )
        .filter((_, i) => (omit & (1 << i)) === 0)
        .map(([name, value]) => ({ name, value })),
    ),
  'undo-fix-firewall-rule': fc
    .tuple(fc.constantFrom('0', '1', '1', '1', '2', ''), fc.constantFrom('True', 'False', 'false', 'Maybe'), fc.constantFrom('3389', '3390', '3389.3391', '3390.3389', '', '0', '70000', 'Any', '3389,3390'))
    .map(([e, en, lp]) => [
      { name: 'Exists', value: e },
      { name: 'Enabled', value: en },
      { name: 'LocalPort', value: lp },
    ]),
  // §1b (famhost)
  'undo-allow-rdp-through-firewall': fc
    .tuple(fc.constantFrom('Public', 'Public', 'Domain', 'Private', 'public', ''), fc.constantFrom('', '', '1', '0'), fc.constantFrom('', '', 'False', 'True'), fc.constantFrom('', '', 'remove', 'True', 'False', 'x'), fc.constantFrom('3389', '3389', '3389.3390', '0', ''))
    .map(([p, b, bi, o, op]) => [
      { name: 'Profile', value: p },
      { name: 'BlockAll', value: b },
      { name: 'Builtin', value: bi },
      { name: 'Own', value: o },
      { name: 'OwnPort', value: op },
    ]),
  // --- §1b: remote desktop switched off, TermService config (more cases: test/unit/rdpoff-fixes.test.ts) ---
  'undo-allow-rdp-connections': fc.constantFrom('keep', 'absent', '0', '1', 'yes', '-1', '4294967296').map((v) => [{ name: 'DenyTSConnections', value: v }]),
  'undo-reset-rdp-listener': fc
    .tuple(dwordParam, dwordParam, dwordParam, dwordParam)
    .map(([a, b, c, d]) => [
      { name: 'EnableWinStation', value: a },
      { name: 'LogonDisabled', value: b },
      { name: 'TSEnabled', value: c },
      { name: 'TSServerDrainMode', value: d },
    ]),
  'undo-reset-termservice-config': fc
    .tuple(fc.constantFrom('keep', 'Auto', 'manual', 'Disabled', 'Boot'), fc.constantFrom('keep', 'LocalSystem', 'b64.TlQgQXV0aG9yaXR5XExvY2FsU2VydmljZQ==', 'b64.Q09OVE9TT1xzdmM='), fc.constantFrom('keep', 'own', 'share', 'kernel'))
    .map(([m, a, t]) => [
      { name: 'StartMode', value: m },
      { name: 'Account', value: a },
      { name: 'Type', value: t },
    ]),
};

/** undo-change-rdp-port and undo-reset-machinekeys-acl: their own states (no damaged firewall provider: both write rules or ACLs) and parameters. */
const noDamage = (w: WindowsState): WindowsState => ({ ...w, damage: undefined });
const withUdp = fc.tuple(stateArb, fc.constantFrom<null | string | string[]>(null, '3389', ['3390'], 'Any')).map(([w, udp]) =>
  noDamage(udp === null ? w : { ...w, firewall: { rules: [{ name: 'RemoteDesktop-UserMode-In-UDP', protocol: 'UDP', localPort: udp }] } }),
);
const ACL_BACKUP = 'C:\\ProgramData\\RDP Doctor\\backups\\machinekeys-acl-20261130120000.txt';
const withBackup = fc.tuple(stateArb, fc.constantFrom<string | null>(null, 'MachineKeys\r\nD:S-1-5-32-544:F\r\n', 'Other\r\nD:S-1-5-32-544:F\r\n', '')).map(([w, text]) =>
  noDamage(text === null ? w : { ...w, files: { [ACL_BACKUP]: text } }),
);
const STATE_ARB: Record<string, fc.Arbitrary<WindowsState>> = { 'undo-change-rdp-port': withUdp, 'undo-reset-machinekeys-acl': withBackup };
paramsArb['undo-change-rdp-port'] = fc
  .tuple(
    fc.constantFrom('3389', '3390', '443', '5985', '0', '70000', 'x', ''),
    fc.constantFrom('keep', 'KEEP', '0', '1', '1', '2'),
    fc.constantFrom('True', 'False', 'false', 'x'),
    fc.constantFrom('3389', '3389.3390', 'Any', '3389-3390', '', '0', '70000'),
    fc.constantFrom('keep', '3389', '3390', 'x'),
  )
  .map(([port, e, en, lp, udp]) => [
    { name: 'Port', value: port },
    { name: 'RuleExists', value: e },
    { name: 'RuleEnabled', value: en },
    { name: 'RuleLocalPort', value: lp },
    { name: 'UdpLocalPort', value: udp },
  ]);
paramsArb['undo-reset-machinekeys-acl'] = fc
  .tuple(
    fc.constantFrom('20261130120000', '20261130120000', '2026113012000x'),
    fc.constantFrom('0'.repeat(64), 'A'.repeat(64)),
    fc.constantFrom('0123456789abcdef', '0123456789abcdef', 'nothex'),
    fc.constantFrom('keep', 'S-1-5-32-544', 'S-1-5-18', 'bob'),
    fc.constantFrom('keep', 'keep', 'S-1-5-32-544'),
    fc.constantFrom('', 'f686aace6942fb7f7ceb231212eef4a4_6f1c2a3b-4d5e-4f60-8a71-92b3c4d5e6f7', 'b64.Li4vLi4v'),
  )
  .map(([stamp, hash, after, fo, ko, key]) => [
    { name: 'Stamp', value: stamp },
    { name: 'BackupHash', value: hash },
    { name: 'After', value: after },
    { name: 'FolderOwner', value: fo },
    { name: 'KeyOwner', value: ko },
    { name: 'KeyFile', value: key },
  ]);

/** fix -> undo chains: the undo parameters undo.ts derives from what the emulated fix printed (on a state made for the fix). */
const brokenAcl = (w: WindowsState): WindowsState => noDamage({ ...w, rdpKeyFileAcl: ['S-1-5-18:F', 'S-1-5-32-544:F'], machineKeysAcl: [...w.machineKeysAcl, 'S-1-5-20:R:deny'] });
const CHAINS: Array<[FixId, string, ScriptParameter[], ((w: WindowsState) => WindowsState)?]> = [
  ['enable-tls', 'fix-enable-tls', [{ name: 'Tls10', value: '1' }, { name: 'Tls11', value: '1' }]],
  ['enable-tls', 'fix-enable-tls', []],
  ['enable-nla', 'fix-enable-nla', []],
  ['fix-firewall-rule', 'fix-fix-firewall-rule', []],
  ['change-rdp-port', 'fix-change-rdp-port', [{ name: 'Port', value: '3391' }], (w) => noDamage({ ...w, firewall: { rules: [{ name: 'RemoteDesktop-UserMode-In-UDP', protocol: 'UDP', localPort: w.rdpPort }] } })],
  ['reset-machinekeys-acl', 'fix-reset-machinekeys-acl', [{ name: 'Scope', value: 'rdpkey' }], brokenAcl],
  ['reset-machinekeys-acl', 'fix-reset-machinekeys-acl', [{ name: 'Scope', value: 'all' }], brokenAcl],
  ['allow-rdp-through-firewall', 'fix-allow-rdp-through-firewall', []],
  ['allow-rdp-connections', 'fix-allow-rdp-connections', []],
  ['reset-rdp-listener', 'fix-reset-rdp-listener', []],
  ['reset-termservice-config', 'fix-reset-termservice-config', []],
];

function buildRuns(): Run[] {
  const runs: Run[] = [];
  const dir = scriptsDir();
  UNDO_SCRIPT_IDS.forEach((id, i) => {
    const cases = fc.sample(fc.tuple(STATE_ARB[id] ?? stateArb, paramsArb[id]), { seed: SEED + i, numRuns: PER_SCRIPT });
    cases.forEach(([w, ps], k) => {
      runs.push({ id: `gen${k}/${id}`, scriptId: id, windows: w, scriptPath: join(dir, `${id}.ps1`), parameters: ps, now: NOW });
      // the same undo again on the state the first run left (the emulation's; the first run's check holds it equal)
      const after = structuredClone(w);
      emulateUndo(after, id, ps, new Date(NOW));
      runs.push({ id: `again${k}/${id}`, scriptId: id, windows: after, scriptPath: join(dir, `${id}.ps1`), parameters: ps, now: NOW });
    });
  });
  CHAINS.forEach(([fixId, fixScript, fixParams, prepare], i) => {
    const states = fc.sample(stateArb, { seed: SEED + 100 + i, numRuns: PER_SCRIPT });
    states.forEach((w, k) => {
      const after = structuredClone(prepare ? prepare(w) : w);
      const fixed = emulateFix(after, fixScript, fixParams, new Date(NOW));
      const undo = undoScriptFor(fixId, JSON.parse(fixed.stdout) as Record<string, unknown>);
      if (!undo) return;
      runs.push({ id: `chain${i}.${k}/${undo.id}`, scriptId: undo.id, windows: after, scriptPath: join(dir, `${undo.id}.ps1`), parameters: undo.parameters, now: NOW });
      // the undo once more, on the state the first undo left: a noop (the ACL undo: its backup is gone)
      const twice = structuredClone(after);
      emulateUndo(twice, undo.id, undo.parameters, new Date(NOW));
      runs.push({ id: `chainagain${i}.${k}/${undo.id}`, scriptId: undo.id, windows: twice, scriptPath: join(dir, `${undo.id}.ps1`), parameters: undo.parameters, now: NOW });
    });
  });
  return runs;
}

async function runModel(runs: Run[]): Promise<ModelResult[]> {
  const tmp = mkdtempSync(join(tmpdir(), 'undo-diff-'));
  try {
    const req = join(tmp, 'req.json');
    const res = join(tmp, 'res.json');
    writeFileSync(req, JSON.stringify({ runs: runs.map(({ scriptId: _s, ...r }) => r) }));
    await promisify(execFile)(pwsh as string, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', runner, '-RequestFile', req, '-ResultFile', res], { maxBuffer: 64 * 1024 * 1024, timeout: 170_000 });
    return (JSON.parse(readFileSync(res, 'utf8').replace(/^\uFEFF/, '')) as { runs: ModelResult[] }).runs;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (!available) {
  it('the model runner exists when pwsh does', () => {
    expect(pwsh === null || existsSync(runner)).toBe(true);
  });
} else {
  describe('undo emulation == undo scripts under the modelled Windows', () => {
    const runs = buildRuns();
    let results = new Map<string, ModelResult>();
    beforeAll(async () => {
      console.log(`undo-differential: seed ${SEED}, ${runs.length} runs (UNDO_DIFF_SEED / UNDO_DIFF_RUNS to change)`);
      results = new Map((await runModel(runs)).map((r) => [r.id, r]));
    }, 180_000);

    it.each(UNDO_SCRIPT_IDS.map((id) => [id]))('%s: same status line and same state', (scriptId) => {
      const mismatches: string[] = [];
      const statuses = new Set<string>();
      let chains = 0;
      for (const run of runs.filter((r) => r.scriptId === scriptId)) {
        const m = results.get(run.id);
        if (!m) {
          mismatches.push(`${run.id}: no model result`);
          continue;
        }
        const w = structuredClone(run.windows);
        const e = emulateUndo(w, scriptId, run.parameters, new Date(NOW));
        const problems: string[] = [];
        if (m.stderr) problems.push(`model stderr: ${m.stderr.slice(0, 300)}`);
        if (m.hung) problems.push('model run hung');
        if (e.stdout !== m.stdout) problems.push(`stdout\n  emulation: ${e.stdout.trim()}\n  model:     ${m.stdout.trim()}`);
        const ce = JSON.stringify(canonicalWindows(w));
        const cm = JSON.stringify(canonicalWindows(m.windows as WindowsState));
        if (ce !== cm) problems.push(`state\n  emulation: ${ce}\n  model:     ${cm}\n  input: ${JSON.stringify(run.windows)}`);
        if (problems.length > 0) mismatches.push(`${run.id} ${JSON.stringify(run.parameters)}: ${problems.join('\n')}`);
        statuses.add((JSON.parse(e.stdout) as { status: string }).status);
        if (run.id.startsWith('chain')) chains++;
      }
      expect(mismatches.slice(0, 3)).toEqual([]);
      // the generated cases reach the change, the noop and the refusal, and undo a fix at least once
      // (the ACL undo has no noop: its backup is gone after it ran)
      expect([...statuses].sort()).toEqual(expect.arrayContaining(scriptId === 'undo-reset-machinekeys-acl' ? ['bad-param', 'done', 'backup-missing', 'backup-changed'] : ['bad-param', 'done', 'noop']));
      expect(chains).toBeGreaterThan(0);
    });
  });
}
