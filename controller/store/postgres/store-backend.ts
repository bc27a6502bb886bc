import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { describeZodError } from '../../../shared/protocol.js';
import { SLICED, StoreLoadError, type RemoteChange, type StoreBackend, type Touched } from '../backend.js';
import { CoalescedWrites } from '../coalesced-writes.js';
import { STORE_VERSION, StoreData, emptyStore, type NodeDefinition } from '../schema.js';
import { droppedFields, unknownFieldsProblem } from '../unknown-fields.js';
import { ChangeFeed, STORE_CHANNEL, changeNotifications, type ChangedKeys } from './change-feed.js';
import type { PgDatabase } from './database.js';
import { TABLES, assemble, at, put, rowAt, rowsOf, tableOf, type TableLayout } from './tables.js';

/** After a failed read of other controllers' changes, everything is read again this much later. */
const REREAD_RETRY_MS = 1000;
/** The change feed's connection is taken for lost when a query on it gets no answer this long. */
const FEED_QUERY_TIMEOUT_MS = 5000;

export interface PgStoreOptions {
  /** Quiet time before a write after the last change; a burst of changes makes one write. */
  debounceMs?: number;
  /** Called after each write with its duration (for metrics). */
  onWrite?: (ms: number, bytes: number) => void;
  /** Called when a write fails (database gone…); the data stays in memory and is written again later. */
  onWriteError?: (err: Error) => void;
  /** `--new-store`: refused here (it is about the data directory's files). */
  newStore?: boolean;
  /**
   * The nodes whose `runtime` this controller writes (federation: those it owns). Another
   * controller's row of such a node keeps this one's runtime, written back when it differs; the
   * other nodes take the row's. Unset: every row is taken whole.
   */
  ownsRuntime?: (node: string) => boolean;
  /** The change feed's connection failed or was lost, or reading the changed rows failed: it is retried. */
  onFeedError?: (err: Error) => void;
  /** A row another controller wrote does not fit the schema: not applied; `problem` names its table and key. */
  onRefusedRow?: (problem: string) => void;
}

/** Keys named by notifications and not read yet; `all`: read every table (notifications were missed). */
interface Unread {
  all: boolean;
  keys: ChangedKeys;
}

/**
 * One table's part of a write: rows to insert or replace (key, JSON text), keys to delete, and
 * (nodes, federation) rows of which only the `runtime` changed: key, the record's whole text
 * (what this process then holds), the text of its runtime.
 */
interface TableChange {
  layout: TableLayout;
  upserts: Array<[string, string]>;
  deletes: string[];
  runtimes: Array<[string, string, string]>;
}

/**
 * The store in PostgreSQL (tables.ts): loaded whole at open, then each write is one transaction
 * holding the rows that differ from what was last written. A write compares the records of the
 * small tables every time, and of `nodes` and `agents` only those changes named (`Touched`); a
 * change that names none, or a failed write, makes the next write compare every record.
 *
 * A write takes the records as they are when it begins (serialized at once, before the first
 * await), so what is committed is one moment of the data.
 *
 * Several controllers share the database through the change feed (change-feed.ts): each write
 * names its rows in notifications, and the rows other controllers wrote are read again and
 * applied to the data and to what this one last wrote, so they are not written back. Writes and
 * those reads take turns: a read never sees the database before a write of this controller that
 * memory already holds.
 */
export class PgStoreBackend implements StoreBackend {
  readonly setAside: readonly string[] = [];
  private data: StoreData = emptyStore();
  /** What each row holds in the database, as this process last wrote or loaded it: table → key → JSON text. */
  private readonly written = new Map<string, Map<string, string>>(TABLES.map((t) => [t.table, new Map()]));
  /** The records of `nodes` and `agents` changed since the last write began; `all`: compare every record. */
  private dirty: { all: boolean; keys: Map<string, Set<string>> } = { all: false, keys: new Map(SLICED.map((n) => [n, new Set()])) };
  private readonly writer: CoalescedWrites;
  /** Names this process's writes in the change feed: its own notifications are skipped. */
  private readonly writerId = randomUUID();
  private feed: ChangeFeed | null = null;
  private loaded = false;
  private closed = false;
  /** Writes and reads of others' changes, one at a time. */
  private turn: Promise<unknown> = Promise.resolve();
  private unread: Unread = { all: false, keys: new Map() };
  private reading: Promise<void> | null = null;
  private rereadTimer: NodeJS.Timeout | null = null;
  private readonly remoteListeners: Array<(changes: readonly RemoteChange[]) => void> = [];

  constructor(
    private readonly db: PgDatabase,
    private readonly opts: PgStoreOptions = {},
  ) {
    this.writer = new CoalescedWrites({
      name: 'store',
      where: db.where,
      write: () => this.inTurn(() => this.write()),
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
    // Listening before the tables are read: a change committed meanwhile is read again after.
    this.feed = new ChangeFeed({
      connect: () => this.db.client(FEED_QUERY_TIMEOUT_MS),
      writer: this.writerId,
      onChanged: (keys) => this.remoteChanged(keys),
      onResync: () => this.remoteChanged(null),
      onError: (err) => this.opts.onFeedError?.(err),
    });
    await this.feed.start();
    try {
      await this.readAll();
    } catch (err) {
      await this.feed.stop();
      throw err;
    }
    this.loaded = true;
    this.remoteChanged(new Map());
    return this.data;
  }

  private async readAll(): Promise<void> {
    const rows = new Map<string, Array<[string, unknown]>>();
    let any = false;
    for (const t of TABLES) {
      const r = await this.db.query<{ key: string; record: unknown }>(`SELECT key, record FROM ${t.table} ORDER BY key`);
      rows.set(t.table, r.rows.map((row) => [row.key, row.record]));
      any ||= r.rows.length > 0;
    }
    if (!any) return; // an empty database: a new store, written at its first change
    this.data = this.validate(assemble(rows));
    for (const t of TABLES) this.written.set(t.table, new Map([...rowsOf(t, this.data)].map(([k, v]) => [k, JSON.stringify(v)])));
  }

  onRemoteChange(listener: (changes: readonly RemoteChange[]) => void): void {
    this.remoteListeners.push(listener);
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

  /** Writes every record that differs, the state machine's live runtime objects included, and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.rereadTimer) clearTimeout(this.rereadTimer);
    await this.feed?.stop();
    await this.reading;
    this.dirty.all = true;
    this.writer.changed();
    await this.writer.flush();
  }

  /** Runs `fn` once the writes and reads before it are done. */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.turn.then(fn, fn);
    this.turn = run.catch(() => {});
    return run;
  }

  /** Notifications named `keys` (null: notifications were missed, read everything): read them, one read at a time. */
  private remoteChanged(keys: ChangedKeys | null): void {
    if (keys === null) this.unread.all = true;
    for (const [table, named] of keys ?? []) {
      const set = this.unread.keys.get(table) ?? new Set<string>();
      for (const k of named) set.add(k);
      this.unread.keys.set(table, set);
    }
    if (this.loaded && !this.closed && !this.reading && (this.unread.all || this.unread.keys.size > 0)) this.reading = this.readUnread();
  }

  private async readUnread(): Promise<void> {
    while (!this.closed && (this.unread.all || this.unread.keys.size > 0)) {
      const unread = this.unread;
      this.unread = { all: false, keys: new Map() };
      let changes: RemoteChange[];
      try {
        changes = await this.inTurn(() => this.reread(unread));
      } catch (err) {
        this.opts.onFeedError?.(new Error(`store change feed: reading the changed rows failed: ${(err as Error).message}; reading everything again in ${REREAD_RETRY_MS} ms`));
        this.unread.all = true;
        this.rereadTimer = setTimeout(() => this.remoteChanged(new Map()), REREAD_RETRY_MS);
        this.rereadTimer.unref();
        break;
      }
      for (const listener of changes.length > 0 ? this.remoteListeners : []) {
        try {
          listener(changes);
        } catch (err) {
          this.opts.onFeedError?.(new Error(`store change feed: a listener failed: ${(err as Error).message}`));
        }
      }
    }
    this.reading = null;
  }

  /** Reads the rows `unread` names (a table whose rows are not a map of records: whole) and applies them. */
  private async reread({ all, keys }: Unread): Promise<RemoteChange[]> {
    const changes: RemoteChange[] = [];
    for (const layout of TABLES) {
      const named = keys.get(layout.table);
      if (!all && !named) continue;
      const byKey = !all && 'map' in layout;
      const sql = `SELECT key, record FROM ${layout.table}${byKey ? ' WHERE key = ANY($1::text[])' : ''}`;
      const r = await this.db.query<{ key: string; record: unknown }>(sql, byKey ? [[...named!]] : undefined);
      const rows = r.rows.map((row): [string, unknown] => [row.key, row.record]);
      changes.push(...this.apply(layout, rows, byKey ? named! : null));
    }
    return changes;
  }

  /**
   * Applies a table's rows as read (`named`: the keys asked for; null: the whole table) to the data
   * and to what was last written. Rows equal to what was last written are no change. A row that
   * does not fit is refused and left as this controller has it; a list or the settings change
   * only whole, so one bad row keeps the whole table.
   */
  private apply(layout: TableLayout, rows: Array<[string, unknown]>, named: ReadonlySet<string> | null): RemoteChange[] {
    const { table } = layout;
    const written = this.written.get(table)!;
    const { good, refused } = this.validRows(layout, rows);
    for (const problem of refused) this.opts.onRefusedRow?.(problem);
    const changes: RemoteChange[] = [];
    if (!('map' in layout)) {
      if (refused.length > 0) return changes;
      const texts = new Map([...good].map(([k, v]) => [k, JSON.stringify(v)]));
      for (const [k, text] of texts) if (written.get(k) !== text) changes.push({ table, key: k, change: written.has(k) ? 'changed' : 'created' });
      for (const k of written.keys()) if (!texts.has(k)) changes.push({ table, key: k, change: 'removed' });
      if (changes.length === 0) return changes;
      if ('list' in layout) put(this.data, layout.list, [...good.values()]);
      else for (const [k, v] of good) put(this.data, k.split('.'), v);
      this.written.set(table, texts);
      return changes;
    }
    const records = at(this.data, layout.map) as Record<string, unknown>;
    const keepRuntime = table === 'nodes' ? this.opts.ownsRuntime : undefined;
    const sliced = SLICED.find((n) => tableOf(n) === layout);
    for (const [k, record] of good) {
      const text = JSON.stringify(record);
      if (written.get(k) === text) continue;
      const existed = Object.hasOwn(records, k);
      // A change of this controller's not written yet (a binding made a moment ago) stays: the
      // row read predates it. It is written whole at the next write, with the owner's runtime.
      const pending = existed && sliced !== undefined && this.pending(sliced, k, records[k], written.get(k));
      written.set(k, text);
      changes.push({ table, key: k, change: existed ? 'changed' : 'created' });
      if (pending) {
        if (keepRuntime && !keepRuntime(k)) (records[k] as NodeDefinition).runtime = (record as NodeDefinition).runtime;
        this.writer.changed();
        continue;
      }
      if (existed && keepRuntime?.(k)) {
        (record as NodeDefinition).runtime = (records[k] as NodeDefinition).runtime;
        this.dirty.keys.get('nodes')!.add(k);
        this.writer.changed();
      }
      records[k] = record;
    }
    // Gone from the database: a key it held as last read or written (one not written yet is this controller's new record).
    const read = new Set(rows.map(([k]) => k));
    for (const k of [...(named ?? written.keys())]) {
      if (read.has(k) || !written.has(k)) continue;
      written.delete(k);
      if (!Object.hasOwn(records, k)) continue;
      delete records[k];
      changes.push({ table, key: k, change: 'removed' });
    }
    return changes;
  }

  /** Whether the record `key` of `name` holds a change of this process not written yet (a node's: of its definition). */
  private pending(name: (typeof SLICED)[number], key: string, record: unknown, lastWritten: string | undefined): boolean {
    if (lastWritten === undefined || (!this.dirty.all && !this.dirty.keys.get(name)!.has(key))) return false;
    // Of a node, a change of its definition: a runtime change alone gives way to the row read (the owner keeps its runtime below).
    if (name === 'nodes') return !sameApartFromRuntime(record as NodeDefinition, lastWritten);
    return JSON.stringify(record) !== lastWritten;
  }

  /** A table's rows validated as at load: the records of those that fit, and a problem naming each that does not. */
  private validRows(layout: TableLayout, rows: Array<[string, unknown]>): { good: Map<string, unknown>; refused: string[] } {
    const parsed = (subset: Array<[string, unknown]>) => {
      const data = this.validate({ version: this.data.version, ...assemble(new Map([[layout.table, subset]])) });
      // Only the rows read: the schema's defaults fill in the others.
      const keys = new Set(subset.map(([k]) => k));
      return [...rowsOf(layout, data)].filter(([k]) => keys.has(k));
    };
    try {
      return { good: new Map(parsed(rows)), refused: [] };
    } catch (err) {
      if (!(err instanceof StoreLoadError)) throw err;
    }
    const good = new Map<string, unknown>();
    const refused: string[] = [];
    for (const row of rows) {
      try {
        for (const [k, v] of parsed([row])) good.set(k, v);
      } catch (err) {
        if (!(err instanceof StoreLoadError)) throw err;
        refused.push(err.message);
      }
    }
    return { good, refused };
  }

  /** Writes the rows that changed in one transaction; resolves with the time spent comparing them. */
  private async write(): Promise<number> {
    const started = performance.now();
    const changes = this.changes();
    const ms = performance.now() - started;
    if (changes.length === 0) return ms;
    try {
      const named = new Map(changes.map(({ layout, upserts, deletes, runtimes }) => [layout.table, [...upserts.map(([k]) => k), ...runtimes.map(([k]) => k), ...deletes]]));
      await this.db.transaction(async (c) => {
        for (const change of changes) await writeTable(c, change);
        // Delivered at the commit, to every controller listening.
        await c.query(`SELECT pg_notify('${STORE_CHANNEL}', p) FROM unnest($1::text[]) AS p`, [changeNotifications(this.writerId, named)]);
      });
    } catch (err) {
      // What the database holds is unknown: compare everything next time.
      this.dirty.all = true;
      throw err;
    }
    for (const { layout, upserts, deletes, runtimes } of changes) {
      const rows = this.written.get(layout.table)!;
      for (const [k, text] of [...upserts, ...runtimes]) rows.set(k, text);
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
      const change: TableChange = { layout, upserts: [], deletes: [], runtimes: [] };
      // Federation: a node whose definition is as last written gets its runtime written alone, by
      // whichever controller, owner or not (one fenced mid-write still has the change in hand).
      const runtimeOnly = layout.table === 'nodes' && this.opts.ownsRuntime !== undefined;
      // Adds `key` to the change when its record (undefined: gone) differs from what was written.
      const compare = (key: string, record: unknown) => {
        const text = record === undefined ? undefined : JSON.stringify(record);
        const before = written.get(key);
        if (text === before) return;
        if (text === undefined) change.deletes.push(key);
        else if (before !== undefined && runtimeOnly && (record as NodeDefinition).runtime !== undefined && sameApartFromRuntime(record as NodeDefinition, before)) {
          change.runtimes.push([key, text, JSON.stringify((record as NodeDefinition).runtime)]);
        }
        else change.upserts.push([key, text]);
      };
      if (name !== undefined && !all) {
        const map = this.data[name] as Record<string, unknown>;
        for (const k of keys.get(name)!) compare(k, Object.hasOwn(map, k) ? map[k] : undefined);
      } else {
        const rows = rowsOf(layout, this.data);
        for (const [k, v] of rows) compare(k, v);
        for (const k of written.keys()) if (!rows.has(k)) change.deletes.push(k);
      }
      if (change.upserts.length > 0 || change.deletes.length > 0 || change.runtimes.length > 0) out.push(change);
    }
    return out;
  }
}

/**
 * Whether a node's record differs from the text last written only in its `runtime`. Such a change
 * (federation) is written as the runtime alone: a whole row would put back this process's copy of
 * the definition over a binding or `set` another controller committed meanwhile.
 * A record whose fields merely moved order counts as different (a whole write, as before).
 */
function sameApartFromRuntime(record: NodeDefinition, writtenText: string): boolean {
  const { runtime: _now, ...definition } = record;
  const { runtime: _then, ...before } = JSON.parse(writtenText) as NodeDefinition;
  return JSON.stringify(definition) === JSON.stringify(before);
}

async function writeTable(c: pg.PoolClient, { layout, upserts, deletes, runtimes }: TableChange): Promise<void> {
  const t = layout.table;
  try {
    if (deletes.length > 0) await c.query(`DELETE FROM ${t} WHERE key = ANY($1::text[])`, [deletes]);
    if (upserts.length > 0) {
      await c.query(`INSERT INTO ${t} (key, record) SELECT * FROM unnest($1::text[], $2::json[]) ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record`, [upserts.map((u) => u[0]), upserts.map((u) => u[1])]);
    }
    if (runtimes.length > 0) {
      // The runtime field alone, inside the row as it is now (another controller's definition change kept).
      await c.query(`UPDATE ${t} AS r SET record = jsonb_set(r.record::jsonb, '{runtime}', u.runtime)::json FROM unnest($1::text[], $2::jsonb[]) AS u(key, runtime) WHERE r.key = u.key`, [runtimes.map((u) => u[0]), runtimes.map((u) => u[2])]);
    }
  } catch (err) {
    throw new Error(`table ${t}: ${(err as Error).message}`);
  }
}
