/**
 * How commands print: aligned tables and `key: value` blocks for people, JSON for scripts.
 * Results go to stdout; progress, warnings and errors go to stderr so `-o json | jq` stays clean.
 */
import { CliError } from './errors.js';

export type OutputFormat = 'table' | 'json';

export function parseOutputFormat(v: string): OutputFormat {
  if (v === 'table' || v === 'json') return v;
  throw new CliError(`--output must be "table" or "json", got "${v}"`, 1);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** kubectl-style: upper-case headers, columns separated by two spaces, no borders to copy around. */
export function formatTable(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function printTable(
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
  empty?: string,
): void {
  if (rows.length === 0 && empty) {
    process.stderr.write(`${empty}\n`);
    return;
  }
  process.stdout.write(`${formatTable(headers, rows)}\n`);
}

/** A `key: value` block; multi-line values are indented under their key. */
export function formatFields(fields: Array<[string, unknown]>): string {
  const width = Math.max(...fields.map(([k]) => k.length)) + 1;
  return fields
    .map(([k, v]) => {
      const text = v === null || v === undefined || v === '' ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
      const [first, ...rest] = text.split('\n');
      return [`${`${k}:`.padEnd(width)} ${first}`, ...rest.map((l) => `${' '.repeat(width + 1)}${l}`)].join('\n');
    })
    .join('\n');
}

/** "3m", "2h", "4d": how long ago, for "time in state" columns. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return '-';
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** One line to stderr, for notes that must not pollute JSON on stdout. */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}
