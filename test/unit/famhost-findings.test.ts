import fc from 'fast-check';
import type { VmDetails } from '../../services/azure/gateway';
import { hasKey } from '../../services/i18n';
import type { DiagnosticFacts, HostFacts } from '../../services/runbook/diagnostic-output';
import { evaluate, type Finding } from '../../services/runbook/findings';
import { REGISTRY } from '../../services/runbook/causes';
import { canonicalWindows, windowsStateSchema } from '../../services/simulator/fleet';
import { factsFromWindows } from '../../services/simulator/vm-interior';
import { demoVm, effectiveNsgsOf, healthyFacts, NOW, vmDetailsOf } from './runbook-helpers';

/** CONTRACTS §1b findings of the famhost causes: each fires on its values, never on healthy or absent ones. */
const vm: VmDetails = vmDetailsOf(demoVm('vm-healthy-01'));
const nsgs = effectiveNsgsOf(demoVm('vm-healthy-01'));
const HOST_IDS = ['guest-firewall-blocks-rdp', 'secure-channel-broken', 'credssp-oracle-strict', 'rdsh-licensing-expired', 'system-disk-full', 'rdp-no-public-ip'];

function withHost(change: (h: HostFacts, f: DiagnosticFacts) => void, v: VmDetails = vm): Finding[] {
  const facts = healthyFacts((f) => {
    if (!f.host) throw new Error('healthy facts carry host');
    change(f.host, f);
  });
  return evaluate({ vm: v, nsgs, facts, now: NOW });
}
const ids = (fs: Finding[]): string[] => fs.map((f) => f.id);

describe('§1b host findings (famhost)', () => {
  it('healthy facts (the demo healthy VM) report none of them', () => {
    expect(ids(withHost(() => undefined))).toEqual([]);
  });

  it('facts of an older script (no host key) report none of them', () => {
    const facts = healthyFacts((f) => delete f.host);
    expect(ids(evaluate({ vm, nsgs, facts, now: NOW }))).toEqual([]);
  });

  it('guest-firewall-blocks-rdp: block-all on the active profile, or no allow rule with a Block default', () => {
    expect(ids(withHost((h) => h.fw && (h.fw.blk = true)))).toEqual(['guest-firewall-blocks-rdp']);
    expect(ids(withHost((h) => h.fw && (h.fw.n = 0)))).toEqual(['guest-firewall-blocks-rdp']);
    // a disabled profile, or a default Allow, lets RDP in
    expect(ids(withHost((h) => h.fw && ((h.fw.blk = true), (h.fw.on = false))))).toEqual([]);
    expect(ids(withHost((h) => h.fw && ((h.fw.n = 0), (h.fw.def = 'Allow'))))).toEqual([]);
    const e = withHost((h) => h.fw && ((h.fw.blk = true), (h.fw.p = 'Domain'))).find((f) => f.id === 'guest-firewall-blocks-rdp')?.evidence;
    expect(e).toEqual([{ key: 'runbook.evidence.guestFwBlockAll', params: { profile: 'Domain' } }]);
  });

  it('guest-firewall-blocks-rdp replaces firewall-rule-mismatch (one problem, reported once, with the built-in rule state)', () => {
    const disabledOnly = withHost((_h, f) => f.fw && (f.fw.enabled = false));
    expect(ids(disabledOnly)).toEqual(['firewall-rule-mismatch']);
    const blocked = withHost((h, f) => {
      if (f.fw) f.fw.enabled = false;
      if (h.fw) h.fw.n = 0;
    });
    expect(ids(blocked)).toEqual(['guest-firewall-blocks-rdp']);
    expect(blocked[0].evidence.map((x) => x.key)).toEqual(['runbook.evidence.guestFwNoAllow', 'runbook.evidence.fwRuleDisabled']);
  });

  it('secure-channel-broken on sc false only (null = workgroup or not tested)', () => {
    expect(ids(withHost((h) => (h.sc = false)))).toEqual(['secure-channel-broken']);
    expect(ids(withHost((h) => (h.sc = true)))).toEqual([]);
    expect(ids(withHost((h) => (h.sc = null)))).toEqual([]);
  });

  it('credssp-oracle-strict (info) on AllowEncryptionOracle 0 only', () => {
    expect(withHost((h) => (h.ao = 0)).map((f) => [f.id, f.severity])).toEqual([['credssp-oracle-strict', 'info']]);
    for (const v of [1, 2, null]) expect(ids(withHost((h) => (h.ao = v)))).toEqual([]);
  });

  it('rdsh-licensing-expired: role installed, no license server, grace over', () => {
    expect(ids(withHost((h) => (h.rdsh = { ls: 0, gd: 0 })))).toEqual(['rdsh-licensing-expired']);
    expect(ids(withHost((h) => (h.rdsh = { ls: 1, gd: 0 })))).toEqual([]);
    expect(ids(withHost((h) => (h.rdsh = { ls: 0, gd: 30 })))).toEqual([]);
    expect(ids(withHost((h) => (h.rdsh = { ls: 0, gd: null })))).toEqual([]);
    expect(ids(withHost((h) => (h.rdsh = null)))).toEqual([]);
  });

  it('system-disk-full: < 200 MB critical, < 1 GB the same id as a warning', () => {
    expect(withHost((h) => (h.mb = 199)).map((f) => [f.id, f.severity])).toEqual([['system-disk-full', 'critical']]);
    expect(withHost((h) => (h.mb = 200)).map((f) => [f.id, f.severity])).toEqual([['system-disk-full', 'warning']]);
    expect(withHost((h) => (h.mb = 1023)).map((f) => [f.id, f.severity])).toEqual([['system-disk-full', 'warning']]);
    expect(ids(withHost((h) => (h.mb = 1024)))).toEqual([]);
    expect(ids(withHost((h) => (h.mb = null)))).toEqual([]);
  });

  it('rdp-no-public-ip (info) from the ARM view only, also without facts (a stopped VM)', () => {
    expect(ids(withHost(() => undefined, { ...vm, publicIp: false }))).toEqual(['rdp-no-public-ip']);
    expect(ids(withHost(() => undefined, { ...vm, publicIp: true }))).toEqual([]);
    expect(ids(withHost(() => undefined, { ...vm, publicIp: undefined }))).toEqual([]);
    expect(ids(evaluate({ vm: { ...vm, publicIp: false, powerState: 'stopped' }, nsgs: null, facts: null, now: NOW }))).toEqual(['rdp-no-public-ip']);
  });

  it('auditFailedLogons false: the brute-force evidence says "not audited", never a count of 0', () => {
    const f = withHost((h, facts) => {
      // as the script prints a VM without failure auditing: no 4625, no sources
      h.aud = false;
      facts.events['4625'] = 0;
      facts.logons = [];
      facts.events['1006'] = 3;
    }).find((x) => x.id === 'brute-force-suspected');
    expect(f?.evidence.map((e) => e.key)).toEqual(['runbook.evidence.incompleteConnections', 'runbook.evidence.failedLogonsNotAudited']);
  });

  it('every finding, evidence and guidance key exists in en and ru; guidance links a Microsoft Learn article', () => {
    const causes = REGISTRY.filter((c) => c.findings.some((f) => HOST_IDS.includes(f.id)));
    expect(causes.flatMap((c) => c.findings.map((f) => f.id)).sort()).toEqual([...HOST_IDS].sort());
    for (const lang of ['en', 'ru'] as const) {
      for (const id of HOST_IDS) for (const k of ['title', 'explain']) expect([lang, id, k, hasKey(lang, `findings.${id}.${k}`)]).toEqual([lang, id, k, true]);
      for (const g of causes.flatMap((c) => c.guidance ?? [])) {
        expect(hasKey(lang, g.textKey)).toBe(true);
        expect(hasKey(lang, `guidance.who.${g.who}`)).toBe(true);
        expect(g.article).toMatch(/^https:\/\/learn\.microsoft\.com\/en-us\/[a-z0-9/._?=-]+$/);
      }
      for (const k of ['guestFwBlockAll', 'guestFwNoAllow', 'hostSecureChannel', 'hostCredSsp', 'hostRdshExpired', 'hostDiskFree', 'noPublicIp', 'failedLogonsNotAudited']) {
        expect(hasKey(lang, `runbook.evidence.${k}`)).toBe(true);
      }
    }
    // every §1b finding without a fix has guidance
    const guided = causes.flatMap((c) => (c.guidance ?? []).map((g) => g.findingId));
    expect(guided.sort()).toEqual(['credssp-oracle-strict', 'rdp-no-public-ip', 'rdsh-licensing-expired', 'secure-channel-broken', 'system-disk-full']);
  });

  it('generated healthy-valued states (every §1b field at a healthy value) report none of them', () => {
    const base = demoVm('vm-healthy-01').windows;
    if (!base) throw new Error('no windows');
    const healthy = fc.record({
      activeProfile: fc.constantFrom('Domain', 'Private', 'Public'),
      blockOff: fc.boolean(),
      secureChannel: fc.boolean(),
      domainJoined: fc.boolean(),
      ao: fc.constantFrom(1, 2, null),
      rdsh: fc.constantFrom({ installed: false }, { installed: true, licenseServers: ['ls01.contoso.com'], graceExpired: true }, { installed: true, graceExpired: false }),
      freeMB: fc.integer({ min: 1024, max: 500000 }),
    });
    fc.assert(
      fc.property(healthy, (g) => {
        const w = windowsStateSchema.parse({
          ...base,
          domainJoined: g.domainJoined,
          secureChannel: g.domainJoined ? true : g.secureChannel,
          firewall: { activeProfile: g.activeProfile, profiles: { [g.activeProfile]: { enabled: true, blockAllInbound: false } } },
          credSsp: { allowEncryptionOracle: g.ao },
          rdsh: g.rdsh,
          systemDrive: { freeMB: g.freeMB },
        });
        canonicalWindows(w);
        const facts = factsFromWindows(w, NOW, new Date(NOW.getTime() - 86_400_000));
        const found = ids(evaluate({ vm: { ...vm, publicIp: true }, nsgs, facts, now: NOW })).filter((id) => HOST_IDS.includes(id));
        expect(found).toEqual([]);
      }),
      { seed: 20261130, numRuns: 200 },
    );
  });
});
