import { approvalCard } from '../../cards/approval';
import { hasKey, LANGS, translator } from '../../services/i18n';
import { noUndoFor, undoAvailable } from '../../services/incidents/planner';
import type { Approval, Job } from '../../services/incidents/model';
import { FIX_IDS, type FixId } from '../../services/runbook/fixes';
import { NO_UNDO_FIXES } from '../../services/runbook/undo';
import { cardProblems } from '../support/card-validation';
import { cardText } from '../support/connector';

const vmId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-web-01';
const incidentId = '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11';
const rule = { name: 'rdp-doctor-allow-rdp', priority: 298, direction: 'Inbound' as const, access: 'Allow' as const, protocol: 'Tcp', sourceAddressPrefix: '203.0.113.0/24', destinationPortRange: '3389' };

/** The fix status each script fix prints when it changed something (the shapes of services/runbook/scripts/fix-*.ps1). */
const STATUS: Partial<Record<FixId, Record<string, unknown>>> = {
  'enable-tls': { ok: true, status: 'done', before: { 'TLS 1.2': { Enabled: 0, DisabledByDefault: 1 } } },
  'enable-nla': { ok: true, status: 'done', changed: ['UserAuthentication'], before: { UserAuthentication: 0 } },
  'fix-firewall-rule': { ok: true, status: 'done', before: { exists: true, enabled: false, localPort: ['3389'] } },
  // §1b (famhost)
  'allow-rdp-through-firewall': { ok: true, status: 'done', port: 3389, profile: 'Public', changed: ['blockAll', 'created'], before: { blockAll: true, builtin: null, own: null } },
  'free-rdp-port': { ok: true, status: 'done', before: { service: 'Foo', state: 'Running' } },
  'start-termservice': { ok: true, status: 'done', action: 'started', before: { state: 'Stopped', startMode: 'Disabled' } },
  'renew-rdp-cert': { ok: true, status: 'done', before: { thumbprint: 'AB' } },
  'reset-machinekeys-acl': {
    ok: true,
    status: 'done',
    backup: 'C:\\ProgramData\\RDP Doctor\\backups\\machinekeys-acl-20261130195300.txt',
    backupHash: 'a'.repeat(64),
    keyFile: null,
    owners: { folder: 'S-1-5-32-544', key: null },
    after: '0123456789abcdef',
    before: { folder: ['S-1-5-18:F'], key: null },
  },
  'change-rdp-port': { ok: true, status: 'done', oldPort: 3389, port: 3390, firewall: 'moved', before: { port: 3389, rule: { enabled: true, localPort: ['3389'] }, udp: null } },
  // --- §1b: remote desktop switched off, TermService config ---
  'allow-rdp-connections': { ok: true, status: 'done', changed: ['fDenyTSConnections'], before: { fDenyTSConnections: 1 } },
  'reset-rdp-listener': { ok: true, status: 'done', changed: ['fEnableWinStation'], before: { fEnableWinStation: 0, fLogonDisabled: 0, TSEnabled: 1, TSServerDrainMode: 0 } },
  'reset-termservice-config': { ok: true, status: 'done', changed: ['start'], before: { start: 'Disabled', account: 'NT Authority\\NetworkService', type: 'own' } },
};

function jobOf(fixId: string, over: Partial<Job> = {}, status: Record<string, unknown> | undefined = STATUS[fixId as FixId]): Job {
  return {
    id: 'j1', approvalId: 'a1', incidentId, vmId, vmName: 'vm-web-01', fixId, params: {}, paramsHash: 'x', lang: 'en', state: 'succeeded',
    steps: [{ name: 'precheck', state: 'done' }, { name: 'fix', state: 'done', ...(status ? { detail: { status } } : {}) }, { name: 'verify', state: 'done' }],
    createdAt: '', updatedAt: '', result: { gone: [], remaining: [], appeared: [] },
    ...(fixId === 'restrict-rdp-source'
      ? { plan: { fixId, script: null, arm: 'nsgRules', restart: false, alsoAffects: [], nsg: [{ nsgId: '/x/networkSecurityGroups/nsg', nsgName: 'nsg', action: 'upsert', before: null, after: rule, otherPorts: [] }] } }
      : {}),
    ...over,
  } as Job;
}

describe('undo offer: every catalogue fix either offers Undo or says why not', () => {
  it.each(FIX_IDS)('%s', (fixId) => {
    const job = jobOf(fixId);
    const reason = noUndoFor(job);
    if ((NO_UNDO_FIXES as readonly string[]).includes(fixId)) {
      expect(undoAvailable(job)).toBe(false);
      expect(reason?.key).toMatch(new RegExp(`^plans\\.undo\\.none\\.${fixId}`));
    } else {
      expect(undoAvailable(job)).toBe(true);
      expect(reason).toBeNull();
    }
    if (reason) for (const lang of LANGS) expect(hasKey(lang, reason.key)).toBe(true);
  });

  it('a fix that changed nothing, an undo, and a fix without before-values say so', () => {
    expect(noUndoFor(jobOf('enable-tls', { result: { outcome: 'already-fixed', gone: [], remaining: [], appeared: [] } as Job['result'] }))?.key).toBe('plans.undo.none.nothingChanged');
    expect(noUndoFor(jobOf('enable-tls', {}, { ok: true, status: 'noop', before: {} }))?.key).toBe('plans.undo.none.nothingChanged');
    expect(noUndoFor(jobOf('undo', {}, { ok: true, status: 'done' }))?.key).toBe('plans.undo.none.isUndo');
    expect(noUndoFor(jobOf('enable-nla', {}, { ok: true, status: 'done' }))?.key).toBe('plans.undo.none.noBeforeValues');
    // unfinished or failed jobs: the card says where they stand instead
    expect(noUndoFor(jobOf('restart-vm', { state: 'running' }))).toBeNull();
    expect(noUndoFor(jobOf('restart-vm', { state: 'failed' }))).toBeNull();
  });

  it('change-rdp-port and reset-machinekeys-acl: Undo only from before-values that validate', () => {
    const port = STATUS['change-rdp-port']!;
    // a status line from before the fix recorded the UDP rule, a WinRM port, a forged port
    expect(undoAvailable(jobOf('change-rdp-port', {}, { ...port, before: { port: 3389, rule: { enabled: true, localPort: ['3389'] } } }))).toBe(false);
    expect(undoAvailable(jobOf('change-rdp-port', {}, { ...port, oldPort: 5985, before: { port: 5985, rule: { enabled: true, localPort: ['5985'] }, udp: null } }))).toBe(false);
    expect(undoAvailable(jobOf('change-rdp-port', {}, { ...port, oldPort: '3389; x' }))).toBe(false);
    // an old port under 1025 is put back as recorded
    expect(undoAvailable(jobOf('change-rdp-port', {}, { ...port, oldPort: 443, before: { port: 443, rule: { enabled: true, localPort: ['443'] }, udp: null } }))).toBe(true);
    const acl = STATUS['reset-machinekeys-acl']!;
    // a backup outside the fix's folder (the Temp file of older versions), a forged path, no fingerprint (incomplete backup)
    expect(noUndoFor(jobOf('reset-machinekeys-acl', {}, { ...acl, backup: 'C:\\Windows\\Temp\\rdp-doctor-machinekeys-acl-20261130195300.txt' }))?.key).toBe('plans.undo.none.noBeforeValues');
    expect(undoAvailable(jobOf('reset-machinekeys-acl', {}, { ...acl, backup: 'C:\\ProgramData\\RDP Doctor\\backups\\machinekeys-acl-20261130195300.txt" & x' }))).toBe(false);
    expect(undoAvailable(jobOf('reset-machinekeys-acl', {}, { ...acl, after: null }))).toBe(false);
  });

  it.each(LANGS)('the completed-fix card shows the reason instead of the Undo button (%s)', (lang) => {
    const t = translator(lang);
    const approval: Approval = {
      id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId, vmName: 'vm-web-01', fixId: 'reset-machinekeys-acl', params: {}, paramsHash: 'h',
      requester: { id: '29:user', name: 'Alex' }, lang, state: 'approved', createdAt: '2026-11-25T10:00:00Z', expiresAt: '2026-11-25T11:00:00Z', cards: [],
    };
    const job = jobOf('renew-rdp-cert', { lang });
    const card = approvalCard(t, { approval: { ...approval, fixId: 'renew-rdp-cert' }, job, view: 'status', refreshUserIds: [], publicBaseUrl: 'https://x.example.com', canUndo: undoAvailable(job), noUndo: noUndoFor(job) });
    expect(cardProblems(card)).toEqual([]);
    const text = cardText(card);
    expect(text).toContain(t('plans.undo.none.title'));
    expect(text).toContain(t('plans.undo.none.renew-rdp-cert'));
    expect(JSON.stringify(card)).not.toContain('fix.undo');
    const undoable = jobOf('enable-tls', { lang });
    const card2 = approvalCard(t, { approval: { ...approval, fixId: 'enable-tls' }, job: undoable, view: 'status', refreshUserIds: [], publicBaseUrl: 'https://x.example.com', canUndo: undoAvailable(undoable), noUndo: noUndoFor(undoable) });
    expect(cardText(card2)).not.toContain(t('plans.undo.none.title'));
    expect(JSON.stringify(card2)).toContain('fix.undo');
  });
});
