import { helpCard } from '../../cards/help';
import { parseCommand, type Command } from '../../dialogs/commands';
import { LANGS, translator } from '../../services/i18n';

/** The help card lists the command words the parser accepts, in each language (issue #13, item 13). */
function listedCommands(lang: (typeof LANGS)[number]): string[] {
  const card = helpCard(translator(lang), { demoMode: false });
  const facts = JSON.stringify(card).match(/"facts":\[(.*?)\]/)?.[1] ?? '';
  return [...facts.matchAll(/"title":"([^"]+)"/g)].map((m) => m[1]);
}

const ALL_KINDS: Array<Command['kind']> = ['diagnose', 'status', 'approvals', 'history', 'approvalsHere', 'sweep', 'sweeps', 'cancel', 'help'];

describe.each(LANGS)('the help card (%s)', (lang) => {
  it('lists a command word for every command, each one the parser accepts', () => {
    const listed = listedCommands(lang);
    const kinds = listed.map((command) => {
      // "<vm>" / "<ВМ>" stands for a VM name
      const typed = command.replace(/<[^>]+>/g, 'vm-tlsoff-06');
      const parsed = parseCommand(typed);
      expect([command, parsed?.kind ?? null]).toEqual([command, expect.any(String)]);
      if (parsed && 'vm' in parsed) expect(parsed.vm).toBe('vm-tlsoff-06');
      return parsed?.kind;
    });
    expect([...kinds].sort()).toEqual([...ALL_KINDS].sort());
  });

  it('lists command words of its own language', () => {
    const words = listedCommands(lang).join(' ').replace(/<[^>]+>/g, '');
    if (lang === 'ru') expect(words).not.toMatch(/[A-Za-z]/);
    else expect(words).not.toMatch(/[\u0400-\u04FF]/);
  });
});

describe('parseCommand', () => {
  it.each([
    ['диагностика vm-tlsoff-06', { kind: 'diagnose', vm: 'vm-tlsoff-06' }],
    ['Диагностика  VM-TLSOFF-06', { kind: 'diagnose', vm: 'VM-TLSOFF-06' }],
    ['проверить vm-1', { kind: 'diagnose', vm: 'vm-1' }],
    ['история vm-1', { kind: 'history', vm: 'vm-1' }],
    ['согласования здесь', { kind: 'approvalsHere' }],
    ['Помощь!', { kind: 'help' }],
    ['отмена', { kind: 'cancel' }],
  ])('%p', (text, want) => {
    expect(parseCommand(text)).toEqual(want);
  });

  it('free text is not a command', () => {
    expect(parseCommand('не могу подключиться к vm-tlsoff-06')).toBeNull();
  });
});
