import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VmDetails } from '../../services/azure/gateway';
import { hasKey } from '../../services/i18n';
import type { DiagnosticFacts } from '../../services/runbook/diagnostic-output';
import { blockers, evaluate, evidenceText, FINDING_IDS, SEVERITY, type Finding } from '../../services/runbook/findings';
import { demoVm, effectiveNsgsOf, healthyFacts, NOW, vmDetailsOf } from './runbook-helpers';

const vm: VmDetails = vmDetailsOf(demoVm('vm-healthy-01'));
const nsgs = effectiveNsgsOf(demoVm('vm-healthy-01'));

function ids(facts: DiagnosticFacts | null, now = NOW): string[] {
  return evaluate({ vm, nsgs, facts, now }).map((f) => f.id);
}
function only(change: (f: DiagnosticFacts) => void): string[] {
  return ids(healthyFacts(change));
}
function findingOf(change: (f: DiagnosticFacts) => void, id: string): Finding {
  const f = evaluate({ vm, nsgs, facts: healthyFacts(change), now: NOW }).find((x) => x.id === id);
  if (!f) throw new Error(`no ${id}`);
  return f;
}

describe('blockers', () => {
  it('stops on a Linux VM', () => {
    expect(blockers({ ...vm, osType: 'Linux' }).map((f) => f.id)).toEqual(['vm-not-windows']);
  });
  it.each(['stopped', 'deallocated', 'starting'] as const)('stops on a %s VM (and only names the power state)', (powerState) => {
    expect(blockers({ ...vm, powerState, agentStatus: 'NotReady' }).map((f) => f.id)).toEqual(['vm-not-running']);
  });
  it('stops when the agent is not Ready on a running VM', () => {
    expect(blockers({ ...vm, agentStatus: 'NotReady' }).map((f) => f.id)).toEqual(['vm-agent-not-ready']);
    expect(blockers({ ...vm, agentStatus: 'Unknown' }).map((f) => f.id)).toEqual(['vm-agent-not-ready']);
  });
  it('lets a running Windows VM with a Ready agent through', () => {
    expect(blockers(vm)).toEqual([]);
  });
  it('gives blockers the blocker severity', () => {
    expect(blockers({ ...vm, osType: 'Linux' })[0].severity).toBe('blocker');
  });
});

describe('findings from the diagnostic facts', () => {
  it('a healthy VM has none', () => {
    expect(ids(healthyFacts())).toEqual([]);
  });

  it('no facts (script did not run): only the network view', () => {
    expect(ids(null)).toEqual([]);
    expect(evaluate({ vm, nsgs: [], facts: null, now: NOW }).map((f) => f.id)).toEqual(['rdp-exposed-to-internet']);
  });

  it('unknown NSGs (null) give no network finding', () => {
    expect(evaluate({ vm, nsgs: null, facts: healthyFacts(), now: NOW })).toEqual([]);
  });

  describe('brute force', () => {
    it('99 failed logons are not enough, 100 are', () => {
      expect(only((f) => (f.events['4625'] = 99))).toEqual([]);
      expect(only((f) => (f.events['4625'] = 100))).toEqual(['brute-force-suspected']);
    });
    it('any 1006 is enough', () => {
      expect(only((f) => (f.events['1006'] = 1))).toEqual(['brute-force-suspected']);
    });
    it('evidence shows the capped count as "at least" and the top sources', () => {
      const f = findingOf((x) => {
        x.events['4625'] = 5000;
        x.logons = [{ ip: '203.0.113.50', count: 3100 }];
      }, 'brute-force-suspected');
      expect(f.evidence[0]).toEqual({ key: 'runbook.evidence.failedLogons', params: { count: '5000+', since: expect.any(String) } });
      expect(f.evidence[1].params).toEqual({ ip: '203.0.113.50', count: 3100 });
    });
  });

  describe('TermService and the listener', () => {
    it('TermService stopped', () => {
      expect(
        only((f) => {
          f.services = { TermService: { state: 'Stopped', start: 'Manual' }, SessionEnv: null, UmRdpService: null };
          f.listeners = [];
        }),
      ).toEqual(['termservice-stopped']);
    });
    it('TermService missing counts as stopped', () => {
      expect(only((f) => f.services && (f.services.TermService = null))).toContain('termservice-stopped');
    });
    it('another process on the port is a conflict; TermService sharing a svchost is not', () => {
      expect(only((f) => (f.listeners = [{ pid: 4242, proc: 'java', svc: ['TomcatAgent'] }]))).toEqual(['rdp-port-conflict']);
      expect(only((f) => (f.listeners = [{ pid: 4, proc: 'System', svc: [] }]))).toEqual(['rdp-port-conflict']);
      expect(only((f) => (f.listeners = [{ pid: 1104, proc: 'svchost', svc: ['TermService', 'Other'] }]))).toEqual([]);
    });
    it('nothing listening while TermService runs', () => {
      expect(only((f) => (f.listeners = []))).toEqual(['rdp-not-listening']);
    });
    it('a failed listener step claims nothing', () => {
      expect(
        only((f) => {
          f.listeners = [];
          f.err = ['listen:80070005'];
        }),
      ).toEqual([]);
    });
  });

  describe('firewall', () => {
    it.each<[string, DiagnosticFacts['fw'], string[]]>([
      ['missing', { found: false, enabled: false, ports: [] }, ['firewall-rule-mismatch']],
      ['disabled', { found: true, enabled: false, ports: ['3389'] }, ['firewall-rule-mismatch']],
      ['on another port', { found: true, enabled: true, ports: ['3390'] }, ['firewall-rule-mismatch']],
      ['on Any', { found: true, enabled: true, ports: ['Any'] }, []],
      ['on a range', { found: true, enabled: true, ports: ['3000-4000'] }, []],
      ['not collected', null, []],
    ])('rule %s', (_l, fw, expected) => {
      expect(only((f) => (f.fw = fw))).toEqual(expected);
    });
  });

  describe('certificate', () => {
    it('missing: no cert and no binding', () => {
      expect(
        only((f) => {
          f.cert = null;
          f.keyAcl = null;
        }),
      ).toEqual(['rdp-cert-missing']);
    });
    it('binding names a certificate that is not present', () => {
      expect(only((f) => (f.sslHash = 'A'.repeat(40)))).toEqual(['rdp-cert-binding-broken']);
      expect(
        only((f) => {
          f.sslHash = 'A'.repeat(40);
          f.cert = null;
          f.keyAcl = null;
        }),
      ).toEqual(['rdp-cert-binding-broken']);
    });
    it('binding that names the present certificate is fine', () => {
      expect(only((f) => (f.sslHash = f.cert?.thumb ?? null))).toEqual([]);
    });
    it('expired a second ago, expiring in 14 days, fine in 15', () => {
      const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
      expect(only((f) => f.cert && (f.cert.notAfter = at(-1000)))).toEqual(['rdp-cert-expired']);
      expect(only((f) => f.cert && (f.cert.notAfter = at(14 * 86_400_000)))).toEqual(['rdp-cert-expiring']);
      expect(only((f) => f.cert && (f.cert.notAfter = at(15 * 86_400_000)))).toEqual([]);
    });
    it('no private key, or its file not found', () => {
      expect(only((f) => f.cert && (f.cert.hasKey = false))).toEqual(['rdp-cert-no-private-key']);
      expect(
        only((f) => {
          if (f.cert) f.cert.keyFile = false;
          f.keyAcl = null;
        }),
      ).toEqual(['rdp-cert-no-private-key']);
    });
    it('key file status unknown claims nothing', () => {
      expect(only((f) => f.cert && (f.cert.keyFile = null))).toEqual([]);
    });
    it('a failed cert step claims nothing', () => {
      expect(
        only((f) => {
          f.cert = null;
          f.err = ['cert:80070005'];
        }),
      ).toEqual([]);
    });
  });

  describe('MachineKeys ACLs (SIDs only)', () => {
    it.each<[string, string[], boolean]>([
      ['Network Service R', ['S-1-5-18:F', 'S-1-5-20:R'], false],
      ['Authenticated Users RX', ['S-1-5-18:F', 'S-1-5-11:RX'], false],
      ['Everyone M', ['S-1-1-0:M'], false],
      ['Everyone F', ['S-1-1-0:F'], false],
      ['only SYSTEM and Administrators', ['S-1-5-18:F', 'S-1-5-32-544:F'], true],
      ['Network Service write only', ['S-1-5-18:F', 'S-1-5-20:W'], true],
      ['Network Service special', ['S-1-5-18:F', 'S-1-5-20:special'], true],
      ['a Deny of read for Everyone wins', ['S-1-5-20:R', 'S-1-1-0:R:deny'], true],
      ['a Deny of write does not stop reading', ['S-1-5-20:R', 'S-1-5-20:W:deny'], false],
      ['a Users (S-1-5-32-545) grant does not count', ['S-1-5-32-545:R'], true],
    ])('key file: %s', (_l, keyAcl, broken) => {
      expect(only((f) => (f.keyAcl = keyAcl)).includes('machinekeys-acl-broken')).toBe(broken);
    });

    it('the key-file part applies only when the key file exists', () => {
      expect(
        only((f) => {
          if (f.cert) f.cert.keyFile = null;
          f.keyAcl = ['S-1-5-18:F'];
        }),
      ).toEqual([]);
    });

    it.each<[string, string[], boolean]>([
      ['Administrators F + Everyone special (documented default)', ['S-1-5-32-544:F', 'S-1-1-0:special'], false],
      ['SYSTEM F only', ['S-1-5-18:F'], false],
      ['Administrators M only', ['S-1-5-32-544:M', 'S-1-1-0:special'], true],
      ['Administrators F denied', ['S-1-5-32-544:F:deny'], true],
    ])('folder: %s', (_l, mkAcl, broken) => {
      expect(only((f) => (f.mkAcl = mkAcl)).includes('machinekeys-acl-broken')).toBe(broken);
    });
  });

  it.each(['1057', '1058', '36870', '36872'] as const)('event %s logged -> cert-key-errors-logged', (id) => {
    expect(only((f) => (f.events[id] = 1))).toEqual(['cert-key-errors-logged']);
  });

  describe('TLS', () => {
    it.each<[string, { Enabled: number | null; DisabledByDefault: number | null }, boolean]>([
      ['absent values = Windows default (on)', { Enabled: null, DisabledByDefault: null }, false],
      ['Enabled=1 DisabledByDefault=0', { Enabled: 1, DisabledByDefault: 0 }, false],
      ['Enabled=0xFFFFFFFF (reads as -1) is on', { Enabled: -1, DisabledByDefault: 0 }, false],
      ['Enabled=0', { Enabled: 0, DisabledByDefault: null }, true],
      ['DisabledByDefault=1', { Enabled: 1, DisabledByDefault: 1 }, true],
    ])('TLS 1.2 %s', (_l, v, disabled) => {
      expect(only((f) => f.tls && (f.tls['TLS 1.2'] = v)).includes('tls-disabled')).toBe(disabled);
    });
    it('TLS 1.0 and 1.1 off is fine', () => {
      expect(
        only((f) => {
          if (!f.tls) return;
          f.tls['TLS 1.0'] = { Enabled: 0, DisabledByDefault: 1 };
          f.tls['TLS 1.1'] = { Enabled: 0, DisabledByDefault: 1 };
        }),
      ).toEqual([]);
    });
    it('36871 logged -> tls-disabled', () => {
      expect(only((f) => (f.events['36871'] = 3))).toEqual(['tls-disabled']);
    });
    it('policy-owned values are reported as info', () => {
      const f = findingOf((x) => (x.policy = ['SCHANNEL\\TLS 1.2\\Server\\Enabled']), 'tls-managed-by-policy');
      expect(f.severity).toBe('info');
      expect(f.evidence[0].params.path).toBe('HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Server\\Enabled');
    });
  });

  describe('NLA', () => {
    it('UserAuthentication=0 -> nla-disabled; absent = default 1', () => {
      expect(only((f) => f.rdpTcp && (f.rdpTcp.UserAuthentication = 0))).toEqual(['nla-disabled']);
      expect(only((f) => f.rdpTcp && (f.rdpTcp.UserAuthentication = null))).toEqual([]);
    });
    it('a policy value overrides the listener value', () => {
      expect(only((f) => (f.policy = ['TS\\UserAuthentication=0'])).sort()).toEqual(['nla-disabled', 'tls-managed-by-policy']);
      expect(
        only((f) => {
          if (f.rdpTcp) f.rdpTcp.UserAuthentication = 0;
          f.policy = ['TS\\UserAuthentication=1'];
        }),
      ).toEqual(['tls-managed-by-policy']);
    });
  });

  it('orders findings by severity, then catalogue order', () => {
    const out = evaluate({
      vm,
      nsgs,
      facts: healthyFacts((f) => {
        f.policy = ['TS\\UserAuthentication=0'];
        f.events['36871'] = 1;
        f.fw = { found: false, enabled: false, ports: [] };
      }),
      now: NOW,
    });
    expect(out.map((f) => f.severity)).toEqual(['critical', 'warning', 'warning', 'info']);
    expect(out.map((f) => f.id)).toEqual(['tls-disabled', 'firewall-rule-mismatch', 'nla-disabled', 'tls-managed-by-policy']);
  });
});

describe('catalogue', () => {
  it('every finding id of CONTRACTS §1 has its severity', () => {
    // CONTRACTS §1, written out here: the catalogue is checked against it, not against itself
    const contract: Record<string, string> = {
      'vm-not-windows': 'blocker',
      'vm-not-running': 'blocker',
      'vm-agent-not-ready': 'blocker',
      'rdp-exposed-to-internet': 'critical',
      'rdp-blocked-by-nsg': 'warning',
      'brute-force-suspected': 'critical',
      'termservice-stopped': 'critical',
      'rdp-port-conflict': 'critical',
      'rdp-not-listening': 'critical',
      'firewall-rule-mismatch': 'warning',
      'rdp-cert-missing': 'critical',
      'rdp-cert-binding-broken': 'critical',
      'rdp-cert-expired': 'critical',
      'rdp-cert-expiring': 'warning',
      'rdp-cert-no-private-key': 'critical',
      'machinekeys-acl-broken': 'critical',
      'cert-key-errors-logged': 'critical',
      'tls-disabled': 'critical',
      'tls-managed-by-policy': 'info',
      'nla-disabled': 'warning',
      // §1b (famhost)
      'guest-firewall-blocks-rdp': 'critical',
      'secure-channel-broken': 'critical',
      'credssp-oracle-strict': 'info',
      'rdsh-licensing-expired': 'critical',
      'system-disk-full': 'critical',
      'rdp-no-public-ip': 'info',
      // --- §1b: remote desktop switched off, TermService config ---
      'rdp-connections-denied': 'critical',
      'rdp-listener-disabled': 'critical',
      'termservice-disabled': 'critical',
      'termservice-wrong-account': 'critical',
      'termservice-crashing': 'warning',
      // --- end §1b: remote desktop switched off, TermService config ---
    };
    expect([...FINDING_IDS].sort()).toEqual(Object.keys(contract).sort());
    expect(SEVERITY).toEqual(contract);
  });

  it('every evidence key the engine can emit exists in English and Russian', () => {
    const dir = join(__dirname, '..', '..', 'services', 'runbook', 'causes');
    const src = readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n');
    const keys = [...src.matchAll(/ev\(\s*'([A-Za-z0-9]+)'/g)].map((m) => `runbook.evidence.${m[1]}`);
    keys.push(...['1057', '1058', '36870', '36872'].map((id) => `runbook.evidence.event${id}`));
    keys.push('runbook.evidence.nlaPolicy', 'runbook.evidence.nlaRegistry');
    expect(keys.length).toBeGreaterThan(30);
    for (const k of keys) {
      expect([k, hasKey('en', k)]).toEqual([k, true]);
      expect([k, hasKey('ru', k)]).toEqual([k, true]);
    }
  });

  it('renders evidence with its parameters in both languages', () => {
    const f = findingOf((x) => (x.listeners = [{ pid: 4242, proc: 'java', svc: ['TomcatAgent'] }]), 'rdp-port-conflict');
    expect(evidenceText('en', f.evidence[0])).toContain('java (PID 4242)');
    expect(evidenceText('ru', f.evidence[0])).toMatch(/занят процессом java \(PID 4242\)/);
  });
});
