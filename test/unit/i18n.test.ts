import { allCatalogues, pickLang, t } from '../../services/i18n';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('language catalogues', () => {
  const { en, ru } = allCatalogues();

  it('have the same keys in English and Russian', () => {
    const missingInRu = [...en.keys()].filter((k) => !ru.has(k));
    const missingInEn = [...ru.keys()].filter((k) => !en.has(k));
    expect({ missingInRu, missingInEn }).toEqual({ missingInRu: [], missingInEn: [] });
  });

  it('use the same placeholders in both languages', () => {
    const mismatched = [...en.keys()].filter((k) => ru.has(k) && placeholders(en.get(k)!).join() !== placeholders(ru.get(k)!).join());
    expect(mismatched).toEqual([]);
  });

  it('have Russian text in Cyrillic, not an English copy', () => {
    const same = [...en.keys()].filter((k) => {
      const e = en.get(k)!;
      return /[a-z]{4,}\s+[a-z]{4,}/i.test(e) && e === ru.get(k);
    });
    expect(same).toEqual([]);
  });

  it('fills placeholders and keeps unknown ones visible', () => {
    expect(t('en', 'turnError', { ref: 'E-1' })).toContain('E-1');
    expect(t('ru', 'turnError', { ref: 'E-1' })).toMatch(/Извините.*E-1/);
  });
});

describe('pickLang', () => {
  it.each([
    ['ru-RU', 'hello', 'ru'],
    ['ru', '', 'ru'],
    ['en-US', 'привет', 'en'],
    [undefined, 'не могу подключиться', 'ru'],
    [undefined, 'cannot connect', 'en'],
    ['', '', 'en'],
    ['not a locale!', 'привет', 'ru'],
  ])('locale %p text %p -> %p', (locale, text, want) => {
    expect(pickLang(locale, text)).toBe(want);
  });
});
