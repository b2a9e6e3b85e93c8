import { findingsCard } from '../../cards/diagnosis';
import type { CardJson } from '../../cards/render';
import { LANGS, translator } from '../../services/i18n';
import type { DiagnosisRecord } from '../../services/incidents/model';
import { guidanceFor } from '../../services/runbook/causes/guidance';
import { cardProblems } from '../support/card-validation';
import { cardText } from '../support/connector';

/** §1b (famhost): a finding without a safe fix shows "What to do" (by whom, the steps, the Microsoft article) on the findings card. */
const incidentId = '3f0c2f4e-1d7b-4c36-9d8e-0a8f2f5d9b11';
const diagnosis = (findings: DiagnosisRecord['findings'], fixes: DiagnosisRecord['fixes'] = []): DiagnosisRecord => ({
  at: '2026-11-25T10:00:00Z',
  findings,
  fixes,
  runCommandCalls: 1,
  armCalls: 3,
  elapsedMs: 21000,
  vm: { id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-trust-32', name: 'vm-trust-32', powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
});

function openUrls(card: unknown): string[] {
  const out: string[] = [];
  const walk = (o: unknown): void => {
    if (Array.isArray(o)) o.forEach(walk);
    else if (o && typeof o === 'object') {
      const r = o as Record<string, unknown>;
      if (r.type === 'Action.OpenUrl' && typeof r.url === 'string') out.push(r.url);
      Object.values(r).forEach(walk);
    }
  };
  walk(card);
  return out;
}

describe('guidance on the findings card', () => {
  it.each(LANGS)('%s: secure-channel-broken says what to do, by whom, and links the article; the card is valid', (lang) => {
    const t = translator(lang);
    const card: CardJson = findingsCard(t, { incidentId, diagnosis: diagnosis([{ id: 'secure-channel-broken', severity: 'critical', evidence: [{ key: 'runbook.evidence.hostSecureChannel', params: {} }] }]) });
    expect(cardProblems(card)).toEqual([]);
    const text = cardText(card);
    expect(text).toContain(t('guidance.title'));
    expect(text).toContain(t('guidance.by', { who: t('guidance.who.domain-admin') }));
    expect(text).toContain('Test-ComputerSecureChannel -Repair');
    const g = guidanceFor('secure-channel-broken');
    expect(openUrls(card)).toEqual([g?.article]);
  });

  it.each(LANGS)('%s: every guided finding gets its own article; a finding with a fix gets no guidance block', (lang) => {
    const t = translator(lang);
    const ids = ['credssp-oracle-strict', 'rdsh-licensing-expired', 'system-disk-full', 'rdp-no-public-ip'] as const;
    const card = findingsCard(t, {
      incidentId,
      diagnosis: diagnosis(
        [
          { id: 'guest-firewall-blocks-rdp', severity: 'critical', evidence: [{ key: 'runbook.evidence.guestFwBlockAll', params: { profile: 'Public' } }] },
          ...ids.map((id) => ({ id, severity: id === 'system-disk-full' ? ('warning' as const) : ('info' as const), evidence: [{ key: 'runbook.evidence.noPublicIp', params: {} }] })),
        ],
        [{ id: 'allow-rdp-through-firewall', addresses: ['guest-firewall-blocks-rdp'] }],
      ),
    });
    expect(cardProblems(card)).toEqual([]);
    expect(openUrls(card).sort()).toEqual(ids.map((id) => guidanceFor(id)?.article).sort());
    expect(guidanceFor('guest-firewall-blocks-rdp')).toBeUndefined();
  });
});
