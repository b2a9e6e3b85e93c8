import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAPS, parseDiagnosticOutput } from '../../services/runbook/diagnostic-output';
import { DIAGNOSE_SCRIPT } from '../../services/runbook/scripts';
import { windowsStateSchema, type WindowsState } from '../../services/simulator/fleet';
import { runModelBatch, type ModelRun } from '../../services/simulator/pwsh-interior';
import { pwshForTests } from '../support/pwsh';
import { demoVm } from './runbook-helpers';

/**
 * The parser against what diagnose.ps1 itself prints (not the project's serializer): checked-in
 * samples the real script produced under PowerShell 7 and the modelled Windows, parsed with
 * hand-written expectations; the worst case (every check failing at once, every list past its
 * cap, every string at its longest) measured against Run Command's output limit on the script's
 * own bytes. With PowerShell, every sample is produced again and must be byte-identical
 * (`UPDATE_DIAGNOSE_SAMPLES=1` rewrites them after a deliberate script change).
 */
const SAMPLES = join(__dirname, 'fixtures', 'diagnose-output');
const NOW = new Date('2026-11-30T12:00:00Z');
const BOOT = new Date('2026-11-23T08:30:00Z');
/** README: the diagnostic prints one line, worst case under 3.5 KB of Run Command's 4 KB. */
const BOUND = 3584;

const longSid = 'S-1-5-21-4294967295-4294967295-4294967295-4294967295';

const long = (c: string, n = 40): string => c.repeat(n);
const SCHANNEL = 'SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols';

/** Every finding at once, every list longer than the script's caps, every value at its widest. */
function everythingWrong(): WindowsState {
  return windowsStateSchema.parse({
    rdpPort: 65535,
    listeners: Array.from({ length: 6 }, (_, i) => ({
      port: 65535,
      pid: 2147483640 + i,
      process: `${long('p', 31)}${i}`,
      services: Array.from({ length: 5 }, (__, j) => `${long('$', 30)}${i}${j}`),
    })),
    services: {
      // (§1b: the longest account the script keeps, with a backslash JSON doubles)
      TermService: { state: 'StopPending', startMode: 'Disabled', startName: `CONTOSO\\${long('a', 40)}` },
      SessionEnv: { state: 'StartPending', startMode: 'Disabled' },
      UmRdpService: { state: 'StopPending', startMode: 'Disabled' },
    },
    rdpCertificate: { thumbprint: long('F'), notAfter: '2020-01-01T00:00:00Z', hasPrivateKey: true, store: 'Remote Desktop', key: 'ok' },
    sslCertificateSHA1Hash: long('A'),
    machineKeysAcl: Array.from({ length: 8 }, (_, i) => `${longSid.slice(0, -1)}${i}:special:deny`),
    rdpKeyFileAcl: Array.from({ length: 8 }, (_, i) => `${longSid.slice(0, -1)}${i}:special:deny`),
    schannelServer: {
      'TLS 1.0': { Enabled: -2147483648, DisabledByDefault: -2147483648 },
      'TLS 1.1': { Enabled: -2147483648, DisabledByDefault: -2147483648 },
      'TLS 1.2': { Enabled: -2147483648, DisabledByDefault: -2147483648 },
    },
    rdpTcp: {
      SecurityLayer: -2147483648,
      UserAuthentication: -2147483648,
      fAllowSecProtocolNegotiation: -2147483648,
      // §1b: remote desktop switched off, TermService config
      fEnableWinStation: -2147483648,
      fLogonDisabled: -2147483648,
    },
    // §1b: remote desktop switched off, TermService config (the policy value below is the widest too)
    terminalServer: { fDenyTSConnections: -2147483648, TSEnabled: -2147483648, TSServerDrainMode: -2147483648 },
    policyValues: { 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\fDenyTSConnections': -2147483648 },
    firewallRdpRule: { enabled: false, localPort: Array.from({ length: 8 }, (_, i) => `6553${i}-6553${i}`) },
    domainJoined: true,
    policyManagedKeys: Array.from({ length: 10 }, (_, i) => `${SCHANNEL}\\TLS 1.${i % 3}\\Server\\${long('\\', 30)}${i}`),
    // just past the script's -MaxEvents caps (2,000; 5,000 for 4625): the model builds every event
    events24h: { '1057': 2100, '1058': 2100, '1006': 2100, '36870': 2100, '36871': 2100, '36872': 2100, '4625': 5400, '7031': 1100, '7034': 1100 },
    failedLogonSources: Array.from({ length: 9 }, (_, i) => ({ ip: `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.25${i}`, count: 600 })),
    // §1b (famhost): every host check failing, with the longest values the script prints
    firewall: {
      activeProfile: 'Private',
      profiles: { Private: { enabled: true, blockAllInbound: true, defaultInbound: 'Block' } },
      rules: Array.from({ length: 5 }, (_, i) => ({ name: `${long('r', 40)}${i}`, protocol: 'TCP', localPort: 'Any', profile: 'Any' })),
    },
    secureChannel: false,
    credSsp: { allowEncryptionOracle: 0 },
    rdsh: { installed: true, licenseServers: [], graceExpired: true },
    systemDrive: { freeMB: 2147483647 },
  });
}

/** The same machine with its WMI/CIM classes broken as well: every step that can fail, fails. */
function everythingBroken(): WindowsState {
  return windowsStateSchema.parse({
    ...everythingWrong(),
    damage: { cimClasses: ['MSFT_NetTCPConnection', 'Win32_Service', 'MSFT_NetFirewallRule', 'Win32_OperatingSystem', 'Win32_ComputerSystem', 'RSOP_RegistryPolicySetting', 'Win32_TSGeneralSetting', 'MSFT_NetFirewallProfile', 'Win32_TerminalServiceSetting', 'Win32_LogicalDisk'] },
  });
}

const CASES: Array<{ name: string; windows: () => WindowsState }> = [
  { name: 'everything-wrong', windows: everythingWrong },
  { name: 'everything-broken', windows: everythingBroken },
  { name: 'vm-portclash-03', windows: () => demoVm('vm-portclash-03').windows as WindowsState },
  { name: 'vm-tlsoff-06', windows: () => demoVm('vm-tlsoff-06').windows as WindowsState },
];

const sample = (name: string): string => readFileSync(join(SAMPLES, `${name}.txt`), 'utf8');

describe('diagnose.ps1 output as the script printed it (checked-in samples)', () => {
  it.each(CASES.map((c) => c.name))('%s: one ASCII line, within the bound', (name) => {
    const out = sample(name);
    const lines = out.split(/\r?\n/).filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^[\x20-\x7e]+$/);
    expect(Buffer.byteLength(lines[0], 'utf8')).toBeLessThanOrEqual(BOUND);
    expect(() => parseDiagnosticOutput(out)).not.toThrow();
  });

  it('the worst case: every list cut to its cap, every finding\'s evidence still there, under 3.5 KB', () => {
    const out = sample('everything-wrong');
    const bytes = Buffer.byteLength(out.trim(), 'utf8');
    process.stdout.write(`diagnose.ps1 worst case: ${bytes} bytes (bound ${BOUND}, Run Command keeps 4096)\n`);
    const f = parseDiagnosticOutput(out);
    expect(f.port).toBe(65535);
    expect(f.listeners).toHaveLength(CAPS.listeners);
    for (const l of f.listeners ?? []) expect(l.svc).toHaveLength(CAPS.servicesPerListener);
    expect(f.listeners?.[0]).toEqual({ pid: 2147483640, proc: `${'p'.repeat(31)}0`, svc: ['00', '01', '02'].map((n) => `${'$'.repeat(30)}${n}`) });
    expect(f.mkAcl).toHaveLength(CAPS.acl);
    expect(f.policy?.length).toBeGreaterThan(0);
    expect(f.logons).toHaveLength(CAPS.logons);
    expect(f.fw?.ports).toHaveLength(CAPS.firewallPorts);
    expect(f.events['4625']).toBe(CAPS.events4625); // at the cap: "at least"
    expect(Object.values(f.events).every((n) => (n ?? 0) > 0)).toBe(true);
    expect(f.services?.TermService?.start).toBe('Disabled');
    expect(f.cert?.notAfter).toBe('2020-01-01T00:00:00Z');
    // §1b: remote desktop switched off, TermService config
    expect(f.rs).toEqual({ dn: -2147483648, gdn: -2147483648, en: -2147483648, dr: -2147483648, ws: -2147483648, ld: -2147483648, acct: `CONTOSO\\${'a'.repeat(32)}`, crash: 2000 });
  });

  it('a broken WMI: the failed steps are named in err (at most 5), the line stays within the bound', () => {
    const f = parseDiagnosticOutput(sample('everything-broken'));
    expect(f.err.length).toBeGreaterThan(0);
    expect(f.err.length).toBeLessThanOrEqual(CAPS.err);
    expect(f.listeners).toBeNull();
  });

  it('the demo port clash: java (PID 4242) hosting TomcatAgent holds 3389', () => {
    const f = parseDiagnosticOutput(sample('vm-portclash-03'));
    expect(f.port).toBe(3389);
    expect(f.listeners).toEqual([{ pid: 4242, proc: 'java', svc: ['TomcatAgent'] }]);
  });

  it('the demo TLS VM: TLS 1.2 server disabled in the registry', () => {
    const f = parseDiagnosticOutput(sample('vm-tlsoff-06'));
    expect(f.tls?.['TLS 1.2']).toMatchObject({ Enabled: 0 });
  });
});

const pwsh = pwshForTests('diagnose.ps1 samples regenerated under pwsh');
(pwsh ? describe : describe.skip)('the samples are what diagnose.ps1 prints today', () => {
  const outputs = new Map<string, string>();
  beforeAll(async () => {
    const runs: ModelRun[] = CASES.map((c) => ({ id: c.name, windows: c.windows(), script: DIAGNOSE_SCRIPT.source, parameters: [], now: NOW, boot: BOOT }));
    for (const r of await runModelBatch(runs, { pwsh: pwsh as string, timeoutMs: 280_000 })) outputs.set(r.id, r.stdout);
    if (process.env.UPDATE_DIAGNOSE_SAMPLES === '1') {
      mkdirSync(SAMPLES, { recursive: true });
      for (const [name, out] of outputs) writeFileSync(join(SAMPLES, `${name}.txt`), out);
    }
  }, 300_000);

  it.each(CASES.map((c) => c.name))('%s', (name) => {
    expect(existsSync(join(SAMPLES, `${name}.txt`))).toBe(true);
    // a difference means the script's output changed: check it, then UPDATE_DIAGNOSE_SAMPLES=1
    expect(outputs.get(name)).toBe(sample(name));
  });
});
