import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { describeZodError } from '../../shared/protocol.js';
import { AtomicJsonFile } from './atomic-file.js';
import { STORE_VERSION, StoreData, emptyStore } from './schema.js';

export class StoreLoadError extends Error {}

export interface StoreOptions {
  /** Quiet time before a write after the last change; a burst of changes makes one write. */
  debounceMs?: number;
  /** Called after each write with its duration (for metrics). */
  onWrite?: (ms: number, bytes: number) => void;
  /** Called when a write fails (disk full…); the data stays in memory and is written again later. */
  onWriteError?: (err: Error) => void;
}

/**
 * The controller's mappings in one JSON file, through lowdb. Changes are made in memory with
 * `change()` and written coalesced: one write in flight at a time, the next one collecting all
 * changes made meanwhile (a burst of 1,000 hellos is a handful of writes, not 1,000).
 * `flush()` resolves when everything changed before the call is on disk.
 */
export class Store {
  readonly path: string;
  readonly backupPath: string;
  private readonly db: Low<StoreData>;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private lastError: Error | null = null;
  /** How long the last write held the event loop turning the whole store into JSON. */
  private lastSerializeMs = 0;
  writes = 0;

  private constructor(readonly dir: string, private readonly opts: StoreOptions) {
    this.path = join(dir, 'store.json');
    this.backupPath = join(dir, 'store.json.bak');
    this.db = new Low(
      new AtomicJsonFile<StoreData>(this.path, (data) => {
        const started = performance.now();
        const json = JSON.stringify(data);
        this.lastSerializeMs = performance.now() - started;
        return json;
      }),
      emptyStore(),
    );
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
      raw = await this.db.adapter.read();
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

  /** Mutate the data in memory; the write to disk follows, coalesced. */
  change<R>(fn: (data: StoreData) => R): R {
    const r = fn(this.db.data);
    this.markDirty();
    return r;
  }

  markDirty(): void {
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
    // Writes stringify the whole store on the main thread (~140 ms at 10,000 nodes, 20 MB): under churn,
    // wait at least nine times as long as that took, so serializing never takes more than a tenth
    // of the loop (a 10,000-agent storm in the full bench:
    // 19 writes; 24-25 when the wait was three times the whole write, fsync included).
    const wait = Math.max(this.opts.debounceMs ?? 200, 9 * this.lastSerializeMs);
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
      if (this.writes === 1 && !(await exists(this.backupPath))) await copyFile(this.path, this.backupPath).catch(() => {});
      this.opts.onWrite?.(performance.now() - started, 0);
      for (const w of waiters) w.resolve();
    } catch (err) {
      // Keep the data dirty so the next change (or flush) tries again; tell whoever waited.
      this.dirty = true;
      this.lastError = new Error(`store ${this.path}: write failed: ${(err as Error).message}`);
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
