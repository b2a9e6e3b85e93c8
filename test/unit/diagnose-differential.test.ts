import fc from 'fast-check';
import { DIAGNOSE_SCRIPT } from '../../services/runbook/scripts';
import { parseDiagnosticOutput } from '../../services/runbook/diagnostic-output';
import { canonicalWindows, windowsStateSchema, type WindowsState } from '../../services/simulator/fleet';
import { runModelBatch, type ModelRun } from '../../services/simulator/pwsh-interior';
import { diagnoseLine } from '../../services/simulator/vm-interior';
import { pwshForTests } from '../support/pwsh';
import { demoFleetVms } from './runbook-helpers';

/**
 * One truth: diagnose.ps1 run by PowerShell against the modelled Windows prints exactly (byte for
 * byte, line ending trimmed) what the emulation prints for the same state, `now` and parameters,
 * for every demo VM and for generated states. Where they differ, Windows facts decide: fix the
 * script, the model or the emulation, never this test.
 */
const NOW = new Date('2026-11-30T12:00:00Z');
const BOOT = new Date('2026-11-23T08:30:00Z');
const SEED = Number(process.env.DIFF_SEED ?? 20261130);
const GENERATED = Number(process.env.DIFF_RUNS ?? 300);

const hex40 = fc.stringMatching(/^[0-9A-F]{40}$/);
const SIDS = ['S-1-5-18', 'S-1-5-20', 'S-1-5-32-544', 'S-1-1-0', 'S-1-5-11', 'S-1-5-21-1004336348-1177238915-682003330-512'];
const LONG_SID = 'S-1-15-3-1024-1065365936-1281604716-3511738428-1654721687-432734479-3232135806-4053264122-3456934681';
const aceArb = fc.tuple(
  fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...SIDS) }, { weight: 1, arbitrary: fc.constant(LONG_SID) }),
  fc.constantFrom('F', 'M', 'RX', 'R', 'W', 'special'),
).map(([sid, right]) => `${sid}:${right}`);
const aclArb = fc.array(
  fc.tuple(aceArb, fc.integer({ min: 0, max: 9 })).map(([e, d]) => (d === 0 ? `${e}:deny` : e)),
  { maxLength: 7 },
);
const ownerArb = fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant('S-1-5-21-1004336348-1177238915-682003330-1001') }, { weight: 1, arbitrary: fc.constant('S-1-5-18') });
const svcName = fc.constantFrom('TermService', 'TomcatAgent', 'Winmgmt', 'spooler', 'RemoteAccess', 'SessionEnv');
const stateArb = fc.constantFrom('Running', 'Stopped', 'StartPending', 'StopPending');
const serviceArb = fc.oneof(
  fc.constantFrom('Running', 'Stopped', 'Disabled', 'StartPending', 'StopPending'),
  fc.record(
    { state: stateArb, startMode: fc.constantFrom('Auto', 'Manual', 'Disabled'), startName: fc.constantFrom('NT Authority\\NetworkService', 'LocalSystem', 'NT AUTHORITY\\NETWORK SERVICE', `CONTOSO\\${'svc-rdp'.repeat(8)}`, 'd\u00e9j\u00e0\\<x>'), hangs: fc.boolean() },
    { requiredKeys: [] },
  ),
);
const ipArb = fc.constantFrom('203.0.113.50', '198.51.100.23', '192.0.2.14', '2001:db8::7', '-', '10.0.0.4', '203.0.113.51');
const TS_POL = 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';
const SCHANNEL = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';
const countArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 900, max: 2300 }) });

const windowsArb: fc.Arbitrary<WindowsState> = fc
  .record({
    rdpPort: fc.constantFrom(3389, 3390, 13389),
    listeners: fc.array(
      fc.record({
        port: fc.constantFrom(3389, 3390, 13389, 443),
        pid: fc.constantFrom(1104, 4242, 4, 5012, 880),
        process: fc.constantFrom('svchost', 'java', 'System', 'nginx'),
        services: fc.uniqueArray(svcName, { maxLength: 4 }),
      }),
      { maxLength: 4 },
    ),
    term: fc.option(serviceArb, { nil: undefined, freq: 8 }),
    env: fc.option(serviceArb, { nil: undefined, freq: 8 }),
    um: fc.option(serviceArb, { nil: undefined, freq: 8 }),
    cert: fc.option(
      fc.record({
        thumbprint: hex40,
        notAfter: fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2032, 0, 1) }).map((t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')),
        hasPrivateKey: fc.boolean(),
        store: fc.constantFrom('Remote Desktop', 'Remote Desktop', 'My'),
        key: fc.constantFrom('ok', 'ok', 'missing', 'unreadable'),
        keyContainer: fc.constantFrom('TSSecKeySet1', 'TSSecKeySet1', 'le-web-3f2a'),
      }),
      { nil: null, freq: 6 },
    ),
    hashMode: fc.constantFrom('none', 'none', 'cert', 'other'),
    otherHash: hex40,
    machineKeysAcl: aclArb,
    rdpKeyFileAcl: fc.option(aclArb, { nil: null, freq: 6 }),
    machineKeysOwner: ownerArb,
    rdpKeyFileOwner: ownerArb,
    schannel: fc.dictionary(
      fc.constantFrom('TLS 1.0', 'TLS 1.1', 'TLS 1.2'),
      fc.record({ Enabled: fc.constantFrom(0, 1, -1), DisabledByDefault: fc.constantFrom(0, 1) }, { requiredKeys: [] }),
    ),
    rdpTcp: fc.record(
      { SecurityLayer: fc.constantFrom(0, 1, 2), UserAuthentication: fc.constantFrom(0, 1), fAllowSecProtocolNegotiation: fc.constantFrom(0, 1) },
      { requiredKeys: [] },
    ),
    firewallRdpRule: fc.option(
      fc.record({ enabled: fc.boolean(), localPort: fc.oneof(fc.constantFrom(3389, 3390), fc.constantFrom('3389', 'Any', '3389-3390'), fc.constant<string[]>(['3389', '3390', '13389', '23389', '33389'])) }),
      { nil: null, freq: 5 },
    ),
    gpRule: fc.boolean(),
    domainJoined: fc.boolean(),
    policyManagedKeys: fc.subarray([
      `${SCHANNEL}\\TLS 1.2\\Server\\Enabled`,
      `${SCHANNEL}\\TLS 1.0\\Server\\DisabledByDefault`,
      `${TS_POL}\\SecurityLayer`,
    ]),
    policyValues: fc.dictionary(
      fc.constantFrom(`${TS_POL}\\UserAuthentication`, `${TS_POL}\\SecurityLayer`, `${TS_POL}\\fDenyTSConnections`, 'SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002\\Functions'),
      fc.constantFrom(0, 1, 2),
    ),
    events: fc.record({ '1057': countArb, '1058': countArb, '1006': countArb, '36870': countArb, '36871': countArb, '36872': countArb, '4625': fc.integer({ min: 0, max: 400 }) }),
    stopped: fc.dictionary(fc.constantFrom('1057', '36871', '4625', '1006'), fc.integer({ min: 1, max: 30 }).map((h) => new Date(NOW.getTime() - h * 3_600_000 + 17_000).toISOString())),
    auditFailedLogons: fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant(false) }),
    sources: fc.array(fc.record({ ip: ipArb, count: fc.integer({ min: 0, max: 120 }), logonType: fc.option(fc.constantFrom(2, 3, 10), { nil: undefined, freq: 4 }) }), { maxLength: 7 }),
    damage: fc.option(fc.subarray(['MSFT_NetTCPConnection', 'Win32_Service', 'MSFT_NetFirewallRule', 'Win32_OperatingSystem', 'Win32_ComputerSystem', 'RSOP_RegistryPolicySetting', 'Win32_TSGeneralSetting'], { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 6 }),
    // --- §1b: remote desktop switched off, TermService config ---
    ts: fc.record({ fDenyTSConnections: fc.constantFrom(0, 1, 2, null), TSEnabled: fc.constantFrom(0, 1, null), TSServerDrainMode: fc.constantFrom(0, 1, 2, null) }, { requiredKeys: [] }),
    listenerValues: fc.record({ fEnableWinStation: fc.constantFrom(0, 1, null), fLogonDisabled: fc.constantFrom(0, 1, null) }, { requiredKeys: [] }),
    scm: fc.record({ '7031': countArb, '7034': fc.constantFrom(0, 1, 1500) }, { requiredKeys: [] }),
  })
  .map((g) => {
    const services: WindowsState['services'] = {};
    if (g.term !== undefined) services.TermService = g.term;
    if (g.env !== undefined) services.SessionEnv = g.env;
    if (g.um !== undefined) services.UmRdpService = g.um;
    const w: WindowsState = {
      rdpPort: g.rdpPort,
      listeners: g.listeners,
      services,
      rdpCertificate: g.cert,
      sslCertificateSHA1Hash: g.hashMode === 'cert' && g.cert ? g.cert.thumbprint : g.hashMode === 'other' ? g.otherHash : null,
      machineKeysAcl: g.machineKeysAcl,
      rdpKeyFileAcl: g.rdpKeyFileAcl,
      schannelServer: g.schannel,
      rdpTcp: g.rdpTcp,
      firewallRdpRule: g.firewallRdpRule,
      domainJoined: g.domainJoined,
      policyManagedKeys: g.policyManagedKeys,
      policyValues: g.policyValues,
      events24h: g.events,
      eventsStoppedAt: g.stopped,
      failedLogonSources: g.sources.map((s) => (s.logonType === undefined ? { ip: s.ip, count: s.count } : s)),
    };
    if (g.machineKeysOwner) w.machineKeysOwner = g.machineKeysOwner;
    if (g.rdpKeyFileOwner) w.rdpKeyFileOwner = g.rdpKeyFileOwner;
    if (g.auditFailedLogons === false) w.auditFailedLogons = false;
    if (g.gpRule && !g.firewallRdpRule) w.firewall = { rules: [{ name: 'RemoteDesktop-UserMode-In-TCP', localPort: '3389', source: 'GroupPolicy', enabled: true }] };
    if (g.damage) w.damage = { cimClasses: g.damage };
    // §1b: remote desktop switched off, TermService config
    w.terminalServer = g.ts;
    w.rdpTcp = { ...w.rdpTcp, ...g.listenerValues };
    w.events24h = { ...w.events24h, ...g.scm };
    return windowsStateSchema.parse(w);
  });

// --- §1b host fields (famhost): firewall profiles and rules, secure channel, CredSSP, RDSH, system drive ---
const fwProfileArb = fc.record({ enabled: fc.boolean(), blockAllInbound: fc.boolean(), defaultInbound: fc.constantFrom('Allow', 'Block') }, { requiredKeys: [] });
const hostArb = fc.record(
  {
    firewall: fc.record(
      {
        activeProfile: fc.constantFrom('Domain', 'Private', 'Public'),
        profiles: fc.record({ Domain: fwProfileArb, Private: fwProfileArb, Public: fwProfileArb }, { requiredKeys: [] }),
        rules: fc.array(
          fc.record(
            {
              name: fc.constantFrom('Allow RDP', 'RDP Doctor - Remote Desktop (TCP-In)', 'web-443', 'Block-3389 <x>', 'RemoteDesktop-UserMode-In-TCP'),
              enabled: fc.boolean(),
              action: fc.constantFrom('Allow', 'Block'),
              protocol: fc.constantFrom('TCP', 'UDP', 'Any', 'tcp'),
              localPort: fc.oneof(fc.constantFrom(3389, 3390, 443), fc.constantFrom('3389', 'Any', '3000-4000', 'RPC'), fc.constant<string[]>(['443', '3389'])),
              profile: fc.constantFrom('Any', 'Public', 'Domain, Private', 'Private'),
              direction: fc.constantFrom('Inbound', 'Outbound'),
              source: fc.constantFrom('Local', 'GroupPolicy'),
            },
            { requiredKeys: ['name'] },
          ),
          { maxLength: 4 },
        ),
      },
      { requiredKeys: [] },
    ),
    secureChannel: fc.boolean(),
    credSsp: fc.record({ allowEncryptionOracle: fc.constantFrom(0, 1, 2, null) }, { requiredKeys: [] }),
    rdsh: fc.record({ installed: fc.boolean(), licenseServers: fc.constantFrom<string[]>([], ['ls01.contoso.com']), graceExpired: fc.boolean() }, { requiredKeys: [] }),
    systemDrive: fc.record({ freeMB: fc.oneof(fc.integer({ min: 0, max: 30000 }), fc.constantFrom(150.5, 199.99, 1023.4)) }),
    damage: fc.constantFrom('MSFT_NetFirewallProfile', 'Win32_TerminalServiceSetting', 'Win32_LogicalDisk'),
  },
  { requiredKeys: [] },
);
/** The generated states with the §1b fields added on every other state (the others keep the defaults). */
const windowsHostArb: fc.Arbitrary<WindowsState> = fc.tuple(windowsArb, hostArb, fc.integer({ min: 0, max: 5 })).map(([w, h, k]) => {
  if (k % 2 === 0) return w;
  const { damage, ...rest } = h;
  const out = { ...w, ...rest } as WindowsState;
  if (damage && k === 5) out.damage = { cimClasses: [...(w.damage?.cimClasses ?? []), damage] };
  return windowsStateSchema.parse(out);
});
// --- end §1b (famhost) ---

const sinceArb = fc.constantFrom(undefined, undefined, undefined, '20261130101500', '20261129180000', '20261201000000', '20261399999999', 'x');

const pwsh = pwshForTests('diagnose differential (test/unit/diagnose-differential.test.ts)');
const d = pwsh ? describe : describe.skip;

d('diagnose.ps1 under the modelled Windows = the emulation', () => {
  interface Case {
    id: string;
    windows: WindowsState;
    since: string | undefined;
  }
  const cases: Case[] = [];
  for (const vm of demoFleetVms()) if (vm.windows) cases.push({ id: vm.name, windows: vm.windows, since: undefined });
  const generated = fc.sample(fc.tuple(windowsHostArb, sinceArb), { seed: SEED, numRuns: GENERATED });
  generated.forEach(([w, since], i) => cases.push({ id: `gen-${i}`, windows: w, since }));
  const results = new Map<string, { stdout: string; stderr: string; hung: boolean; windows: WindowsState }>();

  beforeAll(async () => {
    process.stdout.write(`diagnose differential: seed ${SEED} (DIFF_SEED), ${cases.length} states (${GENERATED} generated)\n`);
    const runs: ModelRun[] = cases.map((c) => ({
      id: c.id,
      windows: c.windows,
      script: DIAGNOSE_SCRIPT.source,
      parameters: c.since === undefined ? [] : [{ name: 'Since', value: c.since }],
      now: NOW,
      boot: BOOT,
    }));
    // two batches, one per core
    const half = Math.ceil(runs.length / 2);
    const parts = await Promise.all([runs.slice(0, half), runs.slice(half)].map((r) => runModelBatch(r, { pwsh: pwsh as string, timeoutMs: 1_500_000 })));
    for (const r of parts.flat()) results.set(r.id, r);
  }, 1_560_000);

  it('prints the same line for every state (demo VMs and generated ones)', () => {
    const mismatches: string[] = [];
    for (const c of cases) {
      const real = results.get(c.id);
      const emulated = diagnoseLine(c.windows, NOW, BOOT, { parameters: c.since === undefined ? [] : [{ name: 'Since', value: c.since }] });
      if (!real) {
        mismatches.push(`${c.id}: no result`);
        continue;
      }
      const line = real.stdout.replace(/\r\n$/, '');
      if (line !== emulated || real.stderr !== '' || real.hung) {
        mismatches.push(`${c.id} (since ${String(c.since)}): ${JSON.stringify(c.windows)}\n  script:   ${line}\n  emulated: ${emulated}\n  stderr: ${real.stderr.slice(0, 400)}`);
      }
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
    expect(mismatches.length).toBe(0);
  });

  it('every line parses with the bot schema', () => {
    for (const c of cases) {
      const real = results.get(c.id);
      expect(() => parseDiagnosticOutput(real?.stdout ?? '')).not.toThrow();
    }
  });

  it('diagnose changes nothing: the state after is the state before', () => {
    for (const c of cases) {
      const real = results.get(c.id);
      expect([c.id, canonicalWindows(real?.windows ?? c.windows)]).toEqual([c.id, canonicalWindows(c.windows)]);
    }
  });
});
