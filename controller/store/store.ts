import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { MusterError } from '../../shared/errors.js';
import { describeZodError } from '../../shared/protocol.js';
import { SlicedJsonFile } from './atomic-file.js';
import { STORE_VERSION, StoreData, emptyStore } from './schema.js';

export class StoreLoadError extends Error {}

export interface StoreOptions {
  /** Quiet time before a write after the last change; a burst of changes makes one write. */
  debounceMs?: number;
  /** Called after each write with its duration (for metrics). */
  onWrite?: (ms: number, bytes: number) => void;
  /** Called when a write fails (disk full…); the data stays in memory and is written again later. */
  onWriteError?: (err: Error) => void;
  /** A write serializes the records in slices of at most this long (ms, default 4)… */
  sliceMs?: number;
  /** …or this many records (default 1,000), whichever comes first; the event loop runs between slices. */
  sliceRecords?: number;
}

/** The big maps, written in slices; every other field is small and serialized when a write begins. */
const SLICED = ['nodes', 'agents'] as const;

/**
 * The records of `nodes` and `agents` a change creates, changes or deletes (null entries are
 * ignored, so a call site can name an optional record directly).
 */
export type Touched = Partial<Record<(typeof SLICED)[number], ReadonlyArray<string | null | undefined>>>;

/**
 * The controller's mappings in one JSON file, through lowdb. Changes are made in memory with
 * `change()` and written coalesced: one write in flight at a time, the next one collecting all
 * changes made meanwhile (a burst of 1,000 hellos is a handful of writes, not 1,000). `flush()`
 * resolves when everything changed before the call is on disk.
 *
 * A write is the data as it was when the write began, though it is serialized in slices with the
 * event loop running between them (one JSON.stringify of a 10,000-node store, 20 MB, held the loop
 * ~140 ms): `change()` keeps the records it touches out of a write in progress (see there).
 *
 * One exception: a node's `runtime` is the state machine's live object (StateManager.persist), which
 * the machine changes in place without `change()`. A write takes it as it is when its slice reaches
 * the node, so it may be a few ms newer than the rest of the file. That is fine: the file is only
 * ever behind the machine (a crash loses the runtime updates since the last write anyway).
 */
export class Store {
  readonly path: string;
  readonly backupPath: string;
  private readonly file: SlicedJsonFile<StoreData>;
  private readonly db: Low<StoreData>;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private lastError: Error | null = null;
  writes = 0;

  private constructor(readonly dir: string, private readonly opts: StoreOptions) {
    this.path = join(dir, 'store.json');
    this.backupPath = join(dir, 'store.json.bak');
    this.file = new SlicedJsonFile(this.path, SLICED, { ms: opts.sliceMs ?? 4, records: opts.sliceRecords ?? 1000 });
    this.db = new Low(this.file, emptyStore());
  }

  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new Store(dir, opts);
    await store.load();
    return store;
  }

  get data(): StoreData {
    return this.db.data;
  }

  private async load(): Promise<void> {
    const hint = (await exists(this.backupPath)) ? ` The last good copy is ${this.backupPath}: check it, then copy it over ${this.path} to recover.` : '';
    let raw: unknown;
    try {
      raw = await this.file.read();
    } catch (err) {
      throw new StoreLoadError(`store ${this.path} cannot be read: ${(err as Error).message}.${hint}`);
    }
    if (raw === null) return; // a new data directory: start empty
    const version = (raw as { version?: unknown }).version;
    if (typeof version === 'number' && version > STORE_VERSION) {
      throw new StoreLoadError(`store ${this.path} is version ${version}, written by a newer muster; this one reads version ${STORE_VERSION} at most. Upgrade muster, or start from a backup.${hint}`);
    }
    const parsed = StoreData.safeParse(raw);
    if (!parsed.success) throw new StoreLoadError(`store ${this.path} is invalid: ${describeZodError(parsed.error)}.${hint}`);
    this.db.data = parsed.data;
    // This file loaded and validated: it is the last good copy from now on.
    await copyFile(this.path, this.backupPath);
  }

  /**
   * Mutate the data in memory; the write to disk follows, coalesced. Change the data only here:
   * a write in progress must not take in a later change. `touched` names every record of `nodes`
   * and `agents` that `fn` creates, changes or deletes; those a write in progress has not reached
   * yet are serialized first, as they are (other fields are serialized when a write begins, so `{}`
   * declares a change to them only). Without `touched`, the rest of a write in progress is
   * serialized at once, holding the event loop as one big stringify did: fine on rare paths (admin
   * verbs), not per hello. A record `fn` touches but `touched` leaves out would put this change
   * into that write, silently: read the closure and its helpers before declaring.
   */
  change<R>(fn: (data: StoreData) => R, touched?: Touched): R {
    const writing = this.file.serializing;
    if (writing) {
      if (!touched) writing.finish();
      else for (const name of SLICED) writing.preserve(name, touched[name] ?? []);
    }
    const r = fn(this.db.data);
    this.markDirty();
    return r;
  }

  private markDirty(): void {
    this.dirty = true;
    if (!this.timer && !this.inFlight) this.schedule();
  }

  /** Resolves when every change made before the call is on disk; rejects if that write failed. */
  flush(): Promise<void> {
    if (!this.dirty && !this.inFlight) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (!this.inFlight) void this.writeNow();
    return p;
  }

  /** The last write error, if the latest write failed (e.g. disk full); null once one succeeds. */
  get error(): Error | null {
    return this.lastError;
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private schedule(): void {
    // A write serializes the store on the main thread (~140 ms at 10,000 nodes, 20 MB, now in slices
    // of a few ms): under churn, wait at least nine times as long as the slices took together, so
    // serializing never takes more than a tenth of the loop (a 10,000-agent storm in the full bench,
    // measured with one whole stringify per write: 19 writes; 24-25 when the wait was three times the
    // whole write, fsync included).
    const wait = Math.max(this.opts.debounceMs ?? 200, 9 * this.file.lastSerializeMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.writeNow();
    }, wait);
    this.timer.unref();
  }

  private async writeNow(): Promise<void> {
    const waiters = this.waiters;
    this.waiters = [];
    this.dirty = false;
    const started = performance.now();
    this.inFlight = this.db.write();
    try {
      await this.inFlight;
      this.writes++;
      this.lastError = null;
      // A new data directory has no last good copy until its first write: make one.
      // The store itself is on disk; without this backup, the next start's first write makes one.
      if (this.writes === 1 && !(await exists(this.backupPath))) await copyFile(this.path, this.backupPath).catch(() => {});
      this.opts.onWrite?.(performance.now() - started, 0);
      for (const w of waiters) w.resolve();
    } catch (err) {
      // Keep the data dirty so the next change (or flush) tries again; tell whoever waited.
      this.dirty = true;
      // The operator's to fix (disk full, permissions): the caller sees why, as it is.
      this.lastError = new MusterError(`store ${this.path}: write failed: ${(err as Error).message}`, 'store-write-failed');
      this.opts.onWriteError?.(this.lastError);
      for (const w of waiters) w.reject(this.lastError);
    } finally {
      this.inFlight = null;
    }
    if (this.waiters.length > 0) void this.writeNow();
    else if (this.dirty && !this.lastError) this.schedule();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
