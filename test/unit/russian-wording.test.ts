import { allCatalogues, t } from '../../services/i18n';
import { evaluate } from '../../services/runbook/findings';
import { demoVm, effectiveNsgsOf, healthyFacts, NOW, vmDetailsOf } from './runbook-helpers';

/** The Russian wording a native speaker asked for (issue #13, "Russian wording"). */
describe('the Russian catalogue', () => {
  const ru = [...allCatalogues().ru];

  it.each([
    ['«Доказательства» sounds legal: «Признаки»', /[Дд]оказательств/],
    ['«Ничего настоящего не меняется»: «реальные ресурсы не затрагиваются»', /Ничего настоящего/],
    ['«Само исправление»: «Применение исправления»', /Само исправление/],
    ['no mixed gender forms («одобрил(а)», «сообщил(а)»)', /\p{Script=Cyrillic}\(а\)/u],
    ['no «Запросил» beside neutral forms', /Запросил(?!\p{L})/u],
  ])('%s', (_what, bad) => {
    expect(ru.filter(([, text]) => bad.test(text)).map(([key]) => key)).toEqual([]);
  });

  it('uses the words asked for', () => {
    const text = (key: string) => allCatalogues().ru.get(key);
    expect(text('findings.evidence')).toBe('Признаки');
    expect(text('common.demoMode')).toMatch(/Реальные ресурсы не затрагиваются/);
    expect(text('job.step.fix')).toBe('Применение исправления');
    expect(text('approval.requester')).toBe('Запрос от');
  });
});

describe('the "-" = not set note of the TLS evidence', () => {
  const vm = demoVm('vm-tlsoff-06');
  const tlsEvidence = (Enabled: number | null, DisabledByDefault: number | null) => {
    const facts = healthyFacts((f) => {
      f.tls = { ...f.tls, 'TLS 1.2': { Enabled, DisabledByDefault } } as typeof f.tls;
    });
    const found = evaluate({ vm: vmDetailsOf(vm), nsgs: effectiveNsgsOf(vm), facts, now: NOW }).find((f) => f.id === 'tls-disabled');
    const e = found?.evidence.find((x) => /tlsRegistry/.test(x.key));
    if (!e) throw new Error('no registry evidence');
    return { en: t('en', e.key, e.params), ru: t('ru', e.key, e.params) };
  };

  it('is left out where both values are set', () => {
    const e = tlsEvidence(0, 1);
    expect(e.en).toBe('SCHANNEL TLS 1.2 Server: Enabled = 0, DisabledByDefault = 1.');
    expect(e.ru).not.toMatch(/«-»/);
  });

  it('is there where a value is "-"', () => {
    const e = tlsEvidence(0, null);
    expect(e.en).toMatch(/DisabledByDefault = - \("-" = not set\)/);
    expect(e.ru).toMatch(/DisabledByDefault = - \(«-» — значение не задано\)/);
  });
});
