import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeZodError } from '../../shared/protocol.js';
import { JsonFile } from './json-file.js';
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
 * The controller's mappings in one JSON file. Changes are made in memory with `change()` and
 * written coalesced and in slices by a `JsonFile` (see there): one write in flight at a time,
 * each the data as it was when it began; `change()` keeps the records it touches out of a write
 * in progress. `flush()` resolves when everything changed before the call is on disk.
 *
 * One exception: a node's `runtime` is the state machine's live object (StateManager.persist), which
 * the machine changes in place without `change()`. A write takes it as it is when its slice reaches
 * the node, so it may be a few ms newer than the rest of the file. That is fine: the file is only
 * ever behind the machine (a crash loses the runtime updates since the last write anyway).
 */
export class Store {
  readonly path: string;
  readonly backupPath: string;
  private readonly file: JsonFile<StoreData>;
  private current: StoreData = emptyStore();

  private constructor(readonly dir: string, opts: StoreOptions) {
    this.path = join(dir, 'store.json');
    this.backupPath = join(dir, 'store.json.bak');
    this.file = new JsonFile(this.path, () => this.current, {
      name: 'store',
      debounceMs: opts.debounceMs ?? 200,
      sliced: SLICED,
      slice: { ms: opts.sliceMs ?? 4, records: opts.sliceRecords ?? 1000 },
      afterWrite: async (ms, writes) => {
        // A new data directory has no last good copy until its first write: make one.
        if (writes === 1 && !(await exists(this.backupPath))) await copyFile(this.path, this.backupPath).catch(() => {});
        opts.onWrite?.(ms, 0);
      },
      onWriteError: opts.onWriteError,
    });
  }

  static async open(dir: string, opts: StoreOptions = {}): Promise<Store> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new Store(dir, opts);
    await store.load();
    return store;
  }

  get data(): StoreData {
    return this.current;
  }

  /** Successful writes so far. */
  get writes(): number {
    return this.file.writes;
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
    this.current = parsed.data;
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
    this.file.beforeChange(touched);
    const r = fn(this.current);
    this.file.changed();
    return r;
  }

  /** Resolves when every change made before the call is on disk; rejects if that write failed. */
  flush(): Promise<void> {
    return this.file.flush();
  }

  /** The last write error, if the latest write failed (e.g. disk full); null once one succeeds. */
  get error(): Error | null {
    return this.file.error;
  }

  async close(): Promise<void> {
    await this.flush();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
