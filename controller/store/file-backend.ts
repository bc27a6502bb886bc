import { mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Low } from 'lowdb';
import { describeZodError } from '../../shared/protocol.js';
import { writeFileAtomic } from './atomic-file.js';
import { SLICED, StoreLoadError, type StoreBackend, type Touched } from './backend.js';
import { JsonFile } from './json-file.js';
import { STORE_VERSION, StoreData, emptyStore } from './schema.js';
import { droppedFields, unknownFieldsProblem } from './unknown-fields.js';

export interface FileStoreOptions {
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

/**
 * The store as one JSON file in the data directory (DATA/store.json), through lowdb, with its last
 * good copy beside it (store.json.bak). Writes are coalesced: one write in flight at a time, the
 * next one collecting all changes made meanwhile (a burst of 1,000 hellos is a handful of writes,
 * not 1,000).
 *
 * A write is the data as it was when the write began, though it is serialized in slices with the
 * event loop running between them (one JSON.stringify of a 10,000-node store, 20 MB, held the loop
 * ~140 ms): `beforeChange()` keeps the records a change touches out of a write in progress.
 *
 * One exception: a node's `runtime` is the state machine's live object (StateManager.persist), which
 * the machine changes in place without `change()`. A write takes it as it is when its slice reaches
 * the node, so it may be a few ms newer than the rest of the file. That is fine: the file is only
 * ever behind the machine (a crash loses the runtime updates since the last write anyway).
 */
export class FileStoreBackend implements StoreBackend {
  readonly path: string;
  readonly backupPath: string;
  readonly setAside: string[] = [];
  private readonly file: JsonFile<StoreData>;
  /** lowdb holds the data; its writes go through the coalescing, sliced `JsonFile` adapter. */
  private readonly db: Low<StoreData>;

  constructor(
    readonly dir: string,
    private readonly opts: FileStoreOptions,
  ) {
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

  get where(): string {
    return this.path;
  }

  async load(): Promise<StoreData> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const found = await this.read();
    if (this.opts.newStore) await this.startAfresh(found);
    else if (found === null) {
      const earlier = await this.earlierStore();
      // No earlier store: a new data directory starts empty.
      if (earlier !== null) throw new StoreLoadError(`store ${this.path} is missing, but ${earlier}: muster does not start a new, empty cluster over it.${await this.recovery(false)}`);
    } else if ('problem' in found) throw new StoreLoadError(`store ${this.path} ${found.problem}.${await this.recovery(true)}`);
    else {
      this.db.data = found.data;
      // This file loaded and validated: it is the last good copy from now on.
      await this.backup(found.text);
    }
    return this.db.data;
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
  private async startAfresh(found: Awaited<ReturnType<FileStoreBackend['read']>>): Promise<void> {
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

  beforeChange(touched?: Touched): void {
    this.file.beforeChange(touched);
  }

  changed(): void {
    this.file.changed();
  }

  get writes(): number {
    return this.file.writes;
  }

  flush(): Promise<void> {
    return this.file.flush();
  }

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
