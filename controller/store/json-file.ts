import { Backoff } from '../../shared/backoff.js';
import type { Adapter } from 'lowdb';
import { MusterError } from '../../shared/errors.js';
import { readJsonFile, writeFileAtomic } from './atomic-file.js';
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
 * A JSON file written atomically (`writeFileAtomic`) and coalesced: changes mark it dirty, one write
 * is in flight at a time, and the next one takes in every change made meanwhile (a burst of 1,000
 * changes is a handful of writes, not 1,000). `flush()` resolves when everything changed before the
 * call is on disk.
 *
 * A write is `snapshot()` as it was when the write began. The records of the `sliced` maps are
 * serialized a slice at a time with the event loop running between slices (one JSON.stringify of a
 * 10,000-node store, 20 MB, held the loop ~140 ms), so whoever changes such a record calls
 * `beforeChange()` first, naming it.
 *
 * It is also a lowdb adapter: `Low.write()` on it is a coalesced write that resolves once on disk.
 */
export class JsonFile<T extends object> implements Adapter<T> {
  /** Successful writes so far. */
  writes = 0;
  private serializing: SlicedJson | null = null;
  /** Main-thread time the last write spent serializing, summed over its slices. */
  private lastSerializeMs = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private lastError: Error | null = null;
  /** After a failed write (disk full), the data is written again after these delays, no change needed. */
  private readonly retry = new Backoff({ initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.1 });

  constructor(
    readonly path: string,
    private readonly snapshot: () => T,
    private readonly opts: JsonFileOptions,
  ) {}

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
    this.dirty = true;
    if (!this.timer && !this.inFlight) this.schedule();
  }

  /** `changed()` and `flush()`: resolves when this change is on disk. */
  save(): Promise<void> {
    this.changed();
    return this.flush();
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

  private schedule(retryMs?: number): void {
    // Serializing runs on the main thread (~140 ms at 10,000 nodes, 20 MB, in slices of a few ms):
    // under churn, wait at least nine times as long as the slices took together, so serializing
    // never takes more than a tenth of the loop (a 10,000-agent storm in the full bench, measured
    // with one whole stringify per write: 19 writes; 24-25 when the wait was three times the whole
    // write, fsync included).
    const wait = retryMs ?? Math.max(this.opts.debounceMs ?? 0, 9 * this.lastSerializeMs);
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
    this.inFlight = this.writeFile();
    try {
      await this.inFlight;
      this.writes++;
      this.lastError = null;
      this.retry.reset();
      await this.opts.afterWrite?.(performance.now() - started, this.writes);
      for (const w of waiters) w.resolve();
    } catch (err) {
      // Keep the data dirty so the next change (or flush) tries again; tell whoever waited.
      this.dirty = true;
      // The operator's to fix (disk full, permissions): the caller sees why, as it is.
      this.lastError = new MusterError(`${this.opts.name} ${this.path}: write failed: ${(err as Error).message}`, `${this.opts.name}-write-failed`);
      this.opts.onWriteError?.(this.lastError);
      for (const w of waiters) w.reject(this.lastError);
    } finally {
      this.inFlight = null;
    }
    if (this.waiters.length > 0) void this.writeNow();
    else if (this.dirty) this.schedule(this.lastError ? this.retry.next() : undefined);
  }

  private async writeFile(): Promise<void> {
    const json = new SlicedJson(this.snapshot(), this.opts.sliced ?? [], this.opts.slice ?? { ms: Infinity, records: Infinity });
    this.serializing = json;
    try {
      await writeFileAtomic(this.path, json.chunks());
    } finally {
      this.serializing = null;
      this.lastSerializeMs = json.ms;
    }
  }
}
