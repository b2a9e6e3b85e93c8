import { approvalCard } from '../../cards/approval';
import { CARD_BUDGET_BYTES, utf16Bytes } from '../../cards/diagnosis';
import { LANGS, translator } from '../../services/i18n';
import type { Approval, Job } from '../../services/incidents/model';
import { FINDING_IDS } from '../../services/runbook/findings';
import { cardProblems } from '../support/card-validation';
import { cardText } from '../support/connector';

/**
 * The approval card shows the evidence behind the fix (issue #13.14): approvers read all of it,
 * a posted or requester's copy gets the least disclosure of the findings card; the approver's
 * view has an optional reason for a rejection; the card stays within a Teams message.
 */
const vmId = '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-exposed-02';
const approval: Approval = {
  id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22',
  incidentId: '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11',
  vmId,
  vmName: 'vm-exposed-02',
  fixId: 'restrict-rdp-source',
  params: { source: '198.51.100.0/24' },
  paramsHash: 'h',
  requester: { id: '29:user', name: 'Alex' },
  lang: 'en',
  state: 'pending',
  createdAt: '2026-11-25T10:00:00Z',
  expiresAt: '2026-11-25T11:00:00Z',
  cards: [],
  findings: [
    {
      id: 'brute-force-suspected',
      severity: 'critical',
      evidence: [
        { key: 'runbook.evidence.failedLogonSource', params: { ip: '203.0.113.7', count: 412 } },
        { key: 'findings.ready', params: { vm: 'vm-exposed-02' } },
      ],
    },
  ],
};
const base = 'https://rdp-doctor.example.com';

describe.each(LANGS)('approval card evidence (%s)', (lang) => {
  const t = translator(lang);
  const approver = approvalCard(t, { approval, view: 'approver', refreshUserIds: [], publicBaseUrl: base, detailed: true });
  const posted = approvalCard(t, { approval, view: 'status', refreshUserIds: [], publicBaseUrl: base });

  it('approvers read every line of evidence, and may give a reason to reject', () => {
    expect(cardProblems(approver)).toEqual([]);
    const text = cardText(approver);
    expect(text).toContain(t('incidents.approval.evidenceTitle'));
    expect(text).toContain(t(`findings.brute-force-suspected.title`));
    expect(text).toContain('203.0.113.7');
    expect(JSON.stringify(approver)).toMatch(/"type":"Input.Text","id":"reason"/);
  });

  it('a posted copy leaves the addresses to the helpdesk and has no reason box', () => {
    expect(cardProblems(posted)).toEqual([]);
    const text = cardText(posted);
    expect(text).toContain(t('incidents.approval.evidenceTitle'));
    expect(text).not.toContain('203.0.113.7');
    expect(text).toContain(t('card.detailsForHelpdesk'));
    expect(JSON.stringify(posted)).not.toMatch(/"id":"reason"/);
  });

  it('a rejection shows its reason; a withdrawn request says so', () => {
    const rejected = approvalCard(t, { approval: { ...approval, state: 'rejected', decidedBy: { id: '29:h', name: 'Hana' }, reason: 'not now' }, view: 'status', refreshUserIds: [], publicBaseUrl: base });
    expect(cardText(rejected)).toContain(t('incidents.reject.status', { by: 'Hana', reason: 'not now' }));
    const withdrawn = approvalCard(t, { approval: { ...approval, state: 'withdrawn' }, view: 'status', refreshUserIds: [], publicBaseUrl: base });
    expect(cardText(withdrawn)).toContain(t('approval.status.withdrawn'));
  });

  it('stays within a Teams message with thousands of failed-sign-in sources', () => {
    const many: Approval = {
      ...approval,
      findings: [{ id: 'brute-force-suspected', severity: 'critical', evidence: Array.from({ length: 1500 }, (_, i) => ({ key: 'runbook.evidence.failedLogonSource', params: { ip: `203.0.${i >> 8}.${i & 255}`, count: 100 + i } })) }],
    };
    const card = approvalCard(t, { approval: many, view: 'approver', refreshUserIds: [], publicBaseUrl: base, detailed: true });
    expect(utf16Bytes(card)).toBeLessThanOrEqual(CARD_BUDGET_BYTES);
    expect(cardText(card)).toContain('203.0.0.0');
    expect(cardText(card)).toContain(t('teams.findings.moreEvidence', { count: 1499 }));
  });
});

describe.each(LANGS)('approval card validity line (%s)', (lang) => {
  const t = translator(lang);
  const moment = (at: string) => t('format.moment', { at });
  const decided = (a: Partial<Approval>) => cardText(approvalCard(t, { approval: { ...approval, ...a }, view: 'status', refreshUserIds: [], publicBaseUrl: base }));

  it('a pending request says until when it can be decided', () => {
    const text = decided({});
    expect(text).toContain(t('approval.expires'));
    expect(text).toContain(moment(approval.expiresAt));
  });

  it('a decided, lapsed or withdrawn request says when, not "valid until"', () => {
    const at = '2026-11-25T10:20:00Z';
    for (const [state, label] of [
      ['approved', 'approval.decidedAt'],
      ['rejected', 'approval.decidedAt'],
      ['withdrawn', 'approval.decidedAt'],
      ['expired', 'approval.expiredAt'],
    ] as const) {
      const text = decided({ state, decidedAt: at, decidedBy: { id: '29:a', name: 'Hana' } });
      expect(text).not.toContain(t('approval.expires'));
      expect(text).toContain(t(label));
      expect(text).toContain(moment(at));
    }
  });
});

describe.each(LANGS)('verification on a finished fix (%s)', (lang) => {
  const t = translator(lang);
  it('names what is gone and the first dozen that remain, and counts the rest', () => {
    const remaining = FINDING_IDS.filter((f) => f !== 'brute-force-suspected').slice(0, 20);
    const job = { id: 'j1', approvalId: approval.id, incidentId: approval.incidentId, vmId, vmName: approval.vmName, fixId: approval.fixId, params: {}, paramsHash: 'h', lang, state: 'succeeded', steps: [], createdAt: '', updatedAt: '', result: { gone: ['brute-force-suspected'], remaining, appeared: [] } } as Job;
    const text = cardText(approvalCard(t, { approval: { ...approval, state: 'approved', decidedAt: '2026-11-25T10:20:00Z' }, job, view: 'status', refreshUserIds: [], publicBaseUrl: base }));
    expect(text).toContain(t('job.verify.gone', { finding: t('findings.brute-force-suspected.title') }));
    for (const id of remaining.slice(0, 12)) expect(text).toContain(t('job.verify.remaining', { finding: t(`findings.${id}.title`) }));
    expect(text).not.toContain(t('job.verify.remaining', { finding: t(`findings.${remaining[12]}.title`) }));
    expect(text).toContain(t('job.verify.moreRemaining', { count: 8 }));
  });
});
