/**
 * Teams refuses a message (or a card update, or an invoke answer) over about 28 KB, measured as
 * the activity's JSON in UTF-16: two bytes per UTF-16 code unit.
 */
export const TEAMS_MAX_ACTIVITY_BYTES = 28 * 1024;

export function utf16Bytes(x: unknown): number {
  return JSON.stringify(x).length * 2;
}

/** The largest of named payloads, for the report a failing or passing size test prints. */
export function largest(items: Array<{ name: string; payload: unknown }>): { name: string; bytes: number } {
  let best = { name: '(none)', bytes: 0 };
  for (const i of items) {
    const bytes = utf16Bytes(i.payload);
    if (bytes > best.bytes) best = { name: i.name, bytes };
  }
  return best;
}
