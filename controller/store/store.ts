import { mkdir } from 'node:fs/promises';
import type { RemoteChange, StoreBackend, Touched } from './backend.js';
import { FileStoreBackend, type FileStoreOptions } from './file-backend.js';
import type { PgDatabase } from './postgres/database.js';
import { PgStoreBackend, type PgStoreOptions } from './postgres/store-backend.js';
import type { StoreData } from './schema.js';

export { StoreLoadError, type RemoteChange, type Touched } from './backend.js';

export interface StoreOptions extends FileStoreOptions, Pick<PgStoreOptions, 'ownsRuntime' | 'onFeedError' | 'onRefusedRow'> {
  /** Keep the data in this PostgreSQL database instead of DATA/store.json (config `store:`). */
  database?: PgDatabase;
}

/**
 * The controller's mappings (nodes, agents, users, tokens, hwlog, switches, BIOS settings…), held
 * in memory and read synchronously; a backend (backend.ts) loads them at open and writes what
 * changes, coalesced: the data directory's store.json (the default) or PostgreSQL. Changes are
 * made with `change()`; `flush()` resolves when everything changed before the call is written.
 */
export class Store {
  private constructor(
    /** The data directory (the first admin's password file, console logs…), whichever backend holds the store. */
    readonly dir: string,
    private readonly backend: StoreBackend,
    readonly data: StoreData,
  ) {}

  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const backend = opts.database ? new PgStoreBackend(opts.database, opts) : new FileStoreBackend(dir, opts);
    return new Store(dir, backend, await backend.load());
  }

  /** What holds the data, for messages: store.json's path, or the database URL with its password masked. */
  get where(): string {
    return this.backend.where;
  }

  /** Files `--new-store` renamed aside at open. */
  get setAside(): readonly string[] {
    return this.backend.setAside;
  }

  /**
   * Mutate the data in memory; the write follows, coalesced. Change the data only here: a write
   * in progress must not take in a later change. `touched` names every record of `nodes` and
   * `agents` that `fn` creates, changes or deletes; with the file, those a write in progress has
   * not reached yet are serialized first, as they are (other fields are serialized when a write
   * begins, so `{}` declares a change to them only); with PostgreSQL, they are the rows of those
   * tables the next write compares. Without `touched`, the file serializes the rest of a write in
   * progress at once, holding the event loop as one big stringify did, and PostgreSQL's next write
   * compares every record: fine on rare paths (admin verbs), not per hello. A record `fn` touches
   * but `touched` leaves out would slip past both, silently: read the closure and its helpers
   * before declaring.
   */
  change<R>(fn: (data: StoreData) => R, touched?: Touched): R {
    this.backend.beforeChange(touched);
    const r = fn(this.data);
    this.backend.changed();
    return r;
  }

  /**
   * Told of the records other controllers changed (PostgreSQL: the change feed), after they were
   * applied to `data`; never with the file, which no other controller writes.
   */
  onRemoteChange(listener: (changes: readonly RemoteChange[]) => void): void {
    this.backend.onRemoteChange?.(listener);
  }

  /** Successful writes so far. */
  get writes(): number {
    return this.backend.writes;
  }

  /** Resolves when every change made before the call is written; rejects if that write failed. */
  flush(): Promise<void> {
    return this.backend.flush();
  }

  /** The last write error, if the latest write failed (disk full, database gone); null once one succeeds. */
  get error(): Error | null {
    return this.backend.error;
  }

  async close(): Promise<void> {
    await this.backend.close();
  }
}
