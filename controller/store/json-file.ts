import type { Adapter } from 'lowdb';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
import { CoalescedWrites } from './coalesced-writes.js';
import { SlicedJson } from './serialize.js';

export interface JsonFileOptions {
  /** Named in errors: `<name> <path>: write failed: …`. */
  name: string;
  /** Quiet time before a write after the last change; a burst of changes makes one write. Default 0. */
  debounceMs?: number;
  /** Top-level maps whose records are serialized in slices, the event loop running between them. */
  sliced?: readonly string[];
  /** A slice ends after this long or this many records, whichever comes first. */
  slice?: { ms: number; records: number };
  /** Runs after each successful write, before its waiters hear of it, with the write's duration. */
  afterWrite?: (ms: number, writes: number) => Promise<void> | void;
  /** Called when a write fails (disk full…); the file stays dirty and is written again later. */
  onWriteError?: (err: Error) => void;
}

/**
 * A JSON file written atomically (`writeFileAtomic`) and coalesced (`CoalescedWrites`): a burst
 * of 1,000 changes is a handful of writes, and `flush()` resolves when everything changed before
 * the call is on disk.
 *
 * A write is `snapshot()` as it was when the write began. The records of the `sliced` maps are
 * serialized a slice at a time with the event loop running between slices (one JSON.stringify of a
 * 10,000-node store, 20 MB, held the loop ~140 ms), so whoever changes such a record calls
 * `beforeChange()` first, naming it.
 *
 * It is also a lowdb adapter: `Low.write()` on it is a coalesced write that resolves once on disk.
 */
export class JsonFile<T extends object> implements Adapter<T> {
  private serializing: SlicedJson | null = null;
  private readonly writer: CoalescedWrites;

  constructor(
    readonly path: string,
    private readonly snapshot: () => T,
    private readonly opts: JsonFileOptions,
  ) {
    this.writer = new CoalescedWrites({ name: opts.name, where: path, write: () => this.writeFile(), debounceMs: opts.debounceMs, afterWrite: opts.afterWrite, onWriteError: opts.onWriteError });
  }

  /** Successful writes so far. */
  get writes(): number {
    return this.writer.writes;
  }

  /** The parsed content, unvalidated (its owner checks it), or null when the file does not exist. */
  read(): Promise<T | null> {
    return readJsonFile(this.path) as Promise<T | null>;
  }

  /** lowdb's write: `data` is what `snapshot()` returns (the owner's `Low.data`); resolves once on disk. */
  write(data: T): Promise<void> {
    if (data !== this.snapshot()) throw new Error(`${this.opts.name} ${this.path}: write() takes the data its snapshot returns`);
    return this.save();
  }

  /**
   * Call before changing the data: `touched` names, per sliced map, every record the change
   * creates, changes or deletes (null entries are ignored); those a write in progress has not
   * reached yet are serialized first, as they are. Without `touched`, the rest of a write in
   * progress is serialized at once, holding the event loop as one big stringify would.
   */
  beforeChange(touched?: Readonly<Record<string, ReadonlyArray<string | null | undefined> | undefined>>): void {
    const writing = this.serializing;
    if (!writing) return;
    if (!touched) writing.finish();
    else for (const name of this.opts.sliced ?? []) writing.preserve(name, touched[name] ?? []);
  }

  /** The data changed: a write follows, coalesced. */
  changed(): void {
    this.writer.changed();
  }

  /** `changed()` and `flush()`: resolves when this change is on disk. */
  save(): Promise<void> {
    this.changed();
    return this.flush();
  }

  /** Resolves when every change made before the call is on disk; rejects if that write failed. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** The last write error, if the latest write failed (e.g. disk full); null once one succeeds. */
  get error(): Error | null {
    return this.writer.error;
  }

  /** Writes the snapshot; resolves with the main-thread time its slices took. */
  private async writeFile(): Promise<number> {
    const json = new SlicedJson(this.snapshot(), this.opts.sliced ?? [], this.opts.slice ?? { ms: Infinity, records: Infinity });
    this.serializing = json;
    try {
      await writeFileAtomic(this.path, json.chunks());
    } finally {
      this.serializing = null;
    }
    return json.ms;
  }
}
