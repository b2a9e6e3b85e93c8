import type { Translate } from '../services/i18n';
import { bind, type CardJson } from './render';
import template from './templates/help.json';

const COMMANDS = ['diagnose', 'status', 'approvals', 'history', 'approvalsHere', 'sweep', 'sweeps', 'cancel', 'help'] as const;

export function helpCard(t: Translate, opts: { demoMode: boolean }): CardJson {
  return bind(template, {
    demoMode: opts.demoMode,
    commands: COMMANDS.map((c) => ({ command: t(`help.commands.${c}.command`), description: t(`help.commands.${c}.description`) })),
    s: { title: t('help.title'), intro: t('help.intro'), demo: t('common.demoMode') },
  });
}
