import { formatNumber, formatSeconds, pluralCategory } from '../../services/i18n/format';

/** The Intl formatters are built once and reused (the bench profile): reuse must never mix languages or shapes. */
describe('i18n formatters, reused', () => {
  it('numbers and seconds keep their own shape and language whatever was formatted before', () => {
    for (let round = 0; round < 2; round++) {
      expect(formatNumber('en', 8)).toBe('8');
      expect(formatSeconds('en', 8000)).toBe('8.0');
      expect(formatNumber('en', 8.25)).toBe('8.3');
      expect(formatNumber('en', 8.256, 2)).toBe('8.26');
      expect(formatSeconds('ru', 8300)).toBe('8,3');
      expect(formatNumber('ru', 8)).toBe('8');
      expect(formatSeconds('ru', 8000)).toBe('8,0');
    }
  });

  it('plural categories stay per language', () => {
    for (let round = 0; round < 2; round++) {
      expect(pluralCategory('ru', 2)).toBe('few');
      expect(pluralCategory('en', 2)).toBe('other');
      expect(pluralCategory('ru', 5)).toBe('many');
      expect(pluralCategory('en', 1)).toBe('one');
      expect(pluralCategory('ru', '2000+')).toBe('many');
    }
  });
});
