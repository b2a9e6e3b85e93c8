import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import type { ScriptParameter } from '../../services/azure/gateway';
import { FIX_SCRIPT_IDS, scriptsDir } from '../../services/runbook/scripts';
import { canonicalWindows, type WindowsState } from '../../services/simulator/fleet';
import { emulateFix } from '../../services/simulator/vm-interior-fixes';
import { demoFleetVms } from './runbook-helpers';
import { pwshForTests } from '../support/pwsh';

/**
 * The TypeScript emulation of the fix scripts against the real scripts run by the modelled Windows:
 * every fix script x every demo VM x generated states, same parameters, same `now`: the same
 * status line and the same canonical state afterwards. All runs go to the model runner in two
 * batches (one pwsh per core). Without pwsh the suite is skipped with one line; with CI=true a
 * missing pwsh fails.
 */
const root = join(__dirname, '..', '..');
const modelDir = process.env.RDPD_MODEL_DIR ?? join(root, 'services', 'simulator', 'windows-model');
const runner = join(modelDir, 'Invoke-ModelScript.ps1');
const pwsh = pwshForTests('fix differential (emulation == fix scripts)');
const available = pwsh !== null && existsSync(runner);
const SEED = Number(process.env.FIX_DIFF_SEED ?? 20261130);
const PER_SCRIPT = Number(process.env.FIX_DIFF_RUNS ?? 6);
const NOW = '2026-11-30T12:00:00Z';

interface Run {
  id: string;
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
  virtualSeconds: number;
}

const THUMB = '3F2A9C0D7E1B4A6C8D2E0F1A3B5C7D9E1F2A3B4C';
const OTHER = 'ABABABABABABABABABABABABABABABABABABABAB';
const svcArb = (hangsWeight: number) =>
  fc.record({
    state: fc.constantFrom('Running' as const, 'Stopped' as const),
    startMode: fc.constantFrom('Manual' as const, 'Auto' as const, 'Disabled' as const),
    hangs: fc.integer({ min: 0, max: 99 }).map((n) => n < hangsWeight),
  });
const aclArb = fc.constantFrom(
  ['S-1-5-32-544:F', 'S-1-1-0:special'],
  ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-1-0:special'],
  ['S-1-5-32-544:R'],
  ['S-1-5-18:R:deny', 'S-1-5-32-544:F', 'S-1-1-0:special'],
  ['S-1-1-0:special', 'S-1-5-32-544:F', 'S-1-5-18:F', 'S-1-5-18:F'],
);
const keyAclArb = fc.constantFrom(
  ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'],
  ['S-1-5-18:F', 'S-1-5-32-544:F'],
  ['S-1-5-18:F'],
  ['S-1-5-20:R:deny', 'S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'],
  ['S-1-1-0:R:deny', 'S-1-5-18:F', 'S-1-5-32-544:F'],
  ['S-1-5-20:RX'],
);

/** A generated Windows state: consistent listeners, any mix of the causes the fixes handle. */
const stateArb = fc
  .record({
    port: fc.constantFrom(3389, 3390),
    term: svcArb(8),
    sessionEnv: svcArb(6),
    um: fc.constantFrom('Running', 'Stopped'),
    clash: fc.constantFrom(0, 0, 1, 2),
    clashSvc: svcArb(8),
    rule: fc.option(fc.record({ enabled: fc.boolean(), other: fc.boolean() }), { nil: null }),
    extraRule: fc.boolean(),
    cert: fc.option(
      fc.record({
        days: fc.constantFrom(-30, 5, 400),
        hasKey: fc.boolean(),
        store: fc.constantFrom('Remote Desktop' as const, 'Remote Desktop' as const, 'My' as const),
        key: fc.constantFrom('ok' as const, 'ok' as const, 'missing' as const, 'unreadable' as const),
      }),
      { nil: null },
    ),
    hash: fc.constantFrom('none', 'none', 'cert', 'other'),
    mkAcl: aclArb,
    keyAcl: fc.option(keyAclArb, { nil: null }),
    keyOwner: fc.constantFrom('S-1-5-32-544', 'S-1-5-32-544', 'S-1-5-20'),
    tls12: fc.constantFrom({}, { Enabled: 0 }, { Enabled: 1, DisabledByDefault: 1 }, { Enabled: 1, DisabledByDefault: 0 }),
    rdpTcp: fc.record({ SecurityLayer: fc.constantFrom(0, 1, 2), UserAuthentication: fc.constantFrom(0, 1), fAllowSecProtocolNegotiation: fc.constantFrom(0, 1) }),
    listener: fc.constantFrom('ok', 'ok', 'ok', 'winstation', 'lan', 'deny', 'policyDeny'),
    domain: fc.constantFrom('none', 'ok', 'broken'),
    policy: fc.constantFrom('none', 'none', 'ua', 'tls'),
  })
  .map((g): WindowsState => {
    const now = Date.parse(NOW);
    const services: WindowsState['services'] = {
      TermService: { ...g.term, startMode: g.term.state === 'Running' && g.term.startMode === 'Disabled' ? 'Manual' : g.term.startMode },
      SessionEnv: g.sessionEnv,
      UmRdpService: g.term.state === 'Running' ? g.um : 'Stopped',
    };
    const listeners: WindowsState['listeners'] = [];
    const clashNames = ['TomcatAgent', 'TomcatHelper'].slice(0, g.clash);
    if (g.clash > 0) {
      listeners.push({ port: g.port, pid: 4242, process: 'java', services: clashNames });
      for (const n of clashNames) services[n] = { ...g.clashSvc, state: 'Running' };
    }
    if (g.term.state === 'Running' && g.clash === 0 && g.listener !== 'winstation') listeners.push({ port: g.port, pid: 1104, process: 'svchost', services: ['TermService'] });
    const thumb = THUMB;
    return {
      rdpPort: g.port,
      listeners,
      services,
      rdpCertificate: g.cert
        ? { thumbprint: thumb, notAfter: new Date(now + g.cert.days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'), hasPrivateKey: g.cert.hasKey, store: g.cert.store, key: g.cert.key }
        : null,
      sslCertificateSHA1Hash: g.hash === 'cert' && g.cert ? thumb : g.hash === 'other' ? OTHER : null,
      machineKeysAcl: [...g.mkAcl],
      rdpKeyFileAcl: g.cert && g.cert.key !== 'missing' ? [...(g.keyAcl ?? ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'])] : g.keyAcl ? [...g.keyAcl] : null,
      rdpKeyFileOwner: g.keyOwner,
      schannelServer: { 'TLS 1.0': {}, 'TLS 1.1': { Enabled: 0 }, 'TLS 1.2': g.tls12 },
      rdpTcp: { ...g.rdpTcp, ...(g.listener === 'winstation' ? { fEnableWinStation: 0 } : {}), ...(g.listener === 'lan' ? { LanAdapter: 1 } : {}) },
      terminalServer: g.listener === 'deny' ? { fDenyTSConnections: 1 } : undefined,
      firewallRdpRule: g.rule ? { enabled: g.rule.enabled, localPort: g.rule.other ? 3391 : g.port } : null,
      firewall: g.extraRule ? { rules: [{ name: 'RemoteDesktop-UserMode-In-UDP', protocol: 'UDP', localPort: String(g.port) }] } : undefined,
      domainJoined: g.domain !== 'none',
      secureChannel: g.domain === 'broken' ? false : undefined,
      policyManagedKeys: g.policy === 'tls' ? ['SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server\\Enabled'] : [],
      policyValues:
        g.listener === 'policyDeny'
          ? { 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\fDenyTSConnections': 1 }
          : g.policy === 'ua'
            ? { 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\UserAuthentication': 0 }
            : undefined,
      events24h: { '1057': 1, '36870': 2 },
      failedLogonSources: [],
    };
  });

const paramsArb: Record<string, fc.Arbitrary<ScriptParameter[]>> = {
  'fix-free-rdp-port': fc
    .tuple(fc.constantFrom('TomcatAgent', 'TomcatAgent,TomcatHelper', 'b64.VG9tY2F0QWdlbnQsVG9tY2F0SGVscGVy', 'TermService', 'b64.!!', 'NoSuchSvc'), fc.constantFrom('0', '1', 'yes'))
    .map(([s, d]) => [{ name: 'Service', value: s }, { name: 'Disable', value: d }]),
  'fix-change-rdp-port': fc.constantFrom('3390', '3391', '3389', '50000', '80').map((p) => [{ name: 'Port', value: p }]),
  'fix-reset-machinekeys-acl': fc.constantFrom('rdpkey', 'rdpkey', 'all', 'bad').map((s) => [{ name: 'Scope', value: s }]),
  'fix-enable-tls': fc.tuple(fc.constantFrom('0', '1'), fc.constantFrom('0', '1', 'x')).map(([a, b]) => [{ name: 'Tls10', value: a }, { name: 'Tls11', value: b }]),
};
const noParams = fc.constant<ScriptParameter[]>([]);

const DEMO_PARAMS: Record<string, ScriptParameter[]> = {
  'fix-free-rdp-port': [{ name: 'Service', value: 'TomcatAgent' }, { name: 'Disable', value: '0' }],
  'fix-change-rdp-port': [{ name: 'Port', value: '3390' }],
  'fix-reset-machinekeys-acl': [{ name: 'Scope', value: 'rdpkey' }],
  'fix-enable-tls': [{ name: 'Tls10', value: '0' }, { name: 'Tls11', value: '0' }],
};

function buildRuns(): Run[] {
  const runs: Run[] = [];
  const dir = scriptsDir();
  // demo VMs with the same interior (healthy ones) run once
  const seen = new Set<string>();
  for (const vm of demoFleetVms()) {
    if (!vm.windows || seen.has(JSON.stringify(vm.windows))) continue;
    seen.add(JSON.stringify(vm.windows));
    for (const id of FIX_SCRIPT_IDS) {
      runs.push({ id: `${vm.name}/${id}`, windows: structuredClone(vm.windows), scriptPath: join(dir, `${id}.ps1`), parameters: DEMO_PARAMS[id] ?? [], now: NOW });
    }
  }
  FIX_SCRIPT_IDS.forEach((id, i) => {
    const cases = fc.sample(fc.tuple(stateArb, paramsArb[id] ?? noParams), { seed: SEED + i, numRuns: PER_SCRIPT });
    cases.forEach(([w, ps], k) => runs.push({ id: `gen${k}/${id}`, windows: w, scriptPath: join(dir, `${id}.ps1`), parameters: ps, now: NOW }));
  });
  return runs;
}

async function runModel(runs: Run[]): Promise<ModelResult[]> {
  const tmp = mkdtempSync(join(tmpdir(), 'fix-diff-'));
  try {
    const batches = [runs.filter((_, i) => i % 2 === 0), runs.filter((_, i) => i % 2 === 1)];
    const out = await Promise.all(
      batches.map(async (batch, b) => {
        const req = join(tmp, `req${b}.json`);
        const res = join(tmp, `res${b}.json`);
        writeFileSync(req, JSON.stringify({ runs: batch }));
        await promisify(execFile)(pwsh as string, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', runner, '-RequestFile', req, '-ResultFile', res], { maxBuffer: 64 * 1024 * 1024, timeout: 170_000 });
        return (JSON.parse(readFileSync(res, 'utf8')) as { runs: ModelResult[] }).runs;
      }),
    );
    return out.flat();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (!available) {
  // pwshForTests printed the one line (or threw with CI=true); a missing runner is a broken checkout
  it('the model runner exists when pwsh does', () => {
    expect(pwsh === null || existsSync(runner)).toBe(true);
  });
} else {
  describe('fix emulation == fix scripts under the modelled Windows', () => {
    const runs = buildRuns();
    let results = new Map<string, ModelResult>();
    beforeAll(async () => {
      console.log(`fix-differential: seed ${SEED}, ${runs.length} runs (FIX_DIFF_SEED / FIX_DIFF_RUNS to change)`);
      results = new Map((await runModel(runs)).map((r) => [r.id, r]));
    }, 180_000);

    it.each(FIX_SCRIPT_IDS.map((id) => [id]))('%s: same status line and same state', (scriptId) => {
      const mismatches: string[] = [];
      let n = 0;
      for (const run of runs.filter((r) => r.id.endsWith(`/${scriptId}`))) {
        const m = results.get(run.id);
        if (!m) {
          mismatches.push(`${run.id}: no model result`);
          continue;
        }
        n++;
        const w = structuredClone(run.windows);
        const e = emulateFix(w, scriptId, run.parameters, new Date(run.now));
        const problems: string[] = [];
        if (m.stderr) problems.push(`model stderr: ${m.stderr.slice(0, 300)}`);
        if (m.hung) problems.push('model run hung');
        if (e.stdout !== m.stdout) problems.push(`stdout\n  emulation: ${e.stdout.trim()}\n  model:     ${m.stdout.trim()}`);
        const ce = JSON.stringify(canonicalWindows(w));
        const cm = JSON.stringify(canonicalWindows(m.windows as WindowsState));
        if (ce !== cm) problems.push(`state\n  emulation: ${ce}\n  model:     ${cm}\n  input: ${JSON.stringify(run.windows)} ${JSON.stringify(run.parameters)}`);
        if (problems.length > 0) mismatches.push(`${run.id} ${JSON.stringify(run.parameters)}: ${problems.join('\n')}`);
      }
      expect(n).toBeGreaterThan(0);
      expect(mismatches.slice(0, 3)).toEqual([]);
    });
  });
}
