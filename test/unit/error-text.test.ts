import { errorText } from '../../dialogs/error-text';
import { graphQueryForName } from '../../services/azure/graph-query';
import { DomainError, isDomainError } from '../../services/errors';
import { LANGS, translator } from '../../services/i18n';

/** "That input is not valid:" never ends at its colon (issue #13, item 2). */
describe.each(LANGS)('errorText of bad input (%s)', (lang) => {
  const t = translator(lang);
  const caught = (f: () => unknown): DomainError => {
    try {
      f();
    } catch (e) {
      if (isDomainError(e)) return e;
    }
    throw new Error('no DomainError');
  };

  it('a search text no VM name can match: the VM name rules', () => {
    const text = errorText(t, caught(() => graphQueryForName('vm-нет-99')));
    expect(text).toBe(t('errors.bad-input', { detail: t('chat.vmName.rules') }));
    expect(text).toMatch(/vm-tlsoff-06/);
  });

  it('any other bad input without a detail: a sentence, not nothing', () => {
    const text = errorText(t, new DomainError('bad-input', 'x', { params: {} }));
    expect(text.replace(t('errors.bad-input', { detail: '' }), '').trim().length).toBeGreaterThan(20);
  });

  it('a detail the raiser gave is kept', () => {
    expect(errorText(t, new DomainError('bad-input', 'x', { params: { detail: 'vm-1, vm-2' } }))).toBe(t('errors.bad-input', { detail: 'vm-1, vm-2' }));
  });
});
