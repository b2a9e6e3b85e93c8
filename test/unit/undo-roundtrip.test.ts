import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { EffectiveNsg, NsgDetails, ScriptParameter, SecurityRuleSpec } from '../../services/azure/gateway';
import { planUndo } from '../../services/incidents/planner';
import type { Job } from '../../services/incidents/model';
import { hasKey, LANGS } from '../../services/i18n';
import { buildFixRun, FIX_IDS, FIXES, type FixId, type FixRun } from '../../services/runbook/fixes';
import { planOf } from '../../services/runbook/plan';
import { scriptsDir } from '../../services/runbook/scripts';
import { NO_UNDO_FIXES, noUndoReason, undoScriptFor } from '../../services/runbook/undo';
import { canonicalWindows, type WindowsState } from '../../services/simulator/fleet';
import { emulateFix } from '../../services/simulator/vm-interior-fixes';
import { emulateUndo } from '../../services/simulator/vm-interior-undo';
import type { AppStore } from '../../services/store/store';
import { pwshForTests } from '../support/pwsh';

/**
 * Fix -> undo -> the VM's state equals the state before the fix, for every catalogue fix that has an
 * undo (the list comes from FIX_IDS: a new fix fails here until it has a case below or a reason for
 * having none), under the emulation and under pwsh against the modelled Windows; NSG changes through
 * the planner's undo plan. Every fix without undo has its reason in English and Russian.
 */
const NOW = new Date('2026-11-30T12:00:00Z');
const root = join(__dirname, '..', '..');
const runner = join(root, 'services', 'simulator', 'windows-model', 'Invoke-ModelScript.ps1');
const pwsh = pwshForTests('undo round trip under the modelled Windows');

const healthy = (): WindowsState => ({
  rdpPort: 3389,
  listeners: [{ port: 3389, pid: 1104, process: 'svchost', services: ['TermService'] }],
  services: { TermService: 'Running', SessionEnv: 'Running', UmRdpService: 'Running' },
  rdpCertificate: { thumbprint: '3F2A9C0D7E1B4A6C8D2E0F1A3B5C7D9E1F2A3B4C', notAfter: '2031-05-01T00:00:00Z', hasPrivateKey: true },
  sslCertificateSHA1Hash: null,
  machineKeysAcl: ['S-1-5-32-544:F', 'S-1-1-0:special'],
  rdpKeyFileAcl: ['S-1-5-18:F', 'S-1-5-32-544:F', 'S-1-5-20:R'],
  schannelServer: { 'TLS 1.0': {}, 'TLS 1.1': {}, 'TLS 1.2': {} },
  rdpTcp: { SecurityLayer: 2, UserAuthentication: 1, fAllowSecProtocolNegotiation: 1 },
  firewallRdpRule: { enabled: true, localPort: 3389 },
  domainJoined: false,
  policyManagedKeys: [],
  events24h: {},
  failedLogonSources: [],
});

/** A VM the fix applies to, and the fix's script parameters. */
interface ScriptCase {
  name: string;
  windows: WindowsState;
  params: ScriptParameter[];
}

const SCRIPT_CASES: Partial<Record<FixId, ScriptCase[]>> = {
  'enable-tls': [
    { name: 'TLS 1.2 off', windows: { ...healthy(), schannelServer: { 'TLS 1.0': {}, 'TLS 1.1': {}, 'TLS 1.2': { Enabled: 0, DisabledByDefault: 1 } } }, params: [{ name: 'Tls10', value: '0' }, { name: 'Tls11', value: '0' }] },
  ],
  'enable-nla': [{ name: 'NLA off', windows: { ...healthy(), rdpTcp: { SecurityLayer: 0, UserAuthentication: 0 } }, params: [] }],
  'fix-firewall-rule': [
    { name: 'rule disabled', windows: { ...healthy(), firewallRdpRule: { enabled: false, localPort: 3389 } }, params: [] },
    { name: 'rule missing', windows: { ...healthy(), firewallRdpRule: null }, params: [] },
  ],
  'allow-rdp-connections': [{ name: 'Remote Desktop off', windows: { ...healthy(), terminalServer: { fDenyTSConnections: 1 } }, params: [] }],
  'reset-rdp-listener': [
    { name: 'listener disabled', windows: { ...healthy(), listeners: [], rdpTcp: { SecurityLayer: 2, UserAuthentication: 1, fAllowSecProtocolNegotiation: 1, fEnableWinStation: 0 } }, params: [] },
    { name: 'drain mode and logons off', windows: { ...healthy(), terminalServer: { TSServerDrainMode: 2 }, rdpTcp: { SecurityLayer: 2, UserAuthentication: 1, fLogonDisabled: 1 } }, params: [] },
  ],
  'reset-termservice-config': [
    { name: 'TermService disabled', windows: { ...healthy(), listeners: [], services: { TermService: { state: 'Stopped', startMode: 'Disabled' }, SessionEnv: 'Running', UmRdpService: 'Stopped' } }, params: [] },
    { name: 'TermService as LocalSystem', windows: { ...healthy(), services: { TermService: { state: 'Running', startMode: 'Manual', startName: 'LocalSystem' }, SessionEnv: 'Running', UmRdpService: 'Running' } }, params: [] },
  ],
  'allow-rdp-through-firewall': [
    { name: 'block all incoming on the active profile', windows: { ...healthy(), firewall: { activeProfile: 'Public', profiles: { Public: { enabled: true, blockAllInbound: true, defaultInbound: 'Block' } } } }, params: [] },
    { name: 'no allow rule covers the port', windows: { ...healthy(), firewallRdpRule: { enabled: false, localPort: 3389 }, firewall: { activeProfile: 'Public', profiles: { Public: { enabled: true, blockAllInbound: false, defaultInbound: 'Block' } } } }, params: [] },
  ],
  'change-rdp-port': [
    {
      name: 'UDP rule too',
      windows: {
        ...healthy(),
        firewall: { rules: [{ name: 'RemoteDesktop-UserMode-In-UDP', protocol: 'UDP', localPort: 3389 }] },
      },
      params: [{ name: 'Port', value: '3390' }],
    },
    { name: 'old port 443 (under 1025), no built-in rule', windows: { ...healthy(), rdpPort: 443, listeners: [{ port: 443, pid: 1104, process: 'svchost', services: ['TermService'] }], firewallRdpRule: null }, params: [{ name: 'Port', value: '3390' }] },
  ],
  'reset-machinekeys-acl': [
    { name: 'key not readable by NETWORK SERVICE', windows: { ...healthy(), rdpKeyFileAcl: ['S-1-5-18:F', 'S-1-5-32-544:F'] }, params: [{ name: 'Scope', value: 'rdpkey' }] },
    {
      name: 'Deny on the folder, key owned by someone else (ownership taken, then given back)',
      windows: { ...healthy(), machineKeysAcl: ['S-1-5-32-544:F', 'S-1-1-0:special', 'S-1-5-20:R:deny'], rdpKeyFileAcl: ['S-1-5-18:R', 'S-1-5-32-544:R'], rdpKeyFileOwner: 'S-1-5-21-1-2-3-1001' },
      params: [{ name: 'Scope', value: 'all' }],
    },
  ],
};

/** The fixes that change NSG rules: the round trip through the planner's undo plan. */
const NSG = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg';
const rule = (r: Partial<SecurityRuleSpec> & Pick<SecurityRuleSpec, 'name' | 'priority'>): SecurityRuleSpec => ({
  direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourcePortRange: '*', destinationAddressPrefix: '*', sourceAddressPrefix: '*', ...r,
});
const NSG_CASES: Partial<Record<FixId, { rules: SecurityRuleSpec[]; params: Record<string, unknown>; status?: (w: WindowsState) => Record<string, unknown> }>> = {
  'restrict-rdp-source': { rules: [rule({ name: 'web-and-rdp', priority: 300, destinationPortRanges: ['80', '443', '3389'] }), rule({ name: 'rdp', priority: 310, destinationPortRange: '3389', description: 'x' })], params: { source: '203.0.113.0/24' } },
  'change-rdp-port': { rules: [rule({ name: 'rdp-office', priority: 300, destinationPortRange: '3389', sourceAddressPrefix: '198.51.100.0/24' })], params: { port: 3390 } },
};

const undoable = FIX_IDS.filter((id) => !(NO_UNDO_FIXES as readonly string[]).includes(id));

describe('every fix either has an undo with a round-trip case, or a reason in en and ru', () => {
  it.each(FIX_IDS.map((id) => [id]))('%s', (fixId) => {
    if ((NO_UNDO_FIXES as readonly string[]).includes(fixId)) {
      const reason = noUndoReason(fixId, { ok: true, status: 'done' });
      expect(reason).toBe(fixId);
      for (const lang of LANGS) expect(hasKey(lang, `plans.undo.none.${reason}`)).toBe(true);
    } else {
      const def = FIXES[fixId as FixId];
      // a script fix has a VM case; an ARM fix (NSG rules) an NSG case
      if (def.kind === 'script') expect(SCRIPT_CASES[fixId as FixId]?.length ?? 0).toBeGreaterThan(0);
      else expect(NSG_CASES[fixId as FixId]).toBeDefined();
    }
  });
});

interface Chain {
  id: string;
  fixId: FixId;
  before: WindowsState;
  fixScript: string;
  params: ScriptParameter[];
}
const chains: Chain[] = undoable.flatMap((fixId) =>
  (SCRIPT_CASES[fixId] ?? []).map((c) => ({ id: `${fixId}: ${c.name}`, fixId, before: c.windows, fixScript: FIXES[fixId].scriptId as string, params: c.params })),
);

describe('fix -> undo -> the state before the fix (emulation)', () => {
  it.each(chains.map((c) => [c.id, c]))('%s', (_id, c) => {
    const w = structuredClone(c.before);
    const fixed = emulateFix(w, c.fixScript, c.params, NOW);
    const status = JSON.parse(fixed.stdout) as Record<string, unknown>;
    expect(status.status).not.toBe('noop');
    expect(status.ok).toBe(true);
    expect(canonicalWindows(w)).not.toEqual(canonicalWindows(c.before));
    const undo = undoScriptFor(c.fixId, status);
    expect(undo).not.toBeNull();
    const undone = JSON.parse(emulateUndo(w, undo!.id, undo!.parameters, NOW).stdout) as Record<string, unknown>;
    expect(undone).toMatchObject({ ok: true, status: 'done' });
    expect(canonicalWindows(w)).toEqual(canonicalWindows(c.before));
  });
});

async function runModel(runs: Array<{ id: string; windows: unknown; script: string; parameters: ScriptParameter[] }>): Promise<Array<{ id: string; stdout: string; stderr: string; windows: WindowsState }>> {
  const tmp = mkdtempSync(join(tmpdir(), 'undo-rt-'));
  try {
    const req = join(tmp, 'req.json');
    const res = join(tmp, 'res.json');
    writeFileSync(req, JSON.stringify({ runs: runs.map((r) => ({ id: r.id, windows: r.windows, scriptPath: join(scriptsDir(), `${r.script}.ps1`), parameters: r.parameters, now: NOW.toISOString() })) }));
    await promisify(execFile)(pwsh as string, ['-NoLogo', '-NoProfile', '-NonInteractive', '-File', runner, '-RequestFile', req, '-ResultFile', res], { maxBuffer: 64 * 1024 * 1024, timeout: 170_000 });
    return (JSON.parse(readFileSync(res, 'utf8').replace(/^\uFEFF/, '')) as { runs: Array<{ id: string; stdout: string; stderr: string; windows: WindowsState }> }).runs;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

(pwsh && existsSync(runner) ? describe : describe.skip)('fix -> undo -> the state before the fix (the real scripts, modelled Windows)', () => {
  let fixed = new Map<string, { stdout: string; stderr: string; windows: WindowsState }>();
  let undone = new Map<string, { stdout: string; stderr: string; windows: WindowsState }>();
  beforeAll(async () => {
    fixed = new Map((await runModel(chains.map((c) => ({ id: c.id, windows: c.before, script: c.fixScript, parameters: c.params })))).map((r) => [r.id, r]));
    const undos = chains.flatMap((c) => {
      const f = fixed.get(c.id);
      const undo = f ? undoScriptFor(c.fixId, JSON.parse(f.stdout) as Record<string, unknown>) : null;
      return f && undo ? [{ id: c.id, windows: f.windows, script: undo.id, parameters: undo.parameters }] : [];
    });
    undone = new Map((await runModel(undos)).map((r) => [r.id, r]));
  }, 180_000);

  it.each(chains.map((c) => [c.id, c]))('%s', (_id, c) => {
    const f = fixed.get(c.id);
    expect(f?.stderr).toBe('');
    expect(JSON.parse(f!.stdout)).toMatchObject({ ok: true });
    const u = undone.get(c.id);
    expect(u).toBeDefined();
    expect(u!.stderr).toBe('');
    expect(JSON.parse(u!.stdout)).toMatchObject({ ok: true, status: 'done' });
    expect(canonicalWindows(u!.windows)).toEqual(canonicalWindows(c.before));
  });
});

describe('fix -> undo -> the NSG rules before the fix (the planner)', () => {
  const nsgFixes = undoable.filter((id) => NSG_CASES[id]);
  it.each(nsgFixes.map((id) => [id]))('%s', async (fixId) => {
    const c = NSG_CASES[fixId]!;
    const effective = (rules: SecurityRuleSpec[]): EffectiveNsg[] => [{ networkSecurityGroupId: NSG, associatedWith: 'subnet', rules: rules.map((r) => ({ ...r, name: `securityRules/${r.name}` })) }];
    const details = (rules: SecurityRuleSpec[]): NsgDetails[] => [{ id: NSG, name: 'nsg', rules, networkInterfaceIds: [], subnetIds: [] }];
    const facts = { port: 3389, listeners: [] } as never;
    const run: FixRun = buildFixRun(fixId, c.params, facts, { nsgs: effective(c.rules), nsgDetails: details(c.rules), now: NOW });
    const plan = planOf(run, details(c.rules));
    expect(plan.nsg.length).toBeGreaterThan(0);
    // the fix's NSG writes
    let rules = structuredClone(c.rules);
    const apply = (r: FixRun): void => {
      const arm = r.kind === 'arm' ? r.arm : r.arm;
      if (arm?.op !== 'nsgRules') return;
      for (const ch of arm.rules) {
        rules = rules.filter((x) => x.name.toLowerCase() !== ch.rule.name.toLowerCase());
        if (ch.action !== 'delete') rules.push(structuredClone(ch.rule));
      }
    };
    apply(run);
    expect(rules).not.toEqual(c.rules);
    // the fix script's status line, for a script fix with NSG changes (change-rdp-port)
    const status = run.kind === 'script' ? { ok: true, status: 'done', oldPort: 3389, port: 3390, firewall: 'moved', before: { port: 3389, rule: { enabled: true, localPort: ['3389'] }, udp: null } } : undefined;
    const job = { id: 'j1', vmId: 'vm', fixId, state: 'succeeded', plan, steps: [{ name: 'fix', state: 'done', ...(status ? { detail: { status } } : {}) }], result: { gone: [], remaining: [], appeared: [] } } as unknown as Job;
    const store = { jobs: { get: async () => job } } as unknown as AppStore;
    const gateway = { getNsg: async () => details(rules)[0] } as never;
    const undo = await planUndo(gateway, store, { vmId: 'vm', params: { jobId: 'j1' } });
    if (run.kind === 'script') expect(undo.run).toMatchObject({ kind: 'script', scriptId: 'undo-change-rdp-port' });
    for (const ch of (undo.run.kind === 'arm' ? undo.run.arm : undo.run.arm)?.op === 'nsgRules' ? ((undo.run.kind === 'arm' ? undo.run.arm : undo.run.arm) as { rules: Array<{ action?: string; rule: SecurityRuleSpec }> }).rules : []) {
      rules = rules.filter((x) => x.name.toLowerCase() !== ch.rule.name.toLowerCase());
      if (ch.action !== 'delete') rules.push(structuredClone(ch.rule));
    }
    const byName = (a: SecurityRuleSpec[]): SecurityRuleSpec[] => [...a].sort((x, y) => x.name.localeCompare(y.name));
    expect(byName(rules)).toEqual(byName(c.rules));
  });
});
