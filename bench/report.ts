/** One line of the results table: a figure beside its baseline from the same run. */
export interface Row {
  figure: string;
  metric: string;
  unit: string;
  value: number | null;
  baseline: number | null;
  /** value / baseline */
  ratio: number | null;
  /** human-readable target; '' when the figure has none */
  target: string;
  /** null: no target, or not measured */
  pass: boolean | null;
  note?: string;
}

export function row(r: Omit<Row, 'ratio'> & { ratio?: number | null }): Row {
  const ratio = r.ratio !== undefined ? r.ratio : r.value !== null && r.baseline !== null && r.baseline !== 0 ? r.value / r.baseline : null;
  return { ...r, ratio };
}

const fmt = (n: number | null, unit = ''): string => {
  if (n === null || Number.isNaN(n)) return '—';
  const abs = Math.abs(n);
  const s = abs >= 100 ? n.toFixed(0) : abs >= 10 ? n.toFixed(1) : n.toFixed(2);
  return unit ? `${s} ${unit}` : s;
};

const verdict = (p: boolean | null): string => (p === null ? '' : p ? 'pass' : 'FAIL');

export function markdownTable(rows: Row[]): string {
  const lines = [
    '| # | figure | value | baseline | ratio | target | result |',
    '|---|---|---:|---:|---:|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.figure} | ${r.metric}${r.note ? ` (${r.note})` : ''} | ${fmt(r.value, r.unit)} | ${fmt(r.baseline, r.unit)} | ${r.ratio === null ? '—' : `${fmt(r.ratio)}x`} | ${r.target} | ${verdict(r.pass)} |`,
    ),
  ];
  return lines.join('\n');
}
