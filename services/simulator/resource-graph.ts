import type { Json, JsonObject } from './arm-shapes';

/**
 * A deliberately narrow reading of KQL: enough for the queries services/azure sends, and a
 * clear error for anything else (so a query change shows up in tests rather than as silently
 * wrong results).
 *
 *   Resources
 *   | where type =~ 'microsoft.compute/virtualmachines'
 *   | where name contains 'web'            (also =~, ==, !=, startswith, in~ ('a','b'))
 *   | project id, name, osType = tostring(properties.storageProfile.osDisk.osType)
 *   | order by name asc
 *   | limit 50                              (or take)
 */
export class KqlError extends Error {}

type Cmp = 'contains' | '=~' | '==' | '!=' | 'startswith' | 'in~' | 'in';
interface Where { kind: 'where'; field: string; op: Cmp; values: string[] }
interface Project { kind: 'project'; columns: { alias: string; path: string[] }[] }
interface Order { kind: 'order'; path: string[]; desc: boolean }
interface Limit { kind: 'limit'; n: number }
type Stage = Where | Project | Order | Limit;

function splitStages(query: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < query.length; i++) {
    const c = query[i];
    if (quote) {
      cur += c;
      if (c === '\\' && i + 1 < query.length) cur += query[++i];
      else if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur += c;
    } else if (c === '|') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (quote) throw new KqlError('unterminated string literal');
  out.push(cur.trim());
  return out;
}

const STRING = String.raw`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"`;
const PATH = String.raw`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*`;

function unquote(lit: string): string {
  return lit.slice(1, -1).replace(/\\(.)/g, '$1');
}

function parseStage(text: string): Stage {
  let m = new RegExp(String.raw`^where\s+(${PATH})\s+(contains|=~|==|!=|startswith)\s+(${STRING})$`, 'i').exec(text);
  if (m) return { kind: 'where', field: m[1], op: m[2].toLowerCase() as Cmp, values: [unquote(m[3])] };
  m = new RegExp(String.raw`^where\s+(${PATH})\s+(in~|in)\s*\(\s*((?:${STRING})(?:\s*,\s*(?:${STRING}))*)\s*\)$`, 'i').exec(text);
  if (m) {
    const values = [...m[3].matchAll(new RegExp(STRING, 'g'))].map((x) => unquote(x[0]));
    return { kind: 'where', field: m[1], op: m[2].toLowerCase() as Cmp, values };
  }
  m = /^project\s+(.+)$/is.exec(text);
  if (m) {
    const columns = m[1].split(',').map((c) => {
      const col = c.trim();
      const plain = new RegExp(`^(${PATH})$`).exec(col);
      if (plain) return { alias: plain[1].split('.').pop() as string, path: plain[1].split('.') };
      const aliased = new RegExp(String.raw`^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:tostring\(\s*(${PATH})\s*\)|(${PATH}))$`).exec(col);
      if (aliased) return { alias: aliased[1], path: (aliased[2] ?? aliased[3]).split('.') };
      throw new KqlError(`unsupported project column: ${col}`);
    });
    return { kind: 'project', columns };
  }
  m = new RegExp(String.raw`^(?:order|sort)\s+by\s+(${PATH})(?:\s+(asc|desc))?$`, 'i').exec(text);
  if (m) return { kind: 'order', path: m[1].split('.'), desc: (m[2] ?? 'desc').toLowerCase() === 'desc' };
  m = /^(?:limit|take)\s+(\d+)$/i.exec(text);
  if (m) return { kind: 'limit', n: Number(m[1]) };
  throw new KqlError(`unsupported query operator: ${text.split(/\s+/)[0] ?? text}`);
}

export function parseKql(query: string): Stage[] {
  const [table, ...rest] = splitStages(query);
  if (!/^resources$/i.test(table ?? '')) throw new KqlError('only the Resources table is supported');
  return rest.map(parseStage);
}

function resolve(row: JsonObject, path: string[]): Json | undefined {
  let cur: Json | undefined = row;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    // Resource Graph property names are case-insensitive
    const obj: JsonObject = cur;
    if (Object.hasOwn(obj, key)) {
      cur = obj[key];
      continue;
    }
    const hit = Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase());
    cur = hit === undefined ? undefined : obj[hit];
  }
  return cur;
}

function asText(v: Json | undefined): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function matches(row: JsonObject, w: Where): boolean {
  const actual = asText(resolve(row, w.field.split('.')));
  const a = actual.toLowerCase();
  const v = (w.values[0] ?? '').toLowerCase();
  switch (w.op) {
    case 'contains': return a.includes(v);
    case 'startswith': return a.startsWith(v);
    case '=~': return a === v;
    case '==': return actual === w.values[0];
    case '!=': return actual !== w.values[0];
    case 'in~': return w.values.some((x) => x.toLowerCase() === a);
    case 'in': return w.values.includes(actual);
  }
}

const COLLATOR = new Intl.Collator();

/** Runs the query over rows; returns every matching row (paging is the caller's job). */
export function runKql(query: string, rows: JsonObject[]): JsonObject[] {
  let out = rows;
  for (const stage of parseKql(query)) {
    switch (stage.kind) {
      case 'where': out = out.filter((r) => matches(r, stage)); break;
      case 'order': {
        const sign = stage.desc ? -1 : 1;
        // each row's key once, then one collator (localeCompare's order, without its per-call set-up): 10,000 rows sort in ms
        const keyed = out.map((row) => ({ row, key: asText(resolve(row, stage.path)) }));
        keyed.sort((x, y) => sign * COLLATOR.compare(x.key, y.key));
        out = keyed.map((k) => k.row);
        break;
      }
      case 'limit': out = out.slice(0, stage.n); break;
      case 'project':
        out = out.map((r) => {
          const o: JsonObject = {};
          for (const c of stage.columns) o[c.alias] = resolve(r, c.path) ?? null;
          return o;
        });
        break;
    }
  }
  return out;
}
