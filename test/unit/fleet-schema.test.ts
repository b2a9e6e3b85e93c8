import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalWindows, parseFleet, type WindowsState } from '../../services/simulator/fleet';

const demo = JSON.parse(readFileSync(join(__dirname, '../../services/simulator/fleets/demo-fleet.json'), 'utf8')) as {
  subscriptionId: string;
  vms: Array<{ windows?: WindowsState } & Record<string, unknown>>;
};

describe('fleet schema: CONTRACTS §3b optional fields', () => {
  it('accepts every §3b field and the model switches', () => {
    const vm = structuredClone(demo.vms[0]);
    const w = vm.windows as unknown as Record<string, unknown>;
    Object.assign(w, {
      services: { TermService: { state: 'StartPending', startMode: 'Disabled', startName: 'LocalSystem', hangs: true }, SessionEnv: 'Disabled' },
      rdpCertificate: { thumbprint: 'AB', notAfter: '2030-01-01T00:00:00Z', hasPrivateKey: true, store: 'My', key: 'unreadable' },
      machineKeysAcl: ['S-1-5-32-544:F', 'S-1-5-18:F:deny'],
      policyValues: { 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services\\UserAuthentication': 0 },
      terminalServer: { fDenyTSConnections: 1 },
      rdpTcp: { SecurityLayer: 2, fEnableWinStation: 0, fLogonDisabled: 1, MinEncryptionLevel: 3, LanAdapter: 2 },
      firewallRdpRule: { enabled: true, localPort: ['3389', '3390'] },
      firewall: { activeProfile: 'Public', profiles: { Public: { enabled: true, blockAllInbound: true, defaultInbound: 'Block' } }, rules: [{ name: 'x', localPort: 'Any' }] },
      secureChannel: false,
      credSsp: { allowEncryptionOracle: 0 },
      rdsh: { installed: true, licenseServers: [], graceExpired: true },
      systemDrive: { freeMB: 150 },
      events24h: { '7031': 2, '7034': 1, '4625': 0 },
      eventsStoppedAt: { '36871': '2026-11-30T09:00:00Z' },
      auditFailedLogons: false,
      damage: { cimClasses: ['Win32_Service'], eventLogs: ['Microsoft-Windows-TerminalServices-RemoteConnectionManager/Admin'] },
    });
    vm.publicIp = null;
    const fleet = parseFleet({ subscriptionId: demo.subscriptionId, vms: [vm] });
    const c = canonicalWindows(fleet.vms[0].windows as WindowsState);
    expect(c.services.TermService).toEqual({ state: 'StartPending', startMode: 'Disabled', startName: 'LocalSystem', hangs: true, ownProcess: false });
    expect(c.services.SessionEnv).toEqual({ state: 'Stopped', startMode: 'Disabled', startName: 'localSystem', hangs: false, ownProcess: false });
    expect(c.rdpCertificate?.thumbprint).toBe('AB'.padEnd(40, '0'));
    expect(c.firewallRdpRule?.localPort).toEqual(['3389', '3390']);
    expect(c.firewall.profiles.Domain).toEqual({ enabled: true, blockAllInbound: false, defaultInbound: 'Block' });
    expect(fleet.vms[0].publicIp).toBeNull();
  });

  it('rejects a malformed ACL entry and an unknown service state', () => {
    const bad = structuredClone(demo.vms[0]);
    (bad.windows as WindowsState).machineKeysAcl = ['S-1-5-18:F:allow'];
    expect(() => parseFleet({ subscriptionId: demo.subscriptionId, vms: [bad] })).toThrow(/machineKeysAcl/);
    const bad2 = structuredClone(demo.vms[0]);
    (bad2.windows as unknown as Record<string, unknown>).services = { TermService: { state: 'Paused' } };
    expect(() => parseFleet({ subscriptionId: demo.subscriptionId, vms: [bad2] })).toThrow(/services/);
  });

  it('canonical form: the legacy and explicit spellings of the same state are equal', () => {
    const w = parseFleet(demo).vms[0].windows as WindowsState;
    const explicit: WindowsState = {
      ...structuredClone(w),
      services: { TermService: { state: 'Running', startMode: 'Manual' }, SessionEnv: { state: 'Running' }, UmRdpService: {} },
      firewallRdpRule: { enabled: true, localPort: '3389' },
      terminalServer: { fDenyTSConnections: 0, TSEnabled: 1 },
      rdpTcp: { ...w.rdpTcp, fEnableWinStation: 1 },
    };
    expect(canonicalWindows(explicit)).toEqual(canonicalWindows(w));
    expect(canonicalWindows({ ...explicit, terminalServer: { fDenyTSConnections: 1 } })).not.toEqual(canonicalWindows(w));
  });
});
