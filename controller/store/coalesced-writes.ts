import { Backoff } from '../../shared/backoff.js';
import { MusterError } from '../../shared/errors.js';

export interface CoalescedWritesOptions {
  /** Named in errors: `<name> <where>: write failed: …`; the error's code is `<name>-write-failed`. */
  name: string;
  /** The file or database written (a URL with its password masked). */
  where: string;
  /** Writes what changed; resolves with the main-thread time (ms) it spent serializing. */
  write: () => Promise<number>;
  /** Quiet time before a write after the last change; a burst of changes makes one write. Default 0. */
  debounceMs?: number;
  /** Runs after each successful write, before its waiters hear of it, with the write's duration. */
  afterWrite?: (ms: number, writes: number) => Promise<void> | void;
  /** Called when a write fails (disk full, database gone…); the data stays dirty and is written again later. */
  onWriteError?: (err: Error) => void;
}

/**
 * Coalesced writes: changes mark the data dirty, one write is in flight at a time, and the next one
 * takes in every change made meanwhile (a burst of 1,000 changes is a handful of writes, not
 * 1,000). `flush()` resolves when everything changed before the call is written. A failed write
 * keeps the data dirty and is tried again with backoff, no change needed.
 */
export class CoalescedWrites {
  /** Successful writes so far. */
  writes = 0;
  /** Main-thread time the last write spent serializing. */
  private lastSerializeMs = 0;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<number> | null = null;
  private waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private lastError: Error | null = null;
  private readonly retry = new Backoff({ initialMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.1 });

  constructor(private readonly opts: CoalescedWritesOptions) {}

  /** The data changed: a write follows, coalesced. */
  changed(): void {
    this.dirty = true;
    if (!this.timer && !this.inFlight) this.schedule();
  }

  /** Resolves when every change made before the call is written; rejects if that write failed. */
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

  /** The last write error, if the latest write failed; null once one succeeds. */
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
    this.inFlight = this.opts.write();
    try {
      this.lastSerializeMs = await this.inFlight;
      this.writes++;
      this.lastError = null;
      this.retry.reset();
      await this.opts.afterWrite?.(performance.now() - started, this.writes);
      for (const w of waiters) w.resolve();
    } catch (err) {
      // Keep the data dirty so the next change (or flush) tries again; tell whoever waited.
      this.dirty = true;
      // The operator's to fix (disk full, permissions, database down): the caller sees why, as it is.
      this.lastError = new MusterError(`${this.opts.name} ${this.opts.where}: write failed: ${(err as Error).message}`, `${this.opts.name}-write-failed`);
      this.opts.onWriteError?.(this.lastError);
      for (const w of waiters) w.reject(this.lastError);
    } finally {
      this.inFlight = null;
    }
    if (this.waiters.length > 0) void this.writeNow();
    else if (this.dirty) this.schedule(this.lastError ? this.retry.next() : undefined);
  }
}
