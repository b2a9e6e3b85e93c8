import type { ScriptParameter } from '../../services/azure/gateway';
import { FIXES, type FixId } from '../../services/runbook/fixes';
import { getScript, type ScriptId } from '../../services/runbook/scripts';
import { noUndoReason, undoScriptFor } from '../../services/runbook/undo';
import { canonicalService, canonicalWindows, windowsStateSchema, type WindowsState } from '../../services/simulator/fleet';
import { runModelBatch, type ModelRun } from '../../services/simulator/pwsh-interior';
import { emulateFix } from '../../services/simulator/vm-interior-fixes';
import { emulateUndo } from '../../services/simulator/vm-interior-undo';
import { pwshForTests } from '../support/pwsh';
import { demoVm } from './runbook-helpers';

/**
 * §1b fixes for Remote Desktop switched off and TermService's configuration (allow-rdp-connections,
 * reset-rdp-listener, reset-termservice-config) and their undo scripts: the real scripts under the
 * modelled Windows against the emulation (same line, same state), and fix -> undo puts the state
 * back exactly as it was, judged on the state the scripts leave, never on their words.
 */
const NOW = new Date('2026-11-30T12:00:00Z');
const TS_POL = 'SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';
const FIX_SCRIPTS = { 'allow-rdp-connections': 'fix-allow-rdp-connections', 'reset-rdp-listener': 'fix-reset-rdp-listener', 'reset-termservice-config': 'fix-reset-termservice-config' } as const;
type OurFix = keyof typeof FIX_SCRIPTS;

const healthy = (): WindowsState => structuredClone(demoVm('vm-healthy-01').windows as WindowsState);
function state(change: (w: WindowsState) => void): WindowsState {
  const w = healthy();
  change(w);
  return windowsStateSchema.parse(w);
}

/** Named states: the demo VMs of the causes and the edges the scripts must handle. */
const STATES: Record<string, WindowsState> = {
  healthy: healthy(),
  'vm-rdpoff-21': demoVm('vm-rdpoff-21').windows as WindowsState,
  'vm-listener-22': demoVm('vm-listener-22').windows as WindowsState,
  'vm-svcdisabled-23': demoVm('vm-svcdisabled-23').windows as WindowsState,
  'vm-svcaccount-24': demoVm('vm-svcaccount-24').windows as WindowsState,
  policyDeny: state((w) => {
    w.terminalServer = { fDenyTSConnections: 1 };
    w.policyValues = { [`${TS_POL}\\fDenyTSConnections`]: 1 };
  }),
  policyAllows: state((w) => {
    w.terminalServer = { fDenyTSConnections: 1 };
    w.policyValues = { [`${TS_POL}\\fDenyTSConnections`]: 0 };
  }),
  absentValues: state((w) => {
    w.terminalServer = { fDenyTSConnections: null, TSEnabled: null, TSServerDrainMode: null };
    w.rdpTcp = { ...w.rdpTcp, fEnableWinStation: null, fLogonDisabled: null };
  }),
  allListenerWrong: state((w) => {
    w.terminalServer = { fDenyTSConnections: 2, TSEnabled: 0, TSServerDrainMode: 2 };
    w.rdpTcp = { ...w.rdpTcp, fEnableWinStation: 0, fLogonDisabled: 1 };
  }),
  drainAbsentDeny: state((w) => {
    w.terminalServer = { TSServerDrainMode: 1, fDenyTSConnections: -1 };
  }),
  everythingWrongSvc: state((w) => {
    w.services = { TermService: { state: 'Stopped', startMode: 'Disabled', startName: 'NT AUTHORITY\\LocalService' }, SessionEnv: 'Running' };
    w.listeners = [];
  }),
  networkServiceSpelt: state((w) => {
    w.services = { TermService: { state: 'Running', startName: 'NT AUTHORITY\\NETWORK SERVICE', ownProcess: true } };
  }),
  userAccount: state((w) => {
    w.services = { TermService: { state: 'Running', startMode: 'Auto', startName: 'CONTOSO\\svc-rdp', ownProcess: true } };
  }),
  listenerOnly: state((w) => {
    w.services = {};
  }),
  noTermService: state((w) => {
    w.services = { SessionEnv: 'Running' };
    w.listeners = [];
  }),
  brokenWmi: state((w) => {
    w.damage = { cimClasses: ['Win32_Service'] };
  }),
};

/** Undo parameters beyond what a fix prints: bad ones, edge ones, absent ones. */
const UNDO_PARAMS: Array<[ScriptId, ScriptParameter[]]> = [
  ['undo-allow-rdp-connections', [{ name: 'DenyTSConnections', value: '1' }]],
  ['undo-allow-rdp-connections', [{ name: 'DenyTSConnections', value: 'ABSENT' }]],
  ['undo-allow-rdp-connections', [{ name: 'DenyTSConnections', value: '4294967295' }]],
  ['undo-allow-rdp-connections', [{ name: 'DenyTSConnections', value: '4294967296' }]],
  ['undo-allow-rdp-connections', [{ name: 'DenyTSConnections', value: 'yes' }]],
  ['undo-allow-rdp-connections', []],
  ['undo-reset-rdp-listener', [{ name: 'EnableWinStation', value: '0' }, { name: 'TSServerDrainMode', value: '2' }]],
  ['undo-reset-rdp-listener', [{ name: 'LogonDisabled', value: 'absent' }, { name: 'TSEnabled', value: '0' }]],
  ['undo-reset-rdp-listener', [{ name: 'TSEnabled', value: '-1' }]],
  ['undo-reset-termservice-config', [{ name: 'StartMode', value: 'Disabled' }, { name: 'Type', value: 'share' }]],
  ['undo-reset-termservice-config', [{ name: 'Account', value: 'LocalSystem' }, { name: 'StartMode', value: 'auto' }]],
  ['undo-reset-termservice-config', [{ name: 'Account', value: `b64.${Buffer.from('CONTOSO\\svc-rdp').toString('base64')}` }]],
  ['undo-reset-termservice-config', [{ name: 'Account', value: 'b64.!!' }]],
  ['undo-reset-termservice-config', [{ name: 'StartMode', value: 'Boot' }]],
  ['undo-reset-termservice-config', [{ name: 'Type', value: 'own' }]],
];

interface Case {
  id: string;
  scriptId: ScriptId;
  windows: WindowsState;
  parameters: ScriptParameter[];
}

function buildCases(): { cases: Case[]; chains: Array<{ fix: OurFix; state: string; undo: Case }> } {
  const cases: Case[] = [];
  const chains: Array<{ fix: OurFix; state: string; undo: Case }> = [];
  for (const [name, w] of Object.entries(STATES)) {
    for (const [fix, scriptId] of Object.entries(FIX_SCRIPTS) as Array<[OurFix, ScriptId]>) {
      cases.push({ id: `${name}/${scriptId}`, scriptId, windows: structuredClone(w), parameters: [] });
      // the undo of what the (emulated) fix printed, run on the state the fix left
      const after = structuredClone(w);
      const out = emulateFix(after, scriptId, [], NOW);
      const undo = undoScriptFor(fix, JSON.parse(out.stdout) as Record<string, unknown>);
      if (undo) {
        const c: Case = { id: `${name}/${scriptId}/${undo.id}`, scriptId: undo.id, windows: after, parameters: undo.parameters };
        cases.push(c);
        chains.push({ fix, state: name, undo: c });
      }
    }
  }
  for (const [name, w] of Object.entries(STATES)) {
    UNDO_PARAMS.forEach(([scriptId, ps], i) => cases.push({ id: `${name}/${scriptId}#${i}`, scriptId, windows: structuredClone(w), parameters: ps }));
  }
  return { cases, chains };
}

function emulate(c: Case): { stdout: string; windows: WindowsState } {
  const w = structuredClone(c.windows);
  const r = c.scriptId.startsWith('undo-') ? emulateUndo(w, c.scriptId, c.parameters) : emulateFix(w, c.scriptId, c.parameters, NOW);
  return { stdout: r.stdout, windows: w };
}

const canon = (w: WindowsState): string => JSON.stringify(canonicalWindows(w));
/** The state as Windows shows it: a service seen only as a listener's host is the service the SCM has (running, automatic). */
function asWindowsShowsIt(w: WindowsState): string {
  const c = canonicalWindows(w);
  for (const l of c.listeners) for (const s of l.services) c.services[s] ??= canonicalService(s, { state: 'Running', startMode: 'Auto' });
  return JSON.stringify(c);
}

describe('the §1b fixes as the catalogue declares them', () => {
  it('each offers an undo, restarts only where Windows needs it, and addresses its findings', () => {
    expect(FIXES['allow-rdp-connections']).toMatchObject({ addresses: ['rdp-connections-denied'], needsRestart: false, kind: 'script', scriptId: 'fix-allow-rdp-connections' });
    expect(FIXES['reset-rdp-listener']).toMatchObject({ addresses: ['rdp-listener-disabled'], needsRestart: true, scriptId: 'fix-reset-rdp-listener' });
    expect(FIXES['reset-termservice-config']).toMatchObject({ addresses: ['termservice-disabled', 'termservice-wrong-account'], needsRestart: true });
    for (const id of Object.keys(FIX_SCRIPTS) as FixId[]) expect(noUndoReason(id, { ok: true, status: 'done', changed: [] })).toBe('noBeforeValues');
  });

  it('the emulated fixes: done on their demo VM, noop when healthy, refused under a denying policy', () => {
    const run = (name: string, scriptId: ScriptId) => JSON.parse(emulate({ id: '', scriptId, windows: STATES[name], parameters: [] }).stdout) as Record<string, unknown>;
    expect(run('vm-rdpoff-21', 'fix-allow-rdp-connections')).toMatchObject({ ok: true, status: 'done', changed: ['fDenyTSConnections'], before: { fDenyTSConnections: 1 }, needsRestart: false });
    expect(run('healthy', 'fix-allow-rdp-connections')).toMatchObject({ ok: true, status: 'noop', changed: [] });
    expect(run('policyDeny', 'fix-allow-rdp-connections')).toMatchObject({ ok: false, status: 'policy-denies', policy: 'TS\\fDenyTSConnections=1', changed: [] });
    expect(run('policyAllows', 'fix-allow-rdp-connections')).toMatchObject({ ok: true, status: 'done' });
    expect(run('allListenerWrong', 'fix-reset-rdp-listener')).toMatchObject({ ok: true, status: 'done', changed: ['fEnableWinStation', 'fLogonDisabled', 'TSEnabled', 'TSServerDrainMode'], needsRestart: true });
    expect(run('absentValues', 'fix-reset-rdp-listener')).toMatchObject({ ok: true, status: 'noop' });
    expect(run('everythingWrongSvc', 'fix-reset-termservice-config')).toMatchObject({ ok: true, status: 'done', changed: ['start', 'account', 'type'], before: { start: 'Disabled', account: 'NT AUTHORITY\\LocalService', type: 'share' } });
    expect(run('networkServiceSpelt', 'fix-reset-termservice-config')).toMatchObject({ ok: true, status: 'noop' });
    expect(run('noTermService', 'fix-reset-termservice-config')).toMatchObject({ ok: false, status: 'not-found' });
  });

  it('a user account cannot be put back (its password is unknown): no undo is offered', () => {
    const out = emulate({ id: '', scriptId: 'fix-reset-termservice-config', windows: STATES.userAccount, parameters: [] });
    const status = JSON.parse(out.stdout) as Record<string, unknown>;
    expect(status).toMatchObject({ status: 'done', changed: ['account'] });
    expect(undoScriptFor('reset-termservice-config', status)).toBeNull();
  });
});

const pwsh = pwshForTests('§1b fixes and undos under pwsh');
(pwsh ? describe : describe.skip)('§1b fix and undo scripts under the modelled Windows', () => {
  const { cases, chains } = buildCases();
  const results = new Map<string, { stdout: string; stderr: string; windows: WindowsState; hung: boolean }>();
  beforeAll(async () => {
    const runs: ModelRun[] = cases.map((c) => ({ id: c.id, windows: c.windows, script: getScript(c.scriptId).source, parameters: c.parameters, now: NOW, boot: new Date(NOW.getTime() - 86_400_000) }));
    for (const r of await runModelBatch(runs, { pwsh: pwsh as string, timeoutMs: 280_000 })) results.set(r.id, r);
  }, 300_000);

  it('every run: the emulation prints the same line and leaves the same state', () => {
    const mismatches: string[] = [];
    for (const c of cases) {
      const m = results.get(c.id);
      if (!m) {
        mismatches.push(`${c.id}: no result`);
        continue;
      }
      const e = emulate(c);
      if (m.stderr || m.hung) mismatches.push(`${c.id}: stderr ${m.stderr.slice(0, 300)} hung ${m.hung}`);
      if (e.stdout !== m.stdout) mismatches.push(`${c.id}: stdout\n  emulation: ${e.stdout.trim()}\n  model:     ${m.stdout.trim()}`);
      if (canon(e.windows) !== canon(m.windows)) mismatches.push(`${c.id}: state\n  emulation: ${canon(e.windows)}\n  model:     ${canon(m.windows)}`);
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
  });

  it('the statuses cover the change, the noop and the refusals', () => {
    const statuses = new Set(cases.map((c) => (JSON.parse(results.get(c.id)?.stdout ?? '{}') as { status?: string }).status));
    expect([...statuses]).toEqual(expect.arrayContaining(['done', 'noop', 'policy-denies', 'bad-param', 'not-found', 'failed']));
  });

  it('fix -> undo (the real scripts): the state is the state before the fix', () => {
    const want = chains.map((ch) => `${ch.state} ${ch.fix}`);
    // each fix is undone at least once, from its demo VM
    expect(want).toEqual(expect.arrayContaining(['vm-rdpoff-21 allow-rdp-connections', 'vm-listener-22 reset-rdp-listener', 'vm-svcdisabled-23 reset-termservice-config', 'vm-svcaccount-24 reset-termservice-config']));
    for (const ch of chains) {
      const undone = results.get(ch.undo.id);
      expect([ch.undo.id, (JSON.parse(undone?.stdout ?? '{}') as { status?: string }).status]).toEqual([ch.undo.id, 'done']);
      expect([ch.undo.id, asWindowsShowsIt(undone?.windows as WindowsState)]).toEqual([ch.undo.id, asWindowsShowsIt(STATES[ch.state])]);
    }
  });
});
