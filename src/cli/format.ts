/** How tbox prints: Docker's tables, durations, sizes and --format. */
import { render } from './template.js';

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** Docker's go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 7 * 2) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 30 * 2) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export const ago = (iso: string) => `${humanDuration(Date.now() - Date.parse(iso))} ago`;

/** Docker's HumanSize: decimal units, three significant digits. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

export function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * --format: "table" (default), "json" (one object per line, as `docker ps
 * --format json` does), or a template such as '{{.ID}}\t{{.Names}}'.
 */
export function printRecords(format: string | undefined, headers: string[], keys: string[], records: Record<string, unknown>[]): void {
  if (!format || format === 'table') {
    process.stdout.write(
      table(
        headers,
        records.map((r) => keys.map((k) => String(r[k] ?? ''))),
      ),
    );
  } else if (format === 'json') {
    for (const r of records) process.stdout.write(JSON.stringify(r) + '\n');
  } else if (/^table\s/.test(format)) {
    // `table` directive: a header row (each field's column name) and aligned columns, as Docker prints them.
    const template = format.replace(/^table\s+/, '');
    const names = Object.fromEntries(keys.map((k, i) => [k, headers[i]!]));
    const headerRow = new Proxy(names, { get: (t, k: string) => t[k] ?? k.toUpperCase(), has: () => true });
    const rows = [render(template, headerRow), ...records.map((r) => render(template, r))].map((l) => l.split('\t'));
    process.stdout.write(table(rows[0]!, rows.slice(1)));
  } else {
    for (const r of records) process.stdout.write(render(format, r) + '\n');
  }
}

/** --format and -f: Go's text/template (see template.ts). */
export const renderTemplate = render;
