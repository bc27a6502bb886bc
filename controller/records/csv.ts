/**
 * CSV (RFC 4180) as spreadsheets write it: `,` between cells, `"` around cells holding `,`, `"` or
 * line breaks, `""` for a quote inside. Each row keeps the line it starts on, for error messages.
 */

export interface CsvRow {
  /** 1-based line where the row starts. */
  line: number;
  cells: string[];
}

export function parseCsv(text: string): { rows: CsvRow[]; errors: Array<{ line: number; message: string }> } {
  const rows: CsvRow[] = [];
  const errors: Array<{ line: number; message: string }> = [];
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // spreadsheets' UTF-8 BOM
  let line = 1;
  let rowLine = 1;
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let quoteLine = 0;
  const endRow = () => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0]!.trim() === '')) rows.push({ line: rowLine, cells });
    cells = [];
    cell = '';
  };
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (quoted) {
      if (c === '"' && src[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
        const next = src[i + 1];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') errors.push({ line, message: `text after a closing quote (a quote inside a cell is written "")` });
      } else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"' && cell === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      cell += c;
    }
  }
  if (quoted) errors.push({ line: quoteLine, message: 'a quoted cell is never closed (missing ")' });
  else if (cell !== '' || cells.length) endRow();
  return { rows, errors };
}

export function formatCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((r) => r.map(quote).join(',')).join('\n') + '\n';
}

function quote(cell: string): string {
  return /[",\r\n]/.test(cell) || cell !== cell.trim() ? `"${cell.replace(/"/g, '""')}"` : cell;
}
