/**
 * How `StoreData` is kept in PostgreSQL: each part of it in a table of (key, record) rows. Pure:
 * rows out of the data, the data (unvalidated) out of rows, and a place in the data named as its
 * table and key. Every store table has that one shape (migrations.ts), so one writer serves all.
 */

/**
 * A map of records by key (`nodes`), a list of records by position (`agentTokens`), or single
 * values by their dotted path (`hwlog.nextId`) in the `settings` table.
 */
export type TableLayout = { table: string; map: readonly string[] } | { table: string; list: readonly string[] } | { table: string; values: ReadonlyArray<readonly string[]> };

export const TABLES: readonly TableLayout[] = [
  { table: 'nodes', map: ['nodes'] },
  { table: 'agents', map: ['agents'] },
  { table: 'users', map: ['users'] },
  { table: 'agent_tokens', list: ['agentTokens'] },
  { table: 'switches', map: ['switches'] },
  { table: 'switch_ports', list: ['switchPorts'] },
  { table: 'hwlog_issues', list: ['hwlog', 'issues'] },
  { table: 'bios_desired_groups', map: ['bios', 'desired', 'groups'] },
  { table: 'bios_desired_nodes', map: ['bios', 'desired', 'nodes'] },
  { table: 'bios_reported', map: ['bios', 'reported'] },
  { table: 'settings', values: [['version'], ['naming'], ['hwlog', 'nextId'], ['extra']] },
];

/** The table that holds `StoreData[name]` for the big maps written per record (`nodes`, `agents`). */
export function tableOf(name: string): TableLayout {
  const t = TABLES.find((l) => 'map' in l && l.map.length === 1 && l.map[0] === name);
  if (!t) throw new Error(`no table holds ${name}`);
  return t;
}

/** The value at `path` in `data` (undefined where there is none). */
export function at(data: unknown, path: readonly string[]): unknown {
  let v = data;
  for (const k of path) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[k];
  return v;
}

/** Sets the value at `path` in `data`, making the objects on the way. */
export function put(data: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let o = data;
  for (const k of path.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[path[path.length - 1]!] = value;
}

/** The table's rows for `data`: key → record. */
export function rowsOf(layout: TableLayout, data: object): Map<string, unknown> {
  const rows = new Map<string, unknown>();
  if ('values' in layout) {
    for (const path of layout.values) {
      const v = at(data, path);
      if (v !== undefined) rows.set(path.join('.'), v);
    }
  } else if ('map' in layout) {
    for (const [k, v] of Object.entries((at(data, layout.map) ?? {}) as Record<string, unknown>)) rows.set(k, v);
  } else {
    ((at(data, layout.list) ?? []) as unknown[]).forEach((v, i) => rows.set(String(i), v));
  }
  return rows;
}

/** The store's raw data (to validate) out of every table's rows. */
export function assemble(rows: ReadonlyMap<string, ReadonlyArray<readonly [string, unknown]>>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const layout of TABLES) {
    const found = rows.get(layout.table) ?? [];
    if ('values' in layout) {
      for (const [k, v] of found) put(data, k.split('.'), v);
    } else if ('map' in layout) {
      if (found.length > 0) put(data, layout.map, Object.fromEntries(found));
    } else if (found.length > 0) {
      put(data, layout.list, [...found].sort((a, b) => Number(a[0]) - Number(b[0])).map(([, v]) => v));
    }
  }
  return data;
}

/** Where a place in the data (a validation error's path) is kept: `table nodes, key n001` and the field in the record. */
export function rowAt(path: ReadonlyArray<PropertyKey>): { row: string; field: string } {
  const names = path.map(String);
  for (const layout of TABLES) {
    if ('values' in layout) {
      const p = layout.values.find((v) => v.every((k, i) => names[i] === k));
      if (p) return { row: `table ${layout.table}, key ${p.join('.')}`, field: names.slice(p.length).join('.') };
      continue;
    }
    const prefix = 'map' in layout ? layout.map : layout.list;
    if (names.length > prefix.length && prefix.every((k, i) => names[i] === k)) return { row: `table ${layout.table}, key ${names[prefix.length]}`, field: names.slice(prefix.length + 1).join('.') };
  }
  return { row: 'the store', field: names.join('.') };
}
