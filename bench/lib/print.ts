/** Plain-text output shared by every benchmark, so the summaries line up. */

export function banner(title: string, subtitle = ''): void {
  const line = '='.repeat(Math.max(60, title.length + 4));
  console.log(`\n${line}\n  ${title}${subtitle ? `\n  ${subtitle}` : ''}\n${line}`);
}

export function step(message: string): void {
  console.log(`  · ${message}`);
}

/** Right-aligns cells that look like numbers, left-aligns the rest. */
export function table(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = (s: string) => /^[-+]?[\d.,]+( ?(ms|x|%))?$/.test(s);
  const cell = (s: string, i: number) => (numeric(s) ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: string[]) => `  ${cells.map(cell).join('  ').trimEnd()}`;
  console.log(line(headers));
  console.log(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const r of rows) console.log(line(r));
}

export const fixed = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '-';

export const ms = (n: number, digits = 1): string => `${fixed(n, digits)} ms`;
