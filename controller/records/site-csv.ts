/**
 * The CSV form of a site file: the node table a site keeps in a spreadsheet, one row per node.
 * The first row names the columns: `name` (or `node`), then any of the node fields (groups, macs,
 * serial, uuid, ib, switch, power, console, image, tags) and `attr.NAME` columns. A list cell holds
 * comma-separated values (quoted). An empty cell clears the field; a column that is not there
 * leaves the field as it is. Rows starting with `#` are comments.
 */
import { parseCsv } from './csv.js';
import type { SiteProblem } from '../../shared/verbs/results.js';
import { NODE_FIELDS, emptySiteFile, type SiteFile } from './site-file.js';

const ATTR_COLUMN = /^attr\.[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const FIELD_COLUMNS: ReadonlySet<string> = new Set([...NODE_FIELDS, 'mac']);

export function parseCsvSite(text: string): { file: SiteFile; problems: SiteProblem[] } {
  const file = emptySiteFile();
  const { rows, errors } = parseCsv(text);
  const problems: SiteProblem[] = errors.map((e) => ({ line: e.line, message: `CSV: ${e.message}` }));
  const data = rows.filter((r) => !r.cells[0]?.trim().startsWith('#'));
  const header = data.shift();
  if (!header) {
    problems.push({ line: null, message: 'the CSV file has no header row (name,groups,macs,power,console,…)' });
    return { file, problems };
  }
  const headerProblems = problems.length;
  const columns = header.cells.map((c) => c.trim());
  const nameColumn = columns.findIndex((c) => c === 'name' || c === 'node');
  if (nameColumn < 0) problems.push({ line: header.line, message: 'the header needs a "name" column' });
  columns.forEach((c, i) => {
    if (i === nameColumn) return;
    if (!FIELD_COLUMNS.has(c) && !ATTR_COLUMN.test(c)) problems.push({ line: header.line, message: `unknown column "${c}" (known: name, ${NODE_FIELDS.join(', ')}, attr.NAME)` });
    if (columns.indexOf(c) !== i) problems.push({ line: header.line, message: `column "${c}" appears twice` });
  });
  // Rows cannot be read without a sound header.
  if (problems.length > headerProblems) return { file, problems };

  for (const row of data) {
    const cells = row.cells.map((c) => c.trim());
    if (cells.length > columns.length) {
      problems.push({ line: row.line, message: `${cells.length} cells, but the header has ${columns.length} columns (quote cells that hold ",")` });
      continue;
    }
    const name = cells[nameColumn] ?? '';
    if (name === '') {
      problems.push({ line: row.line, message: 'the name cell is empty' });
      continue;
    }
    const settings = cells.flatMap((value, i) => (i === nameColumn ? [] : [{ key: columns[i]!, value, line: row.line }]));
    file.nodes.push({ name, line: row.line, settings });
  }
  return { file, problems };
}
