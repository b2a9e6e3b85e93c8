import { breakable, ZWSP, bind } from '../../cards/render';
import { normalizeText } from '../../bot/bot';
import type { TurnContext } from 'botbuilder';

/** Long words in FactSet values get places to break; what a user copies back is whole again. */
describe('breakable', () => {
  it('leaves short words and words with their own break points alone', () => {
    expect(breakable('vm-tlsoff-06')).toBe('vm-tlsoff-06');
    expect(breakable('vm-prod-westeurope-sql-cluster-node-01')).toBe('vm-prod-westeurope-sql-cluster-node-01');
    expect(breakable('Alexandra Konstantinopolskaya Wilberforce')).toBe('Alexandra Konstantinopolskaya Wilberforce');
  });

  it('puts a zero-width space every 20 characters of a run without a break', () => {
    const rg = 'rg'.repeat(15);
    expect(breakable(rg)).toBe(`${'rg'.repeat(10)}${ZWSP}${'rg'.repeat(5)}`);
    expect(breakable(rg).replace(/\u200b/g, '')).toBe(rg);
  });

  it('never splits an escape or a link', () => {
    const escaped = 'a'.repeat(19) + '\\_' + 'b'.repeat(30);
    expect(breakable(escaped)).not.toContain(`\\${ZWSP}`);
    const link = `[x](https://example.com/${'a'.repeat(40)})`;
    expect(breakable(link)).toBe(link);
  });

  it('is applied to FactSet values only', () => {
    const long = 'x'.repeat(30);
    const card = bind({ type: 'AdaptiveCard', body: [{ type: 'FactSet', facts: [{ title: '${t}', value: '${v}' }] }, { type: 'TextBlock', text: '${v}' }] }, { t: long, v: long });
    const body = card.body as Array<{ facts?: Array<{ title: string; value: string }>; text?: string }>;
    expect(body[0].facts?.[0].value).toContain(ZWSP);
    expect(body[0].facts?.[0].title).toBe(long);
    expect(body[1].text).toBe(long);
  });

  it('a name copied from a card and typed back has no zero-width characters', () => {
    const ctx = { activity: { type: 'message', text: `diagnose vm-${'x'.repeat(17)}${ZWSP}xxxx\ufeff` } } as unknown as TurnContext;
    expect(normalizeText(ctx)).toBe(`diagnose vm-${'x'.repeat(21)}`);
  });
});
