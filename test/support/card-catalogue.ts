import { approvalCard } from '../../cards/approval';
import { consentCard, findingsCard, offlineGuideCard, progressCard, vmPickCard, messageCard } from '../../cards/diagnosis';
import { helpCard } from '../../cards/help';
import { asAttachment, type CardJson } from '../../cards/render';
import { welcomeCard } from '../../cards/welcome';
import { sweepCard } from '../../cards/sweep';
import { approveDialogCard, dialogInput, fixDialogCard } from '../../cards/dialogs';
import { diagnoseMessageCard, vmCard } from '../../cards/vm';
import { offlineGuide } from '../../dialogs/offline-steps';
import { LANGS, translator } from '../../services/i18n';
import type { Approval, DiagnosisRecord, Job } from '../../services/incidents/model';
import { FINDING_IDS, SEVERITY } from '../../services/runbook/findings';
import { FIXES, FIX_IDS } from '../../services/runbook/fixes';
import { DIAGNOSE_RUN_TEXT } from '../../services/runbook/script-pages';
import { planRepair, REPAIR_STEPS } from '../../services/runbook/repair-plan';

/**
 * Every card the bot sends, at its worst (longest names, every finding, every fix, every state),
 * by name, for one language. Used to measure them as Teams does (test/unit/card-size.test.ts)
 * and to render them at a phone's width in Chromium (test/e2e/phone-width.test.ts).
 */
const base = 'https://rdp-doctor-helpdesk-westeurope-01.azurewebsites.net';
const longName = 'vm-' + 'x'.repeat(61);
const vm = {
  id: `/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/${'rg'.repeat(45)}/providers/Microsoft.Compute/virtualMachines/${longName}`,
  name: longName,
  resourceGroup: 'rg'.repeat(45),
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  location: 'westeurope',
};
const incidentId = '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11';
export const activity = (card: CardJson) => ({
  type: 'message',
  id: '1:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
  from: { id: '28:00000000-0000-0000-0000-0000000000b1', name: 'RDP Doctor' },
  conversation: { id: '19:' + 'x'.repeat(60) + '@thread.tacv2;messageid=1700000000000', conversationType: 'channel', tenantId: '00000000-0000-0000-0000-0000000000c1' },
  recipient: { id: '29:' + 'x'.repeat(100), name: 'Alexandra Konstantinopolskaya-Wilberforce' },
  replyToId: '1700000000000',
  attachments: [asAttachment(card)],
});

// worse than any VM can be: every finding of a running VM at once (some exclude each other),
// each with three lines of evidence of 150 characters, and every fix that addresses them
export const onRunningVm = FINDING_IDS.filter((id) => SEVERITY[id] !== 'blocker');
const everything: DiagnosisRecord = {
  at: '2026-11-25T10:00:00.000Z',
  findings: onRunningVm.map((id) => ({
    id,
    severity: SEVERITY[id],
    evidence: [0, 1, 2].map(() => ({ key: 'findings.ready', params: { vm: 'x'.repeat(150) } })),
  })),
  fixes: FIX_IDS.filter((id) => FIXES[id].addresses.some((f) => onRunningVm.includes(f))).map((id) => ({ id, addresses: [...FIXES[id].addresses] })),
  runCommandCalls: 1,
  armCalls: 12,
  elapsedMs: 21000,
  vm: { id: vm.id, name: vm.name, powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
  facts: null,
};

function approvals(lang: (typeof LANGS)[number]): Record<string, CardJson> {
  const t = translator(lang);
  const out: Record<string, CardJson> = {};
  const steps: Job['steps'] = [{ name: 'snapshot', state: 'done' }, { name: 'fix', state: 'done' }, { name: 'nsg', state: 'done' }, { name: 'restart', state: 'done' }, { name: 'verify', state: 'running' }];
  for (const fixId of FIX_IDS) {
    const a: Approval = {
      id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId: vm.id, vmName: vm.name, fixId,
      params: { source: '203.0.113.0/24', port: 65535, service: 'x'.repeat(100), disable: 'true', scope: 'all', tls10: 'true', tls11: 'true' },
      paramsHash: 'h', requester: { id: '29:' + 'x'.repeat(100), name: 'Alexandra Konstantinopolskaya-Wilberforce' }, lang, state: 'pending',
      createdAt: '2026-11-25T10:00:00.000Z', expiresAt: '2026-11-25T11:00:00.000Z', cards: [],
      decidedBy: { id: '29:approver', name: 'Helpdesk Hana Konstantinopolskaya' },
    };
    const job = (state: Job['state'], extra: Partial<Job> = {}): Job => ({
      id: 'j1', approvalId: a.id, incidentId, vmId: vm.id, vmName: vm.name, fixId, params: a.params, paramsHash: 'h', lang, state, steps, createdAt: '', updatedAt: '', ...extra,
    });
    const users = Array.from({ length: 60 }, (_, i) => `29:${String(i).padStart(100, 'x')}`);
    const card = (approval: Approval, j: Job | null, view: 'approver' | 'status') =>
      approvalCard(t, { approval, job: j, view, refreshUserIds: users, publicBaseUrl: base, snapshotId: `/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/snapshots/${'s'.repeat(80)}` });
    out[`${fixId} pending, approver view`] = card(a, null, 'approver');
    out[`${fixId} pending, base card`] = card(a, null, 'status');
    out[`${fixId} rejected`] = card({ ...a, state: 'rejected' }, null, 'status');
    out[`${fixId} expired`] = card({ ...a, state: 'expired' }, null, 'status');
    out[`${fixId} approved`] = card({ ...a, state: 'approved' }, job('queued', { steps: [] }), 'status');
    out[`${fixId} running`] = card({ ...a, state: 'approved' }, job('running'), 'status');
    // the verification at its longest: what the fix addressed is gone, everything else remains
    const gone = [...FIXES[fixId].addresses];
    const remaining = onRunningVm.filter((f) => !gone.includes(f));
    out[`${fixId} succeeded`] = card({ ...a, state: 'approved' }, job('succeeded', { result: { gone, remaining, appeared: [] } }), 'status');
    out[`${fixId} failed`] = card({ ...a, state: 'approved' }, job('failed', { error: { code: 'azure-error', params: {}, step: 'fix' } }), 'status');
    out[`${fixId} interrupted`] = card({ ...a, state: 'approved' }, job('interrupted'), 'status');
  }
  return out;
}

// --- offline repair (issue #15, repair-card): the approval card with the whole plan, at its longest ---
function repairApprovals(lang: (typeof LANGS)[number]): Record<string, CardJson> {
  const t = translator(lang);
  const osDiskName = `${longName}_OsDisk_1_${'0'.repeat(32)}`.slice(0, 80);
  const repair = planRepair(incidentId, {
    id: vm.id, name: vm.name, resourceGroup: vm.resourceGroup, subscriptionId: vm.subscriptionId, location: 'germanywestcentral', zone: '3',
    vmSize: 'Standard_E104ids_v5', hyperVGeneration: 'V2', securityType: 'TrustedLaunch',
    osDiskId: `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Compute/disks/${osDiskName}`, osDiskName,
    subnetId: `/subscriptions/${vm.subscriptionId}/resourceGroups/${vm.resourceGroup}/providers/Microsoft.Network/virtualNetworks/${'v'.repeat(64)}/subnets/${'s'.repeat(80)}`, dataDisks: [],
  });
  const a: Approval = {
    id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId: vm.id, vmName: vm.name, fixId: 'offline-repair', params: {}, paramsHash: 'h',
    requester: { id: '29:' + 'x'.repeat(100), name: 'Alexandra Konstantinopolskaya-Wilberforce' }, lang, state: 'pending',
    createdAt: '2026-11-25T10:00:00.000Z', expiresAt: '2026-11-25T11:00:00.000Z', cards: [], approvalsRequired: 2,
    votes: [{ by: { id: '29:approver', name: 'Helpdesk Hana Konstantinopolskaya' }, at: '2026-11-25T10:05:00.000Z' }],
    decidedBy: { id: '29:approver', name: 'Helpdesk Hana Konstantinopolskaya' },
    plan: { fixId: 'offline-repair', script: null, arm: 'offlineRepair', nsg: [], restart: false, alsoAffects: [], repair },
  };
  // the runner's step names are the plan's (JobStepName grows with issue #15)
  const steps = (state: (i: number) => Job['steps'][number]['state']) => REPAIR_STEPS.map((name, i) => ({ name, state: state(i), detail: { id: 'x'.repeat(200) } })) as unknown as Job['steps'];
  const job = (state: Job['state'], extra: Partial<Job>): Job => ({
    id: 'j1', approvalId: a.id, incidentId, vmId: vm.id, vmName: vm.name, fixId: 'offline-repair', params: {}, paramsHash: 'h', lang, state, steps: steps(() => 'done'), createdAt: '', updatedAt: '', plan: a.plan, ...extra,
  });
  const users = Array.from({ length: 60 }, (_, i) => `29:${String(i).padStart(100, 'x')}`);
  const card = (approval: Approval, j: Job | null, view: 'approver' | 'status') =>
    approvalCard(t, { approval, job: j, view, refreshUserIds: users, publicBaseUrl: base, noUndo: { key: 'plans.undo.notPossible', params: {} } });
  const remaining = onRunningVm;
  return {
    'offline-repair pending, approver view, the whole plan': card(a, null, 'approver'),
    'offline-repair running': card({ ...a, state: 'approved' }, job('running', { steps: steps((i) => (i < 6 ? 'done' : i === 6 ? 'running' : 'pending')) }), 'status'),
    'offline-repair succeeded': card({ ...a, state: 'approved' }, job('succeeded', { result: { gone: ['vm-agent-not-ready'], remaining, appeared: [] } }), 'status'),
    'offline-repair failed, roll-back incomplete': card(
      { ...a, state: 'approved' },
      job('failed', { steps: steps((i) => (i < 7 ? 'done' : i === 7 ? 'failed' : 'skipped')), error: { code: 'azure-error', step: 'swap-os-disk' as Job['steps'][number]['name'], params: { failedStep: 'swap-os-disk', vmState: 'deallocating', osDisk: 'x'.repeat(200), originalDisk: 'x'.repeat(200), rollback: 'incomplete', rollbackFailures: 5 } } }),
      'status',
    ),
  };
}
// --- end offline repair ---

export function cards(lang: (typeof LANGS)[number]): Record<string, CardJson> {
  const t = translator(lang);
  const line = 'x'.repeat(180);
  return {
    welcome: welcomeCard(t, { demoMode: true }),
    help: helpCard(t, { demoMode: true }),
    consent: consentCard(t, { incidentId, vm, symptom: 'internal-error', script: DIAGNOSE_RUN_TEXT, publicBaseUrl: base }),
    'vm-pick (the most candidates a search offers)': vmPickCard(t, { incidentId, query: 'x'.repeat(80), vms: Array.from({ length: 10 }, (_, i) => ({ ...vm, id: `${vm.id}${i}` })) }),
    progress: progressCard(t, { vmName: vm.name, current: 'runCommand' }),
    'findings: every finding and every fix': findingsCard(t, { incidentId, diagnosis: everything, symptom: 'nla-required' }),
    'offline guide': offlineGuideCard(t, { ...offlineGuide(t, 'F'), publicBaseUrl: base }),
    'status listing': messageCard({ title: t('status.title', { count: 100 }), text: Array(20).fill(line).join('\n\n'), fullWidth: true }),
    'history listing': messageCard({ title: t('history.title', { vm: vm.name, count: 500 }), text: Array(40).fill(line).join('\n\n'), fullWidth: true }),
    ...approvals(lang),
    ...repairApprovals(lang),
    // --- message extension (issue #17, msgext): the shared VM card, the "Diagnose RDP" dialog with the most VMs and a whole message ---
    'VM card (message extension)': vmCard(t, { ...vm, powerState: 'PowerState/deallocated' }),
    'Diagnose RDP dialog (message extension)': diagnoseMessageCard(t, {
      text: line.repeat(3), symptom: 'credssp', vms: Array.from({ length: 10 }, (_, i) => ({ ...vm, id: `${vm.id}${i}` })),
      question: t('msgext.action.found', { count: 10 }), error: t('msgext.action.badData'), typed: 'x'.repeat(400), typeLabel: t('msgext.action.typeLabel'),
    }),
    // --- fleet sweeps (issue #16, sweep-ui) ---
    ...sweeps(lang),
    // --- dialogs (issue #17, dialogs): the longest value and sentences a dialog holds ---
    ...dialogs(lang),
  };
}

/** The digest card of a sweep at its worst: ten VMs with the longest names, every finding on each, running and done. */
function sweeps(lang: (typeof LANGS)[number]): Record<string, CardJson> {
  const t = translator(lang);
  const vms = Array.from({ length: 12 }, (_, i) => ({
    vmId: `${vm.id.slice(0, -3)}${String(i).padStart(3, '0')}`,
    vmName: `${longName.slice(0, -3)}${String(i).padStart(3, '0')}`,
    resourceGroup: vm.resourceGroup,
    subscriptionId: vm.subscriptionId,
    findings: [...FINDING_IDS],
    worst: 'blocker',
  }));
  const digest = {
    id: '5b7e3a52-8c1d-4f0e-9a3b-2d6c4e8f1a01', kind: 'deep' as const, scope: { subscriptionIds: [vm.subscriptionId], resourceGroup: vm.resourceGroup },
    startedAt: '2026-11-25T10:00:00.000Z', startedBy: 'schedule', total: 10000, counts: Object.fromEntries(FINDING_IDS.map((f) => [f, 9999])),
    vms: [...vms, { ...vms[0], vmId: `${vm.id}-busy`, findings: [], worst: null, skipped: 'busy' }], affected: 10000, armCalls: 123456, runCommands: 9999,
  };
  const now = new Date('2026-11-25T11:00:00.000Z');
  return {
    'sweep digest, running': sweepCard(t, { digest: { ...digest, state: 'running', done: 4321 }, now }),
    'sweep digest, done': sweepCard(t, { digest: { ...digest, state: 'done', done: 10000, endedAt: '2026-11-25T12:00:00.000Z' }, now }),
  };
}


// --- dialogs (issue #17, dialogs) ---
function dialogs(lang: (typeof LANGS)[number]): Record<string, CardJson> {
  const t = translator(lang);
  const long = 'x'.repeat(300);
  const a: Approval = {
    id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId: vm.id, vmName: vm.name, fixId: 'restrict-rdp-source', params: { source: '203.0.113.0/24' }, paramsHash: 'h',
    requester: { id: '29:' + 'x'.repeat(100), name: 'Alexandra Konstantinopolskaya-Wilberforce' }, lang, state: 'pending',
    createdAt: '2026-11-25T10:00:00.000Z', expiresAt: '2026-11-25T11:00:00.000Z', cards: [], approvalsRequired: 2,
    votes: [{ by: { id: '29:approver', name: 'Helpdesk Hana Konstantinopolskaya' }, at: '2026-11-25T10:05:00.000Z' }],
    plan: {
      fixId: 'restrict-rdp-source', script: null, arm: 'nsgRules', restart: false, alsoAffects: Array.from({ length: 20 }, (_, i) => `nic:${longName}-${i}`),
      nsg: Array.from({ length: 10 }, (_, i) => ({
        nsgId: `/x/networkSecurityGroups/${'n'.repeat(80)}`, nsgName: 'n'.repeat(80), action: 'upsert' as const, before: null, otherPorts: ['80', '443'], standsFor: 'r'.repeat(80),
        after: { name: `rdp-doctor-allow-rdp-${i}`, priority: 100 + i, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '203.0.113.0/24', destinationPortRange: '3389' },
      })),
    },
  };
  return {
    'dialog: restrict-rdp-source, refused value': fixDialogCard(t, { incidentId, fixId: 'restrict-rdp-source', vmName: vm.name, input: dialogInput('restrict-rdp-source'), value: '1'.repeat(18), error: long, explain: long, notes: [long, long] }),
    'dialog: change-rdp-port, every listener': fixDialogCard(t, { incidentId, fixId: 'change-rdp-port', vmName: vm.name, input: dialogInput('change-rdp-port'), value: '49151', error: long, explain: long, notes: Array(12).fill(long) }),
    'dialog: second approval, the longest plan': approveDialogCard(t, { approval: a, firstBy: 'Helpdesk Hana Konstantinopolskaya', firstAt: '2026-11-25T10:05:00.000Z' }),
  };
}
// --- end dialogs ---
