import { DomainError } from '../../services/errors';
import { CAPS, parseDiagnosticOutput, serializeFacts, type DiagnosticFacts } from '../../services/runbook/diagnostic-output';
import { healthyFacts } from './runbook-helpers';

const longSid = 'S-1-5-21-4294967295-4294967295-4294967295-4294967295';

/** Every list at its cap, every string at its longest. */
function worstCase(): DiagnosticFacts {
  const name = 'x'.repeat(CAPS.nameLength);
  return healthyFacts((f) => {
    f.ps = '5.1';
    f.port = 65535;
    f.listeners = Array.from({ length: CAPS.listeners }, (_, i) => ({
      pid: 4294967 + i,
      proc: name,
      svc: Array.from({ length: CAPS.servicesPerListener }, () => name),
    }));
    f.services = {
      TermService: { state: 'Continue Pending', start: 'Disabled' },
      SessionEnv: { state: 'Continue Pending', start: 'Disabled' },
      UmRdpService: { state: 'Continue Pending', start: 'Disabled' },
    };
    f.cert = { thumb: 'F'.repeat(40), notAfter: '2027-05-01T00:00:00Z', hasKey: true, store: 'Remote Desktop', keyFile: true };
    f.sslHash = 'A'.repeat(64);
    f.mkAcl = Array.from({ length: CAPS.acl }, () => `${longSid}:special:deny`);
    f.keyAcl = Array.from({ length: CAPS.acl }, () => `${longSid}:special:deny`);
    f.tls = {
      'TLS 1.0': { Enabled: -2147483648, DisabledByDefault: -2147483648 },
      'TLS 1.1': { Enabled: -2147483648, DisabledByDefault: -2147483648 },
      'TLS 1.2': { Enabled: -2147483648, DisabledByDefault: -2147483648 },
    };
    f.rdpTcp = { SecurityLayer: -2147483648, UserAuthentication: -2147483648, fAllowSecProtocolNegotiation: -2147483648 };
    f.fw = { found: true, enabled: true, ports: Array.from({ length: CAPS.firewallPorts }, () => '65535-65535____') };
    f.domain = false;
    // backslashes double in JSON: the worst policy entry is all backslashes
    f.policy = Array.from({ length: CAPS.policy }, () => '\\'.repeat(CAPS.policyLength));
    f.rsop = 'error';
    f.events = { '1057': 2000, '1058': 2000, '1006': 2000, '36870': 2000, '36871': 2000, '36872': 2000, '4625': 5000 };
    f.logons = Array.from({ length: CAPS.logons }, () => ({ ip: 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', count: 5000 }));
    f.err = Array.from({ length: CAPS.err }, () => 'x'.repeat(24));
    // CONTRACTS 1b: every value at its widest (a DWORD's longest text; backslashes double in JSON)
    f.host = { fw: { p: 'Private', on: false, blk: false, def: 'Block', n: 99999 }, sc: false, ao: -2147483648, rdsh: { ls: 99999, gd: 99999 }, mb: 2147483647, aud: false };
    f.rs = { dn: -2147483648, gdn: -2147483648, en: -2147483648, dr: -2147483648, ws: -2147483648, ld: -2147483648, acct: '\\'.repeat(40), crash: 2000 };
  });
}

describe('diagnostic output', () => {
  // The bound here is the schema's ceiling (every field at its widest, which no real VM reaches at
  // once: all-backslash policy paths, DWORDs at their longest): it must stay inside what Run Command
  // keeps (the last 4,096 bytes of stdout) with room for the line ending. The 3,500-byte bound of
  // CONTRACTS is held on the real script's worst case (diagnose-real-output.test.ts, Pester).
  it('fits what Run Command keeps in the worst case the schema allows (the last 4,096 bytes)', () => {
    const line = serializeFacts(worstCase());
    expect(Buffer.byteLength(line, 'utf8')).toBeLessThanOrEqual(4000);
    expect(parseDiagnosticOutput(line)).toEqual(worstCase());
  });

  it('is one ASCII line', () => {
    const line = serializeFacts(worstCase());
    expect(line).not.toMatch(/[\r\n]/);
    expect(line).toMatch(/^[\x20-\x7e]+$/);
  });

  it('takes the last JSON line of stdout and ignores earlier noise', () => {
    const facts = healthyFacts();
    const stdout = `WARNING: something\r\n{"not":"it"}\r\n${serializeFacts(facts)}\r\n\r\n`;
    expect(parseDiagnosticOutput(stdout)).toEqual(facts);
  });

  it.each([
    ['empty output', ''],
    ['no JSON', 'Access is denied.\r\n'],
    ['truncated line', serializeFacts(healthyFacts()).slice(0, 200)],
    ['the script fallback line', '{"v":1,"id":"diagnose","fatal":"json"}'],
    ['a wrong type', serializeFacts(healthyFacts()).replace('"port":3389', '"port":"3389"')],
    ['an unknown key', serializeFacts(healthyFacts()).replace('{"v":1,', '{"v":1,"extra":1,')],
    ['a localized ACL name', serializeFacts(healthyFacts()).replace('S-1-5-32-544:F', 'VORDEFINIERT\\\\Administratoren:F')],
  ])('rejects %s as script-output-invalid', (_label, stdout) => {
    let caught: unknown;
    try {
      parseDiagnosticOutput(stdout);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).code).toBe('script-output-invalid');
  });

  it('escapes the characters Windows PowerShell 5.1 escapes', () => {
    const f = healthyFacts((x) => {
      x.listeners = [{ pid: 1, proc: "a'b<c>&", svc: [] }];
    });
    expect(serializeFacts(f)).toContain('"a\\u0027b\\u003cc\\u003e\\u0026"');
    // such a name is not a Windows process name: it is reported as unexpected, never used (issue #12.10)
    expect(parseDiagnosticOutput(serializeFacts(f)).listeners).toEqual([{ pid: 1, proc: '(unexpected name)', svc: [] }]);
  });
});
