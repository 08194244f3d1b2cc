/**
 * kubectl-like tables: upper-case headers, columns left-aligned and separated by three spaces,
 * no borders, no trailing blanks; cells may carry colour (widths count visible characters).
 * Pure.
 */
import { visibleLength } from './colour.js';

export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - visibleLength(c))))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}
