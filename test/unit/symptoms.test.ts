import { findingsCard } from '../../cards/diagnosis';
import { translator } from '../../services/i18n';
import type { DiagnosisRecord } from '../../services/incidents/model';
import { likelyCause, orderBySymptom, SYMPTOM_FINDINGS, SYMPTOM_IDS } from '../../services/runbook/symptoms';
import { cardProblems } from '../support/card-validation';
import { cardText } from '../support/connector';

/**
 * Issue #14 item 5: the symptom orders the explanation, never the checks. Within one severity the
 * findings the symptom points at come first, and the card names the first of them as the likely
 * cause; severity still comes first (a critical finding is never listed after a warning).
 */
type F = DiagnosisRecord['findings'][number];
const f = (id: string, severity: F['severity']): F => ({ id, severity, evidence: [] } as unknown as F);
// as the diagnosis sorts them: severity, then the catalogue's order
const FOUND = [f('rdp-exposed-to-internet', 'critical'), f('brute-force-suspected', 'critical'), f('tls-disabled', 'critical'), f('nla-disabled', 'warning')];
const ids = (xs: readonly F[]) => xs.map((x) => x.id);

const record = (findings: F[]): DiagnosisRecord => ({
  at: '2026-11-30T10:00:00Z',
  findings,
  fixes: [],
  runCommandCalls: 1,
  armCalls: 3,
  elapsedMs: 20000,
  vm: { id: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-x-01', name: 'vm-x-01', powerState: 'running', agentStatus: 'Ready', osType: 'Windows' },
});

describe('the symptom orders the findings', () => {
  it.each<[string | undefined, string[], string | null]>([
    [undefined, ['rdp-exposed-to-internet', 'brute-force-suspected', 'tls-disabled', 'nla-disabled'], null],
    ['not-stated', ['rdp-exposed-to-internet', 'brute-force-suspected', 'tls-disabled', 'nla-disabled'], null],
    ['generic', ['rdp-exposed-to-internet', 'brute-force-suspected', 'tls-disabled', 'nla-disabled'], null],
    ['internal-error', ['tls-disabled', 'rdp-exposed-to-internet', 'brute-force-suspected', 'nla-disabled'], 'tls-disabled'],
    // the warning it points at stays below the criticals, but is named as the likely cause
    ['credssp', ['rdp-exposed-to-internet', 'brute-force-suspected', 'tls-disabled', 'nla-disabled'], 'nla-disabled'],
    ['credentials-rejected', ['brute-force-suspected', 'rdp-exposed-to-internet', 'tls-disabled', 'nla-disabled'], 'brute-force-suspected'],
    ['licensing', ['rdp-exposed-to-internet', 'brute-force-suspected', 'tls-disabled', 'nla-disabled'], null],
    ['no-such-symptom', ['rdp-exposed-to-internet', 'brute-force-suspected', 'tls-disabled', 'nla-disabled'], null],
  ])('%s', (symptom, order, likely) => {
    expect(ids(orderBySymptom(FOUND, symptom))).toEqual(order);
    expect(likelyCause(FOUND, symptom)?.id ?? null).toBe(likely);
    // the same findings, only reordered: the symptom never adds or drops one
    expect([...ids(orderBySymptom(FOUND, symptom))].sort()).toEqual([...ids(FOUND)].sort());
  });

  it('every symptom has a label in both languages', () => {
    for (const lang of ['en', 'ru'] as const) {
      const t = translator(lang);
      for (const s of SYMPTOM_IDS) expect(t(`symptoms.${s}`)).not.toBe(`symptoms.${s}`);
    }
    expect(Object.keys(SYMPTOM_FINDINGS).sort()).toEqual([...SYMPTOM_IDS].sort());
  });
});

describe('the findings card', () => {
  it.each([
    ['en', /Most likely the cause of what you see \("An internal error has occurred"\): TLS 1\.2 is disabled for servers\./],
    ['ru', /Скорее всего, причина того, что вы видите \(«Произошла внутренняя ошибка»\): /],
  ] as const)('%s: names the likely cause and lists it first', (lang, line) => {
    const card = findingsCard(translator(lang), { incidentId: 'i-1', diagnosis: record(FOUND), symptom: 'internal-error' });
    const text = cardText(card);
    expect(text).toMatch(line);
    const t = translator(lang);
    const at = (id: string) => text.indexOf(t(`findings.${id}.title`), text.indexOf(t('findings.title', { vm: 'vm-x-01' })) + 1);
    expect(at('tls-disabled')).toBeLessThan(at('rdp-exposed-to-internet'));
    expect(at('rdp-exposed-to-internet')).toBeLessThan(at('nla-disabled'));
    expect(cardProblems(card)).toEqual([]);
  });

  it('without a symptom that points anywhere: severity order and no likely-cause line', () => {
    for (const symptom of [undefined, 'not-stated', 'generic', 'licensing']) {
      const text = cardText(findingsCard(translator('en'), { incidentId: 'i-1', diagnosis: record(FOUND), symptom }));
      expect(text).not.toMatch(/Most likely/);
      expect(text.indexOf('exposed')).toBeLessThan(text.indexOf('TLS 1.2 is disabled'));
    }
  });

  it('no likely cause when a blocker stopped the diagnosis', () => {
    const text = cardText(findingsCard(translator('en'), { incidentId: 'i-1', diagnosis: record([f('vm-not-running', 'blocker')]), symptom: 'cannot-connect' }));
    expect(text).not.toMatch(/Most likely/);
  });
});
