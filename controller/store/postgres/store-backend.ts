import type pg from 'pg';
import { describeZodError } from '../../../shared/protocol.js';
import { SLICED, StoreLoadError, type StoreBackend, type Touched } from '../backend.js';
import { CoalescedWrites } from '../coalesced-writes.js';
import { STORE_VERSION, StoreData, emptyStore } from '../schema.js';
import { droppedFields, unknownFieldsProblem } from '../unknown-fields.js';
import type { PgDatabase } from './database.js';
import { TABLES, assemble, rowAt, rowsOf, tableOf, type TableLayout } from './tables.js';

export interface PgStoreOptions {
  /** Quiet time before a write after the last change; a burst of changes makes one write. */
  debounceMs?: number;
  /** Called after each write with its duration (for metrics). */
  onWrite?: (ms: number, bytes: number) => void;
  /** Called when a write fails (database gone…); the data stays in memory and is written again later. */
  onWriteError?: (err: Error) => void;
  /** `--new-store`: refused here (it is about the data directory's files). */
  newStore?: boolean;
}

/** One table's part of a write: rows to insert or replace (key, JSON text) and keys to delete. */
interface TableChange {
  layout: TableLayout;
  upserts: Array<[string, string]>;
  deletes: string[];
}

/**
 * The store in PostgreSQL (tables.ts): loaded whole at open, then each write is one transaction
 * holding the rows that differ from what was last written. A write compares the records of the
 * small tables every time, and of `nodes` and `agents` only those changes named (`Touched`); a
 * change that names none, or a failed write, makes the next write compare every record.
 *
 * A write takes the records as they are when it begins (serialized at once, before the first
 * await), so what is committed is one moment of the data.
 */
export class PgStoreBackend implements StoreBackend {
  readonly setAside: readonly string[] = [];
  private data: StoreData = emptyStore();
  /** What each row holds in the database, as this process last wrote or loaded it: table → key → JSON text. */
  private readonly written = new Map<string, Map<string, string>>(TABLES.map((t) => [t.table, new Map()]));
  /** The records of `nodes` and `agents` changed since the last write began; `all`: compare every record. */
  private dirty: { all: boolean; keys: Map<string, Set<string>> } = { all: false, keys: new Map(SLICED.map((n) => [n, new Set()])) };
  private readonly writer: CoalescedWrites;

  constructor(
    private readonly db: PgDatabase,
    private readonly opts: PgStoreOptions = {},
  ) {
    this.writer = new CoalescedWrites({
      name: 'store',
      where: db.where,
      write: () => this.write(),
      debounceMs: opts.debounceMs ?? 200,
      afterWrite: (ms) => opts.onWrite?.(ms, 0),
      onWriteError: opts.onWriteError,
    });
  }

  get where(): string {
    return this.db.where;
  }

  async load(): Promise<StoreData> {
    if (this.opts.newStore) throw new StoreLoadError(`--new-store starts afresh over the data directory's store.json; the store is ${this.where}: an empty database is a new cluster`);
    const rows = new Map<string, Array<[string, unknown]>>();
    let any = false;
    for (const t of TABLES) {
      const r = await this.db.query<{ key: string; record: unknown }>(`SELECT key, record FROM ${t.table} ORDER BY key`);
      rows.set(t.table, r.rows.map((row) => [row.key, row.record]));
      any ||= r.rows.length > 0;
    }
    if (!any) return this.data; // an empty database: a new store, written at its first change
    this.data = this.validate(assemble(rows));
    for (const t of TABLES) this.written.set(t.table, new Map([...rowsOf(t, this.data)].map(([k, v]) => [k, JSON.stringify(v)])));
    return this.data;
  }

  /** The data the rows make, validated; a row that does not fit is refused naming its table and key. */
  private validate(raw: Record<string, unknown>): StoreData {
    const refuse = (where: { row: string; field: string }, problem: string) => new StoreLoadError(`store ${this.where}: ${where.row}${where.field ? `, field ${where.field}` : ''}: ${problem}`);
    const version = raw.version;
    if (typeof version === 'number' && version > STORE_VERSION) throw new StoreLoadError(`store ${this.where} holds store version ${version}, written by a newer muster; this one reads version ${STORE_VERSION} at most. Upgrade muster`);
    const parsed = StoreData.safeParse(raw);
    if (!parsed.success) {
      const [issue, ...more] = parsed.error.issues;
      throw refuse(rowAt(issue!.path), `${issue!.message}${more.length > 0 ? ` (and ${more.length} more problems: ${describeZodError(parsed.error)})` : ''}`);
    }
    const unknown = droppedFields(raw, parsed.data, '');
    // The fields' paths name them: the row only.
    if (unknown.length > 0) throw refuse({ row: rowAt(unknown[0]!.split(/\.|(?=\[)/).map((s) => s.replace(/^\[(\d+)\]$/, '$1'))).row, field: '' }, unknownFieldsProblem(unknown));
    return parsed.data;
  }

  beforeChange(touched?: Touched): void {
    if (!touched) this.dirty.all = true;
    else for (const name of SLICED) for (const key of touched[name] ?? []) if (key != null) this.dirty.keys.get(name)!.add(key);
  }

  changed(): void {
    this.writer.changed();
  }

  get writes(): number {
    return this.writer.writes;
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  get error(): Error | null {
    return this.writer.error;
  }

  /** Writes every record that differs, the state machine's live runtime objects included. */
  async close(): Promise<void> {
    this.dirty.all = true;
    this.writer.changed();
    await this.writer.flush();
  }

  /** Writes the rows that changed in one transaction; resolves with the time spent comparing them. */
  private async write(): Promise<number> {
    const started = performance.now();
    const changes = this.changes();
    const ms = performance.now() - started;
    if (changes.length === 0) return ms;
    try {
      await this.db.transaction(async (c) => {
        for (const change of changes) await writeTable(c, change);
      });
    } catch (err) {
      // What the database holds is unknown: compare everything next time.
      this.dirty.all = true;
      throw err;
    }
    for (const { layout, upserts, deletes } of changes) {
      const rows = this.written.get(layout.table)!;
      for (const [k, text] of upserts) rows.set(k, text);
      for (const k of deletes) rows.delete(k);
    }
    return ms;
  }

  /** What differs from the rows last written: every record of the small tables, the named ones of `nodes` and `agents`. */
  private changes(): TableChange[] {
    const { all, keys } = this.dirty;
    this.dirty = { all: false, keys: new Map(SLICED.map((n) => [n, new Set()])) };
    const sliced = new Map(SLICED.map((n) => [tableOf(n), n]));
    const out: TableChange[] = [];
    for (const layout of TABLES) {
      const name = sliced.get(layout);
      const written = this.written.get(layout.table)!;
      const change: TableChange = { layout, upserts: [], deletes: [] };
      if (name !== undefined && !all) {
        const map = this.data[name] as Record<string, unknown>;
        for (const k of keys.get(name)!) compare(change, written, k, Object.hasOwn(map, k) ? map[k] : undefined);
      } else {
        const rows = rowsOf(layout, this.data);
        for (const [k, v] of rows) compare(change, written, k, v);
        for (const k of written.keys()) if (!rows.has(k)) change.deletes.push(k);
      }
      if (change.upserts.length > 0 || change.deletes.length > 0) out.push(change);
    }
    return out;
  }
}

/** Adds `key` to the change when its record (undefined: gone) differs from what was written. */
function compare(change: TableChange, written: ReadonlyMap<string, string>, key: string, record: unknown): void {
  const text = record === undefined ? undefined : JSON.stringify(record);
  if (text === written.get(key)) return;
  if (text === undefined) change.deletes.push(key);
  else change.upserts.push([key, text]);
}

async function writeTable(c: pg.PoolClient, { layout, upserts, deletes }: TableChange): Promise<void> {
  const t = layout.table;
  try {
    if (deletes.length > 0) await c.query(`DELETE FROM ${t} WHERE key = ANY($1::text[])`, [deletes]);
    if (upserts.length > 0) {
      await c.query(`INSERT INTO ${t} (key, record) SELECT * FROM unnest($1::text[], $2::json[]) ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record`, [upserts.map((u) => u[0]), upserts.map((u) => u[1])]);
    }
  } catch (err) {
    throw new Error(`table ${t}: ${(err as Error).message}`);
  }
}
