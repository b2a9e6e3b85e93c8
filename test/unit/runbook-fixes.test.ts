import fc from 'fast-check';
import { DomainError } from '../../services/errors';
import { hasKey } from '../../services/i18n';
import { blockers, evaluate } from '../../services/runbook/findings';
import { buildFixRun, defaultSnapshotName, FIX_IDS, FIXES, fixesFor, validateSourceCidr, type ArmFixRun, type ScriptFixRun } from '../../services/runbook/fixes';
import { encodeParam } from '../../services/runbook/scripts';
import { base64Strict } from '../support/base64';
import { demoVm, effectiveNsgsOf, healthyFacts, NOW, vmDetailsOf } from './runbook-helpers';

function badInputKey(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('bad-input');
    return String((e as DomainError).params.detailKey);
  }
  throw new Error('expected bad-input');
}

const conflictFacts = healthyFacts((f) => {
  f.listeners = [{ pid: 4242, proc: 'java', svc: ['TomcatAgent', 'MSSQL$SQLEXPRESS'] }];
});

describe('fix catalogue', () => {
  it('has every fix id of CONTRACTS §2, each with what it addresses', () => {
    expect([...FIX_IDS].sort()).toEqual(
      ['restrict-rdp-source', 'free-rdp-port', 'change-rdp-port', 'start-termservice', 'fix-firewall-rule', 'renew-rdp-cert', 'reset-machinekeys-acl', 'enable-tls', 'enable-nla', 'start-vm', 'restart-vm', 'snapshot-os-disk', 'allow-rdp-through-firewall', 'allow-rdp-connections', 'reset-rdp-listener', 'reset-termservice-config', 'offline-repair'].sort(),
    );
    for (const id of FIX_IDS) expect(FIXES[id].id).toBe(id);
    // written out from CONTRACTS §2 and the README's table, not read back from the catalogue
    const kinds = Object.fromEntries(FIX_IDS.map((id) => [id, FIXES[id].kind]));
    expect(kinds).toEqual({
      'restrict-rdp-source': 'arm',
      'free-rdp-port': 'script',
      'change-rdp-port': 'script',
      'start-termservice': 'script',
      'fix-firewall-rule': 'script',
      'renew-rdp-cert': 'script',
      'reset-machinekeys-acl': 'script',
      'enable-tls': 'script',
      'enable-nla': 'script',
      'start-vm': 'arm',
      'restart-vm': 'arm',
      'snapshot-os-disk': 'arm',
      'allow-rdp-through-firewall': 'script', // §1b (famhost)
      // --- §1b: remote desktop switched off, TermService config ---
      'allow-rdp-connections': 'script',
      'reset-rdp-listener': 'script',
      'reset-termservice-config': 'script',
      'offline-repair': 'arm', // issue #15
    });
    // TLS and NLA settings take effect at boot; the key ACL reset restarts so the logged key errors stop (README)
    expect(FIX_IDS.filter((id) => FIXES[id].needsRestart).sort()).toEqual(['enable-nla', 'enable-tls', 'reset-machinekeys-acl', 'reset-rdp-listener', 'reset-termservice-config']);
  });

  it('every script fix ships a script whose header names it', () => {
    const scriptFixes = FIX_IDS.filter((id) => FIXES[id].kind === 'script');
    expect(scriptFixes.length).toBeGreaterThanOrEqual(8);
    for (const id of scriptFixes) {
      const params = id === 'free-rdp-port' ? { service: 'TomcatAgent' } : id === 'change-rdp-port' ? { port: 3390 } : {};
      const run = buildFixRun(id, params, conflictFacts) as ScriptFixRun;
      expect(run.kind).toBe('script');
      expect(run.script.split('\n')[0]).toBe(`# rdp-doctor-script: ${FIXES[id].scriptId}`);
    }
  });

  it('suggests the fixes for a diagnosis, most severe finding first', () => {
    const vm = vmDetailsOf(demoVm('vm-exposed-02'));
    const findings = evaluate({ vm, nsgs: effectiveNsgsOf(demoVm('vm-exposed-02')), facts: healthyFacts((f) => (f.events['4625'] = 500)), now: NOW });
    expect(fixesFor(findings).map((f) => [f.id, f.addresses])).toEqual([['restrict-rdp-source', ['rdp-exposed-to-internet', 'brute-force-suspected']]]);
    expect(fixesFor(blockers({ ...vm, powerState: 'deallocated' })).map((f) => f.id)).toEqual(['start-vm']);
    expect(fixesFor(blockers({ ...vm, agentStatus: 'NotReady' })).map((f) => f.id)).toEqual(['restart-vm', 'offline-repair']);
    expect(fixesFor([])).toEqual([]);
  });

  it('plans the ACL reset before the certificate renewal, whatever the finding order (A17)', () => {
    const findings = evaluate({
      vm: vmDetailsOf(demoVm('vm-healthy-01')),
      nsgs: null,
      facts: healthyFacts((f) => {
        f.keyAcl = ['S-1-5-18:F'];
        f.events['1057'] = 3;
        if (f.cert) f.cert.notAfter = '2020-01-01T00:00:00Z';
      }),
      now: NOW,
    });
    const ids = fixesFor(findings).map((f) => f.id);
    expect(ids).toContain('renew-rdp-cert');
    expect(ids.indexOf('reset-machinekeys-acl')).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf('reset-machinekeys-acl')).toBeLessThan(ids.indexOf('renew-rdp-cert'));
  });

  it('offers both the ACL reset and the certificate renewal for key errors', () => {
    const findings = evaluate({ vm: vmDetailsOf(demoVm('vm-healthy-01')), nsgs: null, facts: healthyFacts((f) => (f.keyAcl = ['S-1-5-18:F'])), now: NOW });
    expect(findings.map((f) => f.id)).toEqual(['machinekeys-acl-broken']);
    expect(fixesFor(findings).map((f) => f.id)).toEqual(['reset-machinekeys-acl']);
  });
});

describe('buildFixRun validation', () => {
  it('rejects unknown fixes and unknown parameters', () => {
    expect(badInputKey(() => buildFixRun('format-c', {}, null))).toBe('runbook.param.unknownFix');
    expect(badInputKey(() => buildFixRun('enable-nla', { force: true }, null))).toBe('runbook.param.invalid');
  });

  describe('free-rdp-port', () => {
    it('stops only a service the diagnosis saw on the RDP port; names are Base64 when not [A-Za-z0-9.-]', () => {
      const run = buildFixRun('free-rdp-port', { service: 'MSSQL$SQLEXPRESS', disable: 'true' }, conflictFacts) as ScriptFixRun;
      expect(run.parameters).toEqual([
        { name: 'Service', value: `b64.${Buffer.from('MSSQL$SQLEXPRESS').toString('base64')}` },
        { name: 'Disable', value: '1' },
      ]);
      expect((buildFixRun('free-rdp-port', { service: 'TomcatAgent' }, conflictFacts) as ScriptFixRun).parameters[0].value).toBe('TomcatAgent');
    });
    it('passes several co-hosted services as one comma-separated parameter, each one checked (A13)', () => {
      const run = buildFixRun('free-rdp-port', { service: 'TomcatAgent' }, conflictFacts) as ScriptFixRun;
      expect(run.parameters[0].value).toBe('TomcatAgent');
      expect(badInputKey(() => buildFixRun('free-rdp-port', { service: 'TomcatAgent,W32Time' }, conflictFacts))).toBe('runbook.param.serviceNotHolding');
      expect(badInputKey(() => buildFixRun('free-rdp-port', { service: 'TomcatAgent,TermService' }, conflictFacts))).toBe('runbook.param.serviceNotHolding');
    });
    it.each(['W32Time', 'TermService', 'Tomcat&calc', 'x'.repeat(81)])('refuses %s', (service) => {
      const key = badInputKey(() => buildFixRun('free-rdp-port', { service }, conflictFacts));
      expect(['runbook.param.serviceNotHolding', 'runbook.param.invalid']).toContain(key);
    });
    it('needs a diagnosis', () => {
      expect(badInputKey(() => buildFixRun('free-rdp-port', { service: 'TomcatAgent' }, null))).toBe('runbook.param.needsDiagnosis');
    });
  });

  describe('change-rdp-port', () => {
    it.each([1024, 65536, 0, -1, 3389.5, '3389; calc', '0x0D3E'])('refuses %p', (port) => {
      expect(['runbook.param.invalid', 'runbook.param.portSame']).toContain(badInputKey(() => buildFixRun('change-rdp-port', { port }, conflictFacts)));
    });
    it('refuses the current port and WinRM ports', () => {
      expect(badInputKey(() => buildFixRun('change-rdp-port', { port: 3389 }, conflictFacts))).toBe('runbook.param.portSame');
      expect(badInputKey(() => buildFixRun('change-rdp-port', { port: 5985 }, conflictFacts))).toBe('runbook.param.portReserved');
    });
    it('accepts a string port from a card and moves the NSG rule that carried RDP', () => {
      const vm = demoVm('vm-portclash-03');
      const run = buildFixRun('change-rdp-port', { port: '3390' }, conflictFacts, { nsgs: effectiveNsgsOf(vm) }) as ScriptFixRun;
      expect(run.parameters).toEqual([{ name: 'Port', value: '3390' }]);
      expect(run.arm).toMatchObject({
        op: 'nsgRules',
        rules: [
          {
            nsgId: expect.stringMatching(/networkSecurityGroups\/vm-portclash-03-nsg$/),
            coversOtherPorts: false,
            rule: expect.objectContaining({ name: 'allow-rdp-office', priority: 300, access: 'Allow', sourceAddressPrefix: '198.51.100.0/24', destinationPortRange: '3390' }),
          },
        ],
      });
    });
  });

  describe('restrict-rdp-source', () => {
    const vm = demoVm('vm-exposed-02');
    it('rewrites the exposing rule with the given source, keeping its name and priority', () => {
      const run = buildFixRun('restrict-rdp-source', { source: '203.0.113.0/24' }, null, { nsgs: effectiveNsgsOf(vm) }) as ArmFixRun;
      expect(run.arm).toMatchObject({
        op: 'nsgRules',
        rules: [
          {
            nsgId: expect.stringMatching(/vm-exposed-02-nsg$/),
            coversOtherPorts: false,
            rule: expect.objectContaining({ name: 'RDP', priority: 300, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '203.0.113.0/24', destinationPortRange: '3389' }),
          },
        ],
      });
    });
    it.each(['*', 'Internet', '0.0.0.0/0', 'any', '10.0.0.0/7', '203.0.113.7/24', '203.0.113.256', '203.0.113.07', '203.0.113.0/33', ' ', '1.2.3.4/24; rm'])('refuses %p', (source) => {
      const key = badInputKey(() => buildFixRun('restrict-rdp-source', { source }, null, { nsgs: effectiveNsgsOf(vm) }));
      expect(key).toMatch(/^runbook\.param\.(cidrFormat|cidrTooWide|cidrHostBits|invalid)$/);
      expect(hasKey('en', key) && hasKey('ru', key)).toBe(true);
    });
    it('refuses when nothing is exposed or the NSGs are unknown', () => {
      expect(badInputKey(() => buildFixRun('restrict-rdp-source', { source: '203.0.113.7' }, null, { nsgs: effectiveNsgsOf(demoVm('vm-healthy-01')) }))).toBe('runbook.param.nothingToRestrict');
      expect(badInputKey(() => buildFixRun('restrict-rdp-source', { source: '203.0.113.7' }, null, {}))).toBe('runbook.param.nsgUnknown');
    });
    it('CIDR validation: every canonical IPv4 CIDR of /8../32 passes unchanged', () => {
      fc.assert(
        fc.property(fc.ipV4(), fc.integer({ min: 8, max: 32 }), (ip, bits) => {
          const n = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
          const base = Math.floor(n / 2 ** (32 - bits)) * 2 ** (32 - bits);
          const text = [base >>> 24, (base >>> 16) & 255, (base >>> 8) & 255, base & 255].join('.');
          fc.pre(!text.startsWith('0.'));
          expect(validateSourceCidr(`${text}/${bits}`)).toBe(bits === 32 ? text : `${text}/${bits}`);
        }),
      );
    });
  });

  it('enable-tls passes TLS 1.0/1.1 only when asked', () => {
    expect((buildFixRun('enable-tls', {}, null) as ScriptFixRun).parameters).toEqual([
      { name: 'Tls10', value: '0' },
      { name: 'Tls11', value: '0' },
    ]);
    expect((buildFixRun('enable-tls', { tls10: true, tls11: 'false' }, null) as ScriptFixRun).parameters[0].value).toBe('1');
  });

  it('snapshot names are valid ARM names', () => {
    const run = buildFixRun('snapshot-os-disk', {}, null, { vm: vmDetailsOf(demoVm('vm-healthy-01')), now: NOW }) as ArmFixRun;
    expect(run.arm).toEqual({ op: 'snapshotOsDisk', snapshotName: 'vm-healthy-01-osdisk-rdpdoctor-20261125160000' });
    expect(badInputKey(() => buildFixRun('snapshot-os-disk', { snapshotName: 'a b' }, null))).toBe('runbook.param.invalid');
  });

  it("the runner's snapshot before a fix is named per job: two jobs on one VM in the same second get two snapshots, each a valid ARM name", () => {
    const vm = { ...vmDetailsOf(demoVm('vm-healthy-01')), name: `vm-${'x'.repeat(61)}` };
    const a = defaultSnapshotName({ vm, now: NOW }, '0d4c9a1e-1111-4222-8333-944445555666');
    const b = defaultSnapshotName({ vm, now: NOW }, '7f3b2c10-1111-4222-8333-944445555666');
    expect(a).not.toBe(b);
    for (const name of [a, b]) {
      expect(name.length).toBeLessThanOrEqual(80);
      expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$/);
      expect(name).toMatch(/-osdisk-rdpdoctor-20261125160000-[0-9a-f]{8}$/);
    }
  });
});

describe('encodeParam', () => {
  it('round-trips any text and only ever emits cmd-safe characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const e = encodeParam(s);
        expect(e).toMatch(/^[A-Za-z0-9.+/=-]*$/);
        // decoded the way the scripts do, by the tests' own decoder (not the product's decodeParam)
        expect(e.startsWith('b64.') ? base64Strict(e.slice(4)) : e).toBe(s);
      }),
    );
  });
  it('leaves plain values alone and encodes the rest as b64. + standard Base64 of UTF-8', () => {
    expect(encodeParam('TomcatAgent')).toBe('TomcatAgent');
    expect(encodeParam('vm-web-01.contoso')).toBe('vm-web-01.contoso');
    // expected values computed outside the project (Python's base64.b64encode)
    expect(encodeParam('MSSQL$SQLEXPRESS')).toBe('b64.TVNTUUwkU1FMRVhQUkVTUw==');
    expect(encodeParam('Служба,x')).toBe('b64.0KHQu9GD0LbQsdCwLHg=');
    expect(encodeParam('b64.x')).toBe('b64.YjY0Lng=');
  });
});
