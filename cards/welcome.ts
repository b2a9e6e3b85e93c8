import type { Translate } from '../services/i18n';
import { bind, type CardJson } from './render';
import template from './templates/welcome.json';

export function welcomeCard(t: Translate, opts: { demoMode: boolean }): CardJson {
  return bind(template, {
    demoMode: opts.demoMode,
    s: { title: t('welcome.title'), intro: t('welcome.intro'), demo: t('common.demoMode'), tryIt: t('welcome.tryIt'), help: t('help.button') },
  });
}
