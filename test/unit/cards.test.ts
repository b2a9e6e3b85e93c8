import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import * as render from '../../cards/render';
import { join } from 'node:path';
import { approvalCard } from '../../cards/approval';
import { consentCard, findingsCard, messageCard, offlineGuideCard, progressCard, vmPickCard } from '../../cards/diagnosis';
import { helpCard } from '../../cards/help';
import type { CardJson } from '../../cards/render';
import { replyPromptCard } from '../../cards/reply-prompt';
import { welcomeCard } from '../../cards/welcome';
import { sweepCard } from '../../cards/sweep';
import { approveDialogCard, dialogInput, fixDialogCard } from '../../cards/dialogs';
import { diagnoseMessageCard, vmCard } from '../../cards/vm';
import { LANGS, translator } from '../../services/i18n';
import { DIAGNOSE_RUN_TEXT } from '../../services/runbook/script-pages';
import { offlineGuide } from '../../dialogs/offline-steps';
import type { Approval, DiagnosisRecord } from '../../services/incidents/model';
import { cardProblems } from '../support/card-validation';
import { cardText } from '../support/connector';

const vm = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-web-01',
  name: 'vm-web-01',
  resourceGroup: 'rg-demo',
  subscriptionId: '00000000-0000-0000-0000-000000000001',
  location: 'westeurope',
};
const diagnosis = (findings: DiagnosisRecord['findings']): DiagnosisRecord => ({
  at: '2026-11-25T10:00:00Z',
  findings,
  fixes: [{ id: 'renew-rdp-cert', addresses: ['rdp-cert-expired'] }],
  runCommandCalls: 1,
  armCalls: 3,
  elapsedMs: 21000,
  vm: { id: vm.id, name: vm.name, powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
});
const base = 'https://rdp-doctor.example.com';
const incidentId = '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11';
const approval: Approval = {
  id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId: vm.id, vmName: vm.name, fixId: 'enable-tls', params: { tls10: false }, paramsHash: 'h',
  requester: { id: '29:user', name: 'Alex' }, lang: 'en', state: 'pending', createdAt: '2026-11-25T10:00:00Z', expiresAt: '2026-11-25T11:00:00Z', cards: [],
};

/** Every card the bot can send, bound with sample data, in both languages. */
function samples(lang: (typeof LANGS)[number]): Record<string, CardJson> {
  const t = translator(lang);
  return {
    welcome: welcomeCard(t, { demoMode: true }),
    help: helpCard(t, { demoMode: false }),
    consent: consentCard(t, { incidentId, vm, symptom: 'internal-error', script: DIAGNOSE_RUN_TEXT, publicBaseUrl: base }),
    pick: vmPickCard(t, { incidentId, query: 'web', vms: [vm, { ...vm, id: `${vm.id}2`, name: 'vm-web-02' }] }),
    progress: progressCard(t, { vmName: 'vm-web-01', current: 'runCommand' }),
    findings: findingsCard(t, {
      incidentId,
      diagnosis: diagnosis([{ id: 'rdp-cert-expired', severity: 'critical', evidence: [{ key: 'findings.ready', params: { vm: 'vm-web-01' } }] }]),
    }),
    findingsHealthy: findingsCard(t, { incidentId, diagnosis: diagnosis([]) }),
    findingsBlocked: findingsCard(t, {
      incidentId,
      diagnosis: diagnosis([{ id: 'vm-agent-not-ready', severity: 'blocker', evidence: [] }]),
    }),
    approvalPending: approvalCard(t, { approval, view: 'approver', refreshUserIds: ['29:approver'], publicBaseUrl: base }),
    approvalStatus: approvalCard(t, { approval, view: 'status', refreshUserIds: [], publicBaseUrl: base }),
    approvalAzure: approvalCard(t, { approval: { ...approval, fixId: 'restrict-rdp-source', params: { source: '203.0.113.0/24' } }, view: 'approver', refreshUserIds: [], publicBaseUrl: base }),
    approvalDone: approvalCard(t, {
      approval: { ...approval, state: 'approved', decidedBy: { id: '29:approver', name: 'Helpdesk' } },
      job: {
        id: 'j1', approvalId: approval.id, incidentId, vmId: vm.id, vmName: vm.name, fixId: 'enable-tls', params: {}, paramsHash: 'x', lang, state: 'succeeded',
        steps: [{ name: 'snapshot', state: 'done' }, { name: 'fix', state: 'done' }, { name: 'restart', state: 'done' }, { name: 'verify', state: 'done' }],
        createdAt: '', updatedAt: '', result: { gone: ['tls-disabled'], remaining: [], appeared: [] },
      },
      view: 'status',
      refreshUserIds: ['29:a', '29:b'],
      publicBaseUrl: base,
      snapshotId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/snapshots/vm-osdisk-rdpdoctor-1',
    }),
    approvalPlan: approvalCard(t, {
      approval: {
        ...approval,
        fixId: 'restrict-rdp-source',
        params: { source: '203.0.113.0/24' },
        approvalsRequired: 2,
        votes: [{ by: { id: '29:approver', name: 'Helpdesk' }, at: '2026-11-25T10:05:00Z' }],
        plan: {
          fixId: 'restrict-rdp-source',
          script: null,
          arm: 'nsgRules',
          restart: false,
          alsoAffects: ['nic:vm-web-02-nic', 'subnet:default'],
          nsg: [
            {
              nsgId: '/x/networkSecurityGroups/nsg-web', nsgName: 'nsg-web', action: 'upsert', before: null, otherPorts: ['80', '443'], standsFor: 'web-and-rdp',
              after: { name: 'rdp-doctor-allow-rdp-web-and-rdp', priority: 298, direction: 'Inbound', access: 'Allow', protocol: 'Tcp', sourceAddressPrefix: '203.0.113.0/24', destinationPortRange: '3389' },
            },
          ],
        },
      },
      view: 'approver',
      refreshUserIds: ['29:approver'],
      publicBaseUrl: base,
    }),
    approvalUndoable: approvalCard(t, {
      approval: { ...approval, state: 'approved', decidedBy: { id: '29:approver', name: 'Helpdesk' } },
      job: {
        id: 'j1', approvalId: approval.id, incidentId, vmId: vm.id, vmName: vm.name, fixId: 'enable-tls', params: {}, paramsHash: 'x', lang, state: 'succeeded',
        steps: [{ name: 'precheck', state: 'done' }, { name: 'fix', state: 'done' }, { name: 'restart', state: 'skipped' }, { name: 'verify', state: 'done' }],
        createdAt: '', updatedAt: '', result: { gone: ['tls-disabled'], remaining: [], appeared: [] },
      },
      view: 'status',
      refreshUserIds: [],
      canUndo: true,
      publicBaseUrl: base,
    }),
    // dialogs (issue #17, dialogs; test/integration/dialogs.test.ts drives them over HTTP)
    dialogCidr: fixDialogCard(t, { incidentId, fixId: 'restrict-rdp-source', vmName: vm.name, input: dialogInput('restrict-rdp-source'), value: '203.0.113.7/24', error: 'x', explain: 'e', notes: ['n'] }),
    dialogPort: fixDialogCard(t, { incidentId, fixId: 'change-rdp-port', vmName: vm.name, input: dialogInput('change-rdp-port'), value: '', error: '', explain: 'e', notes: [] }),
    dialogApprove: approveDialogCard(t, {
      approval: { ...approval, fixId: 'restrict-rdp-source', params: { source: '203.0.113.0/24' }, approvalsRequired: 2, votes: [{ by: { id: '29:approver', name: 'Helpdesk' }, at: '2026-11-25T10:05:00Z' }] },
      firstBy: 'Helpdesk',
      firstAt: '2026-11-25T10:05:00Z',
    }),
    // end dialogs
    message: messageCard({ title: 'T', text: 'x', ref: 'r', tone: 'attention' }),
    messageOlder: messageCard({ title: 'History', text: 'x', older: { vmId: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm', beforeSeq: 42, title: t('history.older') } }),
    messageRetry: messageCard({ title: 'T', text: 'x', tone: 'attention', retry: { incidentId, title: t('diagnosis.retry') } }),
    replyChoices: replyPromptCard({ question: t('intake.askSymptom'), hint: t('groupChat.mentionToReply'), choices: ['A', 'B'] }),
    replyInput: replyPromptCard({ question: t('intake.askVm'), hint: t('groupChat.mentionToReply'), input: { placeholder: t('groupChat.vmPlaceholder'), submit: t('groupChat.vmSubmit'), required: t('groupChat.vmNeeded') } }),
    offline: offlineGuideCard(t, { ...offlineGuide(t, 'F'), publicBaseUrl: base }),
    // fleet sweeps (issue #16, sweep-ui; test/unit/sweep-card.test.ts tests it in depth)
    // --- message extension (issue #17, msgext) ---
    vmShared: vmCard(t, { ...vm, powerState: 'PowerState/running' }),
    diagnoseMessage: diagnoseMessageCard(t, {
      text: "can't RDP to vm-web-01, internal error", symptom: 'internal-error', vms: [vm, { ...vm, id: `${vm.id}2`, name: 'vm-web-02' }],
      question: t('msgext.action.found', { count: 2 }), typeLabel: t('msgext.action.typeLabel'),
    }),
    diagnoseMessageRefused: diagnoseMessageCard(t, { text: '', symptom: 'not-stated', vms: [], question: t('msgext.action.typeLabelNone'), error: t('msgext.action.badData'), typed: 'x', typeLabel: t('msgext.action.typeLabelNone') }),
    // --- end message extension ---
    sweep: sweepCard(t, {
      digest: {
        id: '5b7e3a52-8c1d-4f0e-9a3b-2d6c4e8f1a01', kind: 'fast', state: 'done', scope: {}, startedAt: '2026-11-25T10:00:00Z', endedAt: '2026-11-25T10:00:40Z', startedBy: 'schedule',
        total: 9, done: 9, counts: { 'rdp-cert-expired': 1 }, armCalls: 12, runCommands: 0,
        vms: [{ vmId: vm.id, vmName: vm.name, resourceGroup: vm.resourceGroup, subscriptionId: vm.subscriptionId, findings: ['rdp-cert-expired'], worst: 'critical' }],
      },
      now: new Date('2026-11-25T10:01:00Z'),
    }),
  };
}

describe.each(LANGS)('cards (%s)', (lang) => {
  const all = samples(lang);
  it.each(Object.keys(all))('%s parses and validates with no event', (name) => {
    expect(cardProblems(all[name])).toEqual([]);
  });

  it('every template file has a sample, and every sample is bound from a template file', () => {
    // which template each sample was bound from, seen at the binder (not a list kept by hand)
    const dir = join(__dirname, '..', '..', 'cards', 'templates');
    const files = readdirSync(dir).map((f) => ({ name: f.replace(/\.json$/, ''), json: JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown }));
    const spy = jest.spyOn(render, 'bind');
    try {
      samples(lang);
      const used = spy.mock.calls.map(([template]) => files.find((f) => isDeepStrictEqual(f.json, template))?.name ?? 'a template that is not a file');
      expect([...new Set(used)].sort()).toEqual(files.map((f) => f.name).sort());
    } finally {
      spy.mockRestore();
    }
  });
});

describe('card content', () => {
  it('consent card says read-only, links the exact script by its hash and carries only the incident id', () => {
    const card = samples('en').consent;
    expect(cardText(card)).toMatch(/Read-only: nothing on the VM is changed/);
    const sha = createHash('sha256').update(DIAGNOSE_RUN_TEXT).digest('hex');
    expect(cardText(card)).toContain(`${DIAGNOSE_RUN_TEXT.split('\n').length} lines, SHA-256 ${sha}`);
    expect(JSON.stringify(card)).toContain(`{"type":"Action.OpenUrl","title":"View the script","url":"${base}/scripts/${sha}"}`);
    expect(JSON.stringify(card)).not.toContain('rdp-doctor-script: diagnose');
    const action = (card.actions as Array<{ verb: string; data: unknown }>)[0];
    expect(action).toMatchObject({ verb: 'diagnose.start', data: { incidentId } });
  });

  it('findings card names the cause, the evidence and the fix, in Russian too', () => {
    expect(cardText(samples('en').findings)).toMatch(/The RDP certificate has expired[\s\S]*Renew the RDP certificate/);
    expect(cardText(samples('ru').findings)).toMatch(/Срок действия сертификата RDP истёк[\s\S]*Обновить сертификат RDP/);
  });

  it('the approval card shows the plan, the votes, what else the NSG reaches, and Undo on a finished fix', () => {
    const all = samples('en');
    expect(cardText(all.approvalPlan)).toMatch(/A second approver must approve too \(1 of 2 approvals\)[\s\S]*What will change[\s\S]*NSG nsg-web, rule rdp-doctor-allow-rdp-web-and-rdp: \(no such rule yet\) → Allow Tcp port\(s\) 3389 from 203\.0\.113\.0\/24, priority 298[\s\S]*Rule web-and-rdp also opens 80, 443[\s\S]*also applies to nic:vm-web-02-nic, subnet:default/);
    expect(cardText(all.approvalUndoable)).toMatch(/\[Undo\]/);
    expect(cardText(all.approvalDone)).not.toMatch(/\[Undo\]/);
  });

  it('the approval card shows Approve/Reject to approvers only, and the script to everyone', () => {
    const all = samples('en');
    expect(cardText(all.approvalPending)).toMatch(/\[Approve\][\s\S]*\[Reject\]/);
    expect(cardText(all.approvalStatus)).not.toMatch(/\[Approve\]/);
    expect(JSON.stringify(all.approvalStatus)).toMatch(/"url":"https:\/\/rdp-doctor\.example\.com\/scripts\/[0-9a-f]{64}"/);
    expect(all.approvalPending.refresh).toMatchObject({ action: { verb: 'approval.refresh', data: { approvalId: approval.id } }, userIds: ['29:approver'] });
    expect((all.approvalStatus.refresh as object)).not.toHaveProperty('userIds');
    expect(cardText(all.approvalDone)).toMatch(/Verified: the problem is gone[\s\S]*TLS 1.2 is disabled for servers: fixed/);
  });

  it('the findings card offers each fix with the inputs it needs', () => {
    const card = findingsCard(translator('en'), {
      incidentId,
      diagnosis: { ...diagnosis([{ id: 'rdp-exposed-to-internet', severity: 'critical', evidence: [] }]), fixes: [{ id: 'restrict-rdp-source', addresses: ['rdp-exposed-to-internet'] }] },
    });
    const json = JSON.stringify(card);
    expect(json).toContain('"id":"source"');
    expect(json).not.toContain('"id":"port"');
    expect(actionsOf(card, 'fix.request')).toEqual([{ incidentId, fixId: 'restrict-rdp-source' }]);
    expect(cardProblems(card)).toEqual([]);
  });

  it('offers the offline guide only when the agent is down', () => {
    expect(cardText(samples('en').findingsBlocked)).toContain('[Offline repair guide]');
    expect(cardText(samples('en').findings)).not.toContain('[Offline repair guide]');
  });

  it('the pick card offers each VM with vm.pick and its resource id', () => {
    const json = JSON.stringify(samples('en').pick);
    expect(json.match(/"type":"Action.Execute","title":"[^"]+","verb":"vm.pick"/g)).toHaveLength(2);
    expect(json).toContain(vm.id);
  });
});

function actionsOf(card: unknown, verb: string): unknown[] {
  const out: unknown[] = [];
  const walk = (n: unknown): void => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (n && typeof n === 'object') {
      const o = n as { type?: string; verb?: string; data?: unknown };
      if (o.type === 'Action.Execute' && o.verb === verb) out.push(o.data);
      Object.entries(o).forEach(([k, v]) => k !== 'fallback' && walk(v));
    }
  };
  walk(card);
  return out;
}
