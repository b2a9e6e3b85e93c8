import { FIX_IDS } from '../../services/runbook/fixes';
import { LANGS } from '../../services/i18n';
import { activity, cards } from '../support/card-catalogue';
import { cardProblems } from '../support/card-validation';
import { TEAMS_MAX_ACTIVITY_BYTES, largest, utf16Bytes } from '../support/teams-limits';

/**
 * Every card at its worst (longest names, every finding, every fix, every state, both languages;
 * test/support/card-catalogue.ts) as the activity Teams receives, measured the way Teams measures
 * it. The chat journeys measure the real activities too (test/integration/teams-limits.test.ts).
 */
describe.each(LANGS)('every card as Teams receives it (%s)', (lang) => {
  const all = cards(lang);

  it(`stays under ${TEAMS_MAX_ACTIVITY_BYTES} bytes in UTF-16`, () => {
    const sizes = Object.entries(all).map(([name, card]) => ({ name, bytes: utf16Bytes(activity(card)) }));
    const over = sizes.filter((s) => s.bytes >= TEAMS_MAX_ACTIVITY_BYTES);
    const top = largest(Object.entries(all).map(([name, card]) => ({ name, payload: activity(card) })));
    process.stdout.write(`largest card activity (${lang}): ${top.name}, ${top.bytes} bytes in UTF-16\n`);
    expect(over).toEqual([]);
  });

  it('each validates', () => {
    const problems = Object.entries(all).flatMap(([name, card]) => cardProblems(card).map((p) => `${name}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('cards with tables of evidence take the full width in Teams', () => {
    for (const name of ['findings: every finding and every fix', 'history listing', `${FIX_IDS[0]} pending, base card`]) expect(all[name].msteams).toEqual({ width: 'Full' });
  });
});
