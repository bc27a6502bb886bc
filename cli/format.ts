/** Plain-text tables and state colours for the CLI (colour only on a terminal, xCAT/Slurm style). */

const COLORS: Record<string, string> = {
  run: '32', alive: '32', online: '32', on: '32',
  kernel: '36', init: '36', build: '35',
  suspect: '33', unknown: '90', off: '90',
  dead: '31', offline: '31',
};

export function colorize(value: string, enabled: boolean): string {
  const c = COLORS[value];
  return enabled && c ? `\u001b[${c}m${value}\u001b[0m` : value;
}

/** Columns padded to the widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][], opts: { color?: boolean } = {}): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[], paint: boolean) =>
    cells
      .map((c, i) => {
        const shown = paint ? colorize(c, !!opts.color) : c;
        return i === cells.length - 1 ? shown : shown + ' '.repeat(widths[i]! - c.length);
      })
      .join('  ')
      .trimEnd();
  return [line(headers, false), ...rows.map((r) => line(r, true))].join('\n');
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
