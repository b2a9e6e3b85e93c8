import { textLang } from '../../services/i18n/text-lang';

/** Which language a message is clearly written in (issue #13, item 15). */
describe('textLang', () => {
  it.each([
    ['Не могу подключиться к vm-tlsoff-06, внутренняя ошибка', 'ru'],
    ['RDP не работает', 'ru'],
    ['помощь', 'ru'],
    ['статус', 'ru'],
    ['диагностика vm-tlsoff-06', 'ru'],
    ["I can't RDP to vm-certexpired-04, internal error.", 'en'],
    ['vm-tlsoff-06 does not work', 'en'],
    ['approvals here', 'en'],
    ['An internal error has occurred', 'en'],
  ])('%p is %s', (text, lang) => {
    expect(textLang(text)).toBe(lang);
  });

  it.each([
    'vm-tlsoff-06',
    'vm-нет-99',
    '42',
    '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-demo/providers/Microsoft.Compute/virtualMachines/vm-tlsoff-06',
    'help',
    'status',
    'diagnose vm-tlsoff-06',
    'history vm-1',
    'RDP vm-1',
    'TLS 1.2',
    '',
    '  ',
  ])('%p does not say', (text) => {
    expect(textLang(text)).toBeNull();
  });

  it('a mixed message goes by what dominates, and is ambiguous in between', () => {
    expect(textLang('ошибка internal при подключении к ВМ')).toBe('ru');
    expect(textLang('internal error, ошибка')).toBeNull();
  });
});
