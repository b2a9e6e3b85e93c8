import type { TurnContext } from 'botbuilder';
import { clientTimeZone, pickLang, translator, type Lang, type Translate } from '../services/i18n';

/** Per-turn values the host puts on the TurnContext for dialogs and verb handlers. */
const LANG_KEY = Symbol('rdpDoctor.lang');

export function setTurnLang(context: TurnContext, lang: Lang): void {
  context.turnState.set(LANG_KEY, lang);
}

export function turnLang(context: TurnContext): Lang {
  const set = context.turnState.get(LANG_KEY) as Lang | undefined;
  return set ?? pickLang(context.activity.locale, context.activity.text);
}

/** The reader's time zone, from what the client sent with this activity (UTC when nothing usable). */
export function turnTimeZone(context: TurnContext): string {
  return clientTimeZone(context.activity);
}

export function turnT(context: TurnContext): Translate {
  return translator(turnLang(context), turnTimeZone(context));
}
