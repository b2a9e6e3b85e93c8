import { allCatalogues, clientTimeZone, formatDateTime, formatSeconds, t, translator } from '../../services/i18n';
import { PLURAL_CATEGORIES } from '../../services/i18n/format';

const AT = '2026-11-29T15:28:45.796Z';

describe('dates and times for the reader', () => {
  it.each([
    ['en', 'UTC', '29 Nov 2026, 15:28 UTC'],
    ['ru', 'UTC', '29.11.2026 15:28 UTC'],
    ['en', 'Europe/Moscow', '29 Nov 2026, 18:28 GMT+3'],
    ['ru', 'Europe/Moscow', '29.11.2026 18:28 GMT+3'],
    ['ru', 'Asia/Kolkata', '29.11.2026 20:58 GMT+5:30'],
  ] as const)('%s in %s', (lang, tz, want) => {
    expect(formatDateTime(lang, tz, AT)).toBe(want);
  });

  it('follows daylight saving time: New York is UTC-4 in July and UTC-5 in November', () => {
    expect(formatDateTime('en', 'America/New_York', '2026-07-01T12:00:00Z')).toBe('1 Jul 2026, 08:00 GMT-4');
    expect(formatDateTime('en', 'America/New_York', '2026-11-29T12:00:00Z')).toBe('29 Nov 2026, 07:00 GMT-5');
    expect(formatDateTime('ru', 'Europe/Berlin', '2026-07-01T12:00:00Z')).toBe('01.07.2026 14:00 GMT+2');
    expect(formatDateTime('ru', 'Europe/Berlin', '2026-11-29T12:00:00Z')).toBe('29.11.2026 13:00 GMT+1');
  });

  it('falls back to UTC, and says so, for a zone name it does not know (a tampered activity)', () => {
    expect(formatDateTime('en', 'Mars/Olympus_Mons', AT)).toBe('29 Nov 2026, 15:28 UTC');
    expect(formatDateTime('ru', '../../etc/passwd', AT)).toBe('29.11.2026 15:28 UTC');
    expect(formatDateTime('ru', undefined, AT)).toBe('29.11.2026 15:28 UTC');
  });

  it('takes the zone the client sends: the IANA name, else a whole-hour offset of its local time, else UTC', () => {
    expect(clientTimeZone({ localTimezone: 'Europe/Moscow' })).toBe('Europe/Moscow');
    expect(clientTimeZone({ localTimezone: 'Nowhere/Town', rawLocalTimestamp: '2026-11-29T18:28:45.796+03:00' })).toBe('Etc/GMT-3');
    expect(clientTimeZone({ localTimestamp: '2026-11-29T10:28:45-05:00' })).toBe('Etc/GMT+5');
    expect(clientTimeZone({ localTimezone: 42, localTimestamp: '2026-11-29T20:58:45+05:30' })).toBe('UTC');
    expect(clientTimeZone({ localTimezone: 'x'.repeat(500) })).toBe('UTC');
    expect(clientTimeZone({})).toBe('UTC');
    expect(formatDateTime('en', clientTimeZone({ rawLocalTimestamp: '2026-11-29T18:28:45+03:00' }), AT)).toBe('29 Nov 2026, 18:28 GMT+3');
  });

  it('a translator shows an ISO timestamp parameter in its reader\'s zone, not as ISO', () => {
    const ru = translator('ru', 'Europe/Moscow');
    expect(ru('runbook.evidence.event1057', { count: 30, since: '2026-11-29T15:28:45Z' })).toBe(
      '30 ошибок «не удаётся создать новый самозаверяющий сертификат» (событие RemoteConnectionManager 1057) с 29.11.2026 18:28 GMT+3.',
    );
    expect(translator('en')('runbook.evidence.failedLogons', { count: 1, since: AT })).toBe('1 failed sign-in (Security event 4625) since 29 Nov 2026, 15:28 UTC.');
    expect(translator('en')('runbook.evidence.failedLogons', { count: 1, since: AT })).not.toMatch(/\d{4}-\d{2}-\d{2}T/);
  });
});

describe('numbers', () => {
  it('use the language\'s decimal separator', () => {
    expect(formatSeconds('en', 8300)).toBe('8.3');
    expect(formatSeconds('ru', 8300)).toBe('8,3');
    expect(t('ru', 'findings.stats', { runCommands: 1, armCalls: 2, seconds: 8.3, at: AT })).toBe('1 вызов Run Command, 2 чтения Azure, 8,3 с, 29.11.2026 15:28 UTC');
    expect(t('en', 'findings.stats', { runCommands: 1, armCalls: 2, seconds: 8.3, at: AT })).toBe('1 Run Command call, 2 Azure reads, 8.3 s, at 29 Nov 2026, 15:28 UTC');
  });

  it('leave integers as they are (ports, priorities, ids)', () => {
    expect(t('en', 'runbook.evidence.notListening', { port: 3389 })).toContain('TCP 3389.');
  });
});

describe('plurals', () => {
  it.each([
    [1, 'I found 1 problem.', 'Найдена 1 проблема.'],
    [2, 'I found 2 problems.', 'Найдено 2 проблемы.'],
    [5, 'I found 5 problems.', 'Найдено 5 проблем.'],
    [21, 'I found 21 problems.', 'Найдена 21 проблема.'],
    [11, 'I found 11 problems.', 'Найдено 11 проблем.'],
  ])('%i problem(s)', (count, en, ru) => {
    expect(t('en', 'findings.summary', { count })).toBe(en);
    expect(t('ru', 'findings.summary', { count })).toBe(ru);
  });

  it('a capped count ("2000+") takes the form of its number', () => {
    expect(t('ru', 'runbook.evidence.failedLogons', { count: '2000+', since: AT })).toMatch(/^2000\+ неудачных входов /);
    expect(t('en', 'runbook.evidence.failedLogons', { count: '2000+', since: AT })).toMatch(/^2000\+ failed sign-ins /);
  });

  it('no count in either language is written "(s)" or as "word: {count}" any more (a list, "port(s) {ports}", may stay)', () => {
    for (const [lang, cat] of Object.entries(allCatalogues())) {
      const left = [...cat.entries()].filter(([, v]) => /\}[\w ]*\w\(s\)(?! \{ports\})|(записей|ошибок|проблем|запросов|дней|входов|строк): \{/.test(v)).map(([k]) => `${lang}:${k}`);
      expect(left).toEqual([]);
    }
  });

  it('every plural form in the catalogues gives each category its language needs', () => {
    const bad: string[] = [];
    for (const [lang, cat] of Object.entries(allCatalogues()) as Array<['en' | 'ru', Map<string, string>]>) {
      for (const [key, text] of cat) {
        for (const m of text.matchAll(/\{\w+\s*,\s*plural\s*,((?:[^{}]|\{[^{}]*\})*)\}/g)) {
          const cases = [...m[1].matchAll(/(=\d+|[a-z]+)\s*\{/g)].map((c) => c[1]);
          const missing = PLURAL_CATEGORIES[lang].filter((c) => !cases.includes(c));
          if (missing.length) bad.push(`${lang}:${key} lacks ${missing.join(',')}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
