import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { describeZodError } from '../../shared/protocol.js';
import { writeFileAtomic } from './atomic-file.js';
import { JsonFile } from './json-file.js';
import { STORE_VERSION, StoreData, emptyStore } from './schema.js';
import { droppedFields, unknownFieldsProblem } from './unknown-fields.js';

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
  /** The admin asked for a new, empty store (`muster controller --new-store`); see `startAfresh`. */
  newStore?: boolean;
  /** The journal beside the store: transitions in it show the directory held a cluster. */
  journalPath?: string;
  /** Called when the last good copy cannot be written (disk full…): start-up goes on, the old copy stays. */
  onBackupError?: (err: Error) => void;
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
  private readonly file: JsonFile<StoreData>;
  /** lowdb holds the data; its writes go through the coalescing, sliced `JsonFile` adapter. */
  private readonly db: Low<StoreData>;
  /** Files `--new-store` renamed aside at open. */
  readonly setAside: string[] = [];

  private constructor(readonly dir: string, private readonly opts: StoreOptions) {
    this.path = join(dir, 'store.json');
    this.backupPath = join(dir, 'store.json.bak');
    this.file = new JsonFile(this.path, () => this.db.data, {
      name: 'store',
      debounceMs: opts.debounceMs ?? 200,
      sliced: SLICED,
      slice: { ms: opts.sliceMs ?? 4, records: opts.sliceRecords ?? 1000 },
      afterWrite: async (ms, writes) => {
        // A new data directory has no last good copy until its first write: make one.
        if (writes === 1 && !(await exists(this.backupPath))) await this.backup(readFile(this.path));
        opts.onWrite?.(ms, 0);
      },
      onWriteError: opts.onWriteError,
    });
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
    const found = await this.read();
    if (this.opts.newStore) return this.startAfresh(found);
    if (found === null) {
      const earlier = await this.earlierStore();
      if (earlier === null) return; // a new data directory: start empty
      throw new StoreLoadError(`store ${this.path} is missing, but ${earlier}: muster does not start a new, empty cluster over it.${await this.recovery(false)}`);
    }
    if ('problem' in found) throw new StoreLoadError(`store ${this.path} ${found.problem}.${await this.recovery(true)}`);
    this.db.data = found.data;
    // This file loaded and validated: it is the last good copy from now on.
    await this.backup(found.text);
  }

  /** The store file: its data, or why it cannot be loaded, or null when there is no file. */
  private async read(): Promise<{ data: StoreData; text: string } | { problem: string } | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      return { problem: `cannot be read: ${(err as Error).message}` };
    }
    if (text.trim() === '') return { problem: 'is empty' };
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return { problem: `is not valid JSON (${(err as Error).message})` };
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: `holds ${raw === null ? 'null' : Array.isArray(raw) ? 'a list' : `a ${typeof raw}`}, not a store (an object with version, nodes, agents…)` };
    const version = (raw as { version?: unknown }).version;
    if (typeof version === 'number' && version > STORE_VERSION) {
      return { problem: `is version ${version}, written by a newer muster; this one reads version ${STORE_VERSION} at most. Upgrade muster, or start from a backup` };
    }
    const parsed = StoreData.safeParse(raw);
    if (!parsed.success) return { problem: `is invalid: ${describeZodError(parsed.error)}` };
    const unknown = droppedFields(raw, parsed.data, '');
    if (unknown.length > 0) return { problem: unknownFieldsProblem(unknown) };
    return { data: parsed.data, text };
  }

  /** What shows that this directory held a store before (its last good copy, a journal with transitions), or null. */
  private async earlierStore(): Promise<string | null> {
    if (await exists(this.backupPath)) return `${this.backupPath}, the last good copy, is there`;
    const journal = this.opts.journalPath;
    // A rotated segment counts too: the current file may be new and empty after a rotation.
    for (const file of journal ? [journal, `${journal}.1`] : []) if (await holdsText(file)) return `${file} holds transitions: this directory held a cluster`;
    return null;
  }

  /** The way out, for a refusal: the command that restores the last good copy, or starts afresh. */
  private async recovery(present: boolean): Promise<string> {
    const fresh = 'To start a new, empty cluster instead: muster controller --new-store (it keeps the old files aside).';
    if (!(await exists(this.backupPath))) return ` There is no backup (${this.backupPath}): restore ${this.path} from your own backups. ${fresh}`;
    const aside = present ? `mv ${this.path} ${this.path}.broken && ` : '';
    return ` The last good copy is ${this.backupPath}: to go back to it, stop muster and run \`${aside}cp -p ${this.backupPath} ${this.path}\` (changes made since that copy are lost). ${fresh}`;
  }

  /**
   * `--new-store`: the admin said to start a new, empty cluster. A store that loads is never
   * discarded (a flag left in a service file would otherwise wipe the cluster at every restart);
   * a missing or unloadable one, and the last good copy, are renamed aside, not deleted.
   */
  private async startAfresh(found: Awaited<ReturnType<Store['read']>>): Promise<void> {
    if (found && 'data' in found) {
      const { nodes, users } = found.data;
      throw new StoreLoadError(`--new-store: ${this.path} is a valid store (${Object.keys(nodes).length} nodes, ${Object.keys(users).length} users) and muster does not discard one. Start without --new-store to keep it; to start afresh anyway, move it away first.`);
    }
    const suffix = `.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const path of [this.path, this.backupPath]) {
      if (!(await exists(path))) continue;
      await rename(path, path + suffix);
      this.setAside.push(path + suffix);
    }
  }

  /** Keep `text` as the last good copy: a new file renamed over the old one, so a failed write (disk full) leaves the old copy whole and start-up goes on. */
  private async backup(text: string | Promise<Buffer>): Promise<void> {
    try {
      await writeFileAtomic(this.backupPath, await text);
    } catch (err) {
      this.opts.onBackupError?.(new Error(`store backup ${this.backupPath}: write failed: ${(err as Error).message}; the previous copy is kept`));
    }
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
    const r = fn(this.db.data);
    this.file.changed();
    return r;
  }

  /** Successful writes so far. */
  get writes(): number {
    return this.file.writes;
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
    await this.db.write();
  }
}

/** Whether the file has anything but blank lines in its first 64 KiB (the journal starts each open with one). */
async function holdsText(path: string): Promise<boolean> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return false;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(65536), 0, 65536, 0);
    return /\S/.test(buffer.toString('utf8', 0, bytesRead));
  } finally {
    await fh.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
