import fc from 'fast-check';
import { hasKey, t } from '../../services/i18n';
import { REGISTRY } from '../../services/runbook/causes';
import { isNetworkService, TERMSERVICE_ARTICLE } from '../../services/runbook/causes/termservice-config';
import { parseDiagnosticOutput, type DiagnosticFacts } from '../../services/runbook/diagnostic-output';
import { evaluate, evidenceText, type Finding } from '../../services/runbook/findings';
import { fixesFor } from '../../services/runbook/fixes';
import { windowsStateSchema, type WindowsState } from '../../services/simulator/fleet';
import { diagnoseLine } from '../../services/simulator/vm-interior-diagnose';
import { demoVm, effectiveNsgsOf, healthyFacts, NOW, vmDetailsOf } from './runbook-helpers';

/**
 * The §1b findings about Remote Desktop switched off and TermService's configuration: each fires
 * on its values, none on healthy or absent ones (generated states through the emulated diagnosis),
 * their evidence exists in English and Russian, and the finding without a fix carries guidance.
 */
const OURS = ['rdp-connections-denied', 'rdp-listener-disabled', 'termservice-disabled', 'termservice-wrong-account', 'termservice-crashing'];
const vm = vmDetailsOf(demoVm('vm-healthy-01'));
const nsgs = effectiveNsgsOf(demoVm('vm-healthy-01'));
const TS_POL = 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';

function findings(change: (f: DiagnosticFacts) => void): Finding[] {
  return evaluate({ vm, nsgs, facts: healthyFacts(change), now: NOW }).filter((f) => OURS.includes(f.id));
}
const ids = (change: (f: DiagnosticFacts) => void): string[] => findings(change).map((f) => f.id);
const rs = (f: DiagnosticFacts): NonNullable<DiagnosticFacts['rs']> => f.rs as NonNullable<DiagnosticFacts['rs']>;

describe('Remote Desktop switched off', () => {
  it('a healthy VM reports rs with the Windows defaults and no finding', () => {
    expect(healthyFacts().rs).toEqual({ dn: 0, gdn: null, en: 1, dr: 0, ws: 1, ld: 0, acct: 'NT Authority\\NetworkService', crash: 0 });
    expect(ids(() => undefined)).toEqual([]);
  });

  it('fDenyTSConnections = 1 in the Terminal Server key: rdp-connections-denied, critical', () => {
    const [f] = findings((x) => (rs(x).dn = 1));
    expect(f).toEqual({ id: 'rdp-connections-denied', severity: 'critical', evidence: [{ key: 'runbook.evidence.rdpDenied', params: { value: 1 } }] });
  });

  it('the policy value wins: it denies over an allowing key (evidence says policy), and allows over a denying one', () => {
    const [f] = findings((x) => Object.assign(rs(x), { dn: 0, gdn: 1 }));
    expect(f.evidence.map((e) => e.key)).toEqual(['runbook.evidence.rdpDeniedPolicy']);
    expect(evidenceText('en', f.evidence[0])).toMatch(/Group Policy/);
    expect(ids((x) => Object.assign(rs(x), { dn: 1, gdn: 0 }))).toEqual([]);
  });

  it('absent values are the Windows defaults: no finding', () => {
    expect(ids((x) => Object.assign(rs(x), { dn: null, gdn: null, en: null, dr: null, ws: null, ld: null }))).toEqual([]);
  });

  it.each([
    [{ ws: 0 }, 'listenerWinStation'],
    [{ ld: 1 }, 'listenerLogonDisabled'],
    [{ en: 0 }, 'tsDisabled'],
    [{ dr: 2 }, 'tsDrainMode'],
    [{ dr: 1 }, 'tsDrainMode'],
  ])('%j: rdp-listener-disabled with evidence %s', (values, key) => {
    const [f] = findings((x) => Object.assign(rs(x), values));
    expect(f).toMatchObject({ id: 'rdp-listener-disabled', severity: 'critical' });
    expect(f.evidence.map((e) => e.key)).toEqual([`runbook.evidence.${key}`]);
  });

  it('a registry read that failed (rsreg) states nothing', () => {
    expect(ids((x) => {
      rs(x).dn = 1;
      x.err.push('rsreg');
    })).toEqual([]);
  });
});

describe('TermService misconfigured', () => {
  it('start mode Disabled: termservice-disabled instead of termservice-stopped', () => {
    const all = evaluate({ vm, nsgs, facts: healthyFacts((x) => (x.services = { TermService: { state: 'Stopped', start: 'Disabled' }, SessionEnv: null, UmRdpService: null })), now: NOW });
    expect(all.map((f) => f.id)).toEqual(['termservice-disabled']);
    expect(all[0].evidence).toEqual([{ key: 'runbook.evidence.termserviceDisabled', params: { state: 'Stopped' } }]);
    // a stopped service that can start stays termservice-stopped
    const stopped = evaluate({ vm, nsgs, facts: healthyFacts((x) => (x.services = { TermService: { state: 'Stopped', start: 'Manual' }, SessionEnv: null, UmRdpService: null })), now: NOW });
    expect(stopped.map((f) => f.id)).toEqual(['termservice-stopped']);
  });

  it.each(['NT AUTHORITY\\NetworkService', 'NT Authority\\NetworkService', 'nt authority\\network service', 'NT AUTHORITY\\NETWORK SERVICE'])('%s is Network Service', (a) => {
    expect(isNetworkService(a)).toBe(true);
    expect(ids((x) => (rs(x).acct = a))).toEqual([]);
  });

  it.each(['LocalSystem', 'NT AUTHORITY\\LocalService', '.\\rdpadmin', 'CONTOSO\\svc-rdp', 'NetworkService'])('%s: termservice-wrong-account', (a) => {
    const [f] = findings((x) => (rs(x).acct = a));
    expect(f).toEqual({ id: 'termservice-wrong-account', severity: 'critical', evidence: [{ key: 'runbook.evidence.termserviceAccount', params: { account: a } }] });
  });

  it('7031/7034 naming TermService: termservice-crashing, a warning; 2,000 reads "2000+"', () => {
    const [f] = findings((x) => (rs(x).crash = 3));
    expect(f).toMatchObject({ id: 'termservice-crashing', severity: 'warning' });
    expect(f.evidence[0].params.count).toBe(3);
    expect(findings((x) => (rs(x).crash = 2000))[0].evidence[0].params.count).toBe('2000+');
    expect(ids((x) => (rs(x).crash = null))).toEqual([]);
  });

  it('termservice-crashing has no fix but guidance: who, en/ru steps, the Microsoft Learn article', () => {
    expect(fixesFor(findings((x) => (rs(x).crash = 1))).map((x) => x.id)).toEqual([]);
    const g = REGISTRY.flatMap((c) => c.guidance ?? []).find((x) => x.findingId === 'termservice-crashing');
    expect(g).toEqual({ findingId: 'termservice-crashing', who: 'helpdesk', textKey: 'runbook.guidance.termservice-crashing', article: TERMSERVICE_ARTICLE });
    expect(TERMSERVICE_ARTICLE).toBe('https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/windows/troubleshoot-remote-desktop-services-issues');
    for (const lang of ['en', 'ru'] as const) expect(hasKey(lang, 'runbook.guidance.termservice-crashing')).toBe(true);
  });

  it('the fixes each finding offers', () => {
    const offer = (change: (f: DiagnosticFacts) => void) => fixesFor(findings(change)).map((x) => x.id);
    expect(offer((x) => (rs(x).dn = 1))).toEqual(['allow-rdp-connections']);
    expect(offer((x) => (rs(x).ws = 0))).toEqual(['reset-rdp-listener']);
    expect(offer((x) => (rs(x).acct = 'LocalSystem'))).toEqual(['reset-termservice-config']);
  });
});

describe('evidence and names in English and Russian', () => {
  it('every evidence key, finding title and fix name exists in both catalogues', () => {
    const keys = ['rdpDenied', 'rdpDeniedPolicy', 'listenerWinStation', 'listenerLogonDisabled', 'tsDisabled', 'tsDrainMode', 'termserviceDisabled', 'termserviceAccount', 'termserviceCrashed'].map((k) => `runbook.evidence.${k}`);
    keys.push(...OURS.flatMap((id) => [`findings.${id}.title`, `findings.${id}.explain`]));
    keys.push(...['allow-rdp-connections', 'reset-rdp-listener', 'reset-termservice-config'].flatMap((id) => [`fixes.${id}.title`, `fixes.${id}.description`]));
    for (const lang of ['en', 'ru'] as const) for (const k of keys) expect([lang, k, hasKey(lang, k)]).toEqual([lang, k, true]);
    expect(t('ru', 'runbook.evidence.termserviceCrashed', { count: 5, since: '2026-11-30T00:00:00Z' })).toMatch(/^5 событий/);
  });
});

/** Generated machines: healthy and absent values of every §1b field, through the emulated diagnose.ps1. */
const healthyArb = fc
  .record({
    dn: fc.constantFrom<number | null | undefined>(undefined, 0, null),
    gdn: fc.constantFrom<number | undefined>(undefined, 0),
    en: fc.constantFrom<number | null | undefined>(undefined, 1, null),
    dr: fc.constantFrom<number | null | undefined>(undefined, 0, null),
    ws: fc.constantFrom<number | null | undefined>(undefined, 1, null),
    ld: fc.constantFrom<number | null | undefined>(undefined, 0, null),
    acct: fc.constantFrom<string | undefined>(undefined, 'NT AUTHORITY\\NetworkService', 'NT Authority\\Network Service'),
    startMode: fc.constantFrom<'Auto' | 'Manual' | undefined>(undefined, 'Auto', 'Manual'),
    legacyService: fc.boolean(),
    events: fc.constantFrom<Record<string, number>>({}, { '7031': 0, '7034': 0 }, { '1057': 0 }),
  })
  .map((g) => {
    const w = structuredClone(demoVm('vm-healthy-01').windows) as WindowsState;
    const ts: NonNullable<WindowsState['terminalServer']> = {};
    if (g.dn !== undefined) ts.fDenyTSConnections = g.dn;
    if (g.en !== undefined) ts.TSEnabled = g.en;
    if (g.dr !== undefined) ts.TSServerDrainMode = g.dr;
    w.terminalServer = ts;
    if (g.ws !== undefined) w.rdpTcp.fEnableWinStation = g.ws;
    if (g.ld !== undefined) w.rdpTcp.fLogonDisabled = g.ld;
    if (g.gdn !== undefined) w.policyValues = { [`${TS_POL}\\fDenyTSConnections`]: g.gdn };
    if (!g.legacyService) w.services.TermService = { state: 'Running', ...(g.startMode ? { startMode: g.startMode } : {}), ...(g.acct ? { startName: g.acct } : {}) };
    w.events24h = { ...w.events24h, ...g.events };
    return windowsStateSchema.parse(w);
  });

/** One §1b field turned bad on top of a generated healthy machine, and the finding it must give. */
const badArb = fc.oneof(
  fc.constantFrom<[string, (w: WindowsState) => void]>(
    // (a policy value of 0 would win over the key: it is removed)
    ['rdp-connections-denied', (w) => Object.assign(w, { terminalServer: { ...w.terminalServer, fDenyTSConnections: 1 }, policyValues: {} })],
    ['rdp-connections-denied', (w) => (w.policyValues = { [`${TS_POL}\\fDenyTSConnections`]: 1 })],
    ['rdp-listener-disabled', (w) => (w.terminalServer = { ...w.terminalServer, TSEnabled: 0 })],
    ['rdp-listener-disabled', (w) => (w.terminalServer = { ...w.terminalServer, TSServerDrainMode: 2 })],
    ['rdp-listener-disabled', (w) => (w.rdpTcp.fLogonDisabled = 1)],
    ['termservice-disabled', (w) => (w.services.TermService = { state: 'Stopped', startMode: 'Disabled' })],
    ['termservice-wrong-account', (w) => (w.services.TermService = { state: 'Running', startName: 'LocalSystem' })],
    ['termservice-crashing', (w) => (w.events24h = { ...w.events24h, '7034': 2 })],
  ),
);

function diagnosed(w: WindowsState): string[] {
  const facts = parseDiagnosticOutput(diagnoseLine(w, NOW, new Date(NOW.getTime() - 86_400_000)));
  return evaluate({ vm, nsgs, facts, now: NOW }).map((f) => f.id).filter((id) => OURS.includes(id));
}

describe('generated machines (emulated diagnose.ps1 -> findings)', () => {
  it('healthy and absent values never give a §1b finding', () => {
    fc.assert(fc.property(healthyArb, (w) => expect(diagnosed(w)).toEqual([])), { numRuns: 200, seed: 20261130 });
  });

  it('one bad value gives exactly its finding', () => {
    fc.assert(
      fc.property(healthyArb, badArb, (w, [id, spoil]) => {
        spoil(w);
        expect(diagnosed(windowsStateSchema.parse(w))).toEqual([id]);
      }),
      { numRuns: 200, seed: 20261130 },
    );
  });
});
