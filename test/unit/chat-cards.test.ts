import { approvalCard } from '../../cards/approval';
import { findingsCard } from '../../cards/diagnosis';
import { LANGS, translator } from '../../services/i18n';
import type { Approval, DiagnosisRecord } from '../../services/incidents/model';
import { cardText } from '../support/connector';

/** What the cards say for the small items of issue #13, item 14. */
const vm = {
  id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-healthy-01',
  name: 'vm-healthy-01',
};
const diagnosis = (findings: DiagnosisRecord['findings']): DiagnosisRecord => ({
  at: '2026-11-25T10:00:00Z',
  findings,
  fixes: [],
  runCommandCalls: 1,
  armCalls: 2,
  elapsedMs: 21000,
  vm: { id: vm.id, name: vm.name, powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
});
const incidentId = '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11';

describe.each(LANGS)('a healthy VM (%s)', (lang) => {
  const t = translator(lang);
  const next = lang === 'en' ? [/What else to check/, /Remote Desktop client/, /VPN/, /account/] : [/Что ещё проверить/, /клиент удалённого рабочего стола/, /VPN/, /учётная запись/];

  it('gets "nothing wrong" and what else to check: the client, the VPN, the account', () => {
    const text = cardText(findingsCard(t, { incidentId, diagnosis: diagnosis([]) }));
    expect(text).toContain(t('findings.summaryHealthy'));
    for (const re of next) expect(text).toMatch(re);
  });

  it('so does a VM with only an informational finding', () => {
    const text = cardText(findingsCard(t, { incidentId, diagnosis: diagnosis([{ id: 'tls-managed-by-policy', severity: 'info', evidence: [] }]) }));
    expect(text).toMatch(next[0]);
  });

  it('a VM with a problem does not', () => {
    const text = cardText(findingsCard(t, { incidentId, diagnosis: diagnosis([{ id: 'tls-disabled', severity: 'critical', evidence: [] }]) }));
    expect(text).not.toMatch(next[0]);
  });
});

describe.each(LANGS)('the approval card names parameter values in words (%s)', (lang) => {
  const t = translator(lang);
  const approval = (scope: string): Approval => ({
    id: '9a0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b22', incidentId, vmId: vm.id, vmName: vm.name, fixId: 'reset-machinekeys-acl', params: { scope }, paramsHash: 'h',
    requester: { id: '29:user', name: 'Alex' }, lang, state: 'pending', createdAt: '2026-11-25T10:00:00Z', expiresAt: '2026-11-25T11:00:00Z', cards: [],
  });

  it.each([
    ['rdpkey', lang === 'en' ? 'Only the RDP certificate key' : 'Только ключ сертификата RDP'],
    ['all', lang === 'en' ? 'Every machine key' : 'Все ключи компьютера'],
  ])('scope %s', (scope, words) => {
    const facts = JSON.stringify(approvalCard(t, { approval: approval(scope), view: 'approver', refreshUserIds: [], publicBaseUrl: 'https://x.example' }));
    const row = new RegExp(`"title":"${t('fixes.param.scope')}","value":"([^"]*)"`).exec(facts)?.[1];
    expect(row).toContain(words);
    expect(row).not.toContain(scope);
  });
});
