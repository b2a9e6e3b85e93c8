/**
 * What a reader of a card must never meet, checked over every card the bot sends (the card
 * samples of the unit tests, every card of every journey in the integration tests):
 *
 * - a button whose title is cut. Teams never wraps a button's title: what does not fit ends in
 *   "…" (issue #13: «Включить TLS 1.2 для сервера (с перезапуском)»). Microsoft's card design
 *   guidance asks for clear, concise actions and for cards designed for a narrow screen. At a
 *   phone's 360 px a card's content is about 310 px wide; a button's padding takes about 24 px
 *   and a 14 px Cyrillic letter about 8.5 px, so one button alone in its row shows about 33
 *   letters, and the buttons of one row share that width. The bound: 28 characters for one row
 *   (a title alone, or the titles of one row together), leaving room for the gaps between
 *   buttons and for wider letters (Ш, Ж, W, M). Longer names go in the card's body, wrapped.
 * - text cut at the card's edge: every TextBlock with more than a mark in it wraps.
 * - an empty text: a TextBlock or a message answer with nothing in it (an empty ⓘ banner).
 * - yellow text (`color: "Warning"`): too light on Teams' light theme (yellow on white). Warnings
 *   use "Attention" (red, readable in both themes) or the default color with a bold weight.
 */
export const MAX_ACTION_ROW_CHARS = 28;

interface Node {
  type?: string;
  text?: unknown;
  wrap?: unknown;
  color?: unknown;
  title?: unknown;
  actions?: unknown;
  [k: string]: unknown;
}

/** The action rows of a card: its `actions`, each ActionSet's, and those of each ShowCard's card, recursively. */
function actionRows(card: unknown): Array<{ titles: string[]; where: string }> {
  const rows: Array<{ titles: string[]; where: string }> = [];
  const walk = (n: unknown, where: string): void => {
    if (Array.isArray(n)) return n.forEach((x, i) => walk(x, `${where}[${i}]`));
    if (!n || typeof n !== 'object') return;
    const o = n as Node;
    if (Array.isArray(o.actions)) {
      const titles = (o.actions as Node[]).filter((a) => a && typeof a === 'object' && typeof a.type === 'string' && a.type.startsWith('Action.')).map((a) => String(a.title ?? ''));
      if (titles.length) rows.push({ titles, where: `${where}.actions` });
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'fallback' && k !== 'refresh') walk(v, `${where}.${k}`);
  };
  walk(card, '$');
  return rows;
}

const chars = (s: string) => [...s].length;

/** Problems of one card, each a sentence naming the place; [] when none. */
export function cardLint(card: unknown): string[] {
  const problems: string[] = [];
  for (const row of actionRows(card)) {
    const total = row.titles.reduce((n, t) => n + chars(t), 0);
    if (total > MAX_ACTION_ROW_CHARS) problems.push(`buttons ${row.titles.map((t) => `"${t}"`).join(' | ')} (${total} characters in one row, at most ${MAX_ACTION_ROW_CHARS}) at ${row.where}`);
    for (const t of row.titles) if (!t.trim()) problems.push(`a button without a title at ${row.where}`);
  }
  const walk = (n: unknown, where: string): void => {
    if (Array.isArray(n)) return n.forEach((x, i) => walk(x, `${where}[${i}]`));
    if (!n || typeof n !== 'object') return;
    const o = n as Node;
    if (o.type === 'TextBlock') {
      const text = String(o.text ?? '');
      if (!text.trim()) problems.push(`an empty TextBlock at ${where}`);
      else if (chars(text.trim()) > 2 && o.wrap !== true) problems.push(`a TextBlock without wrap ("${text.slice(0, 40)}") at ${where}`);
    }
    if ((o.type === 'TextBlock' || o.type === 'TextRun' || o.type === 'Column' || o.type === 'Container') && o.color === 'Warning') {
      problems.push(`yellow text (color Warning) at ${where}`);
    }
    for (const [k, v] of Object.entries(o)) if (k !== 'fallback') walk(v, `${where}.${k}`);
  };
  walk(card, '$');
  return problems;
}

/** Every action title of a card (for reports). */
export function actionTitles(card: unknown): string[] {
  return actionRows(card).flatMap((r) => r.titles);
}
