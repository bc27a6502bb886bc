import { createReadStream, createWriteStream, openSync, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Transition } from '../../shared/protocol.js';
import type { HistoryQuery, TransitionLog } from './backend.js';

export interface JournalOptions {
  /** Hears of each failed append or rotation (disk full…): the journal never throws at its callers. */
  onError?: (err: Error) => void;
  /** The file is rotated before an append would take it past this size (default 64 MiB)… */
  maxBytes?: number;
  /** …and this many older segments (at least 1) are kept, `PATH.1` the newest (default 4); older ones are deleted. */
  keepSegments?: number;
}

export const JOURNAL_DEFAULTS = { maxBytes: 64 * 1024 * 1024, keepSegments: 4 } as const;

/**
 * The transition journal in a file: one JSON line per change, append-only (DATA/journal.jsonl), rotated by
 * size into `journal.jsonl.1` … `.N`, so the disk it takes is bounded; `history` reads the kept
 * segments, oldest first. A crash can tear at most the last line; reading skips a torn or invalid
 * line and counts it.
 */
export class Journal implements TransitionLog {
  private stream: WriteStream | null = null;
  private closed = false;
  private lastError: Error | null = null;
  /** Bytes in the current file (as far as this process knows: what was there at open plus what it wrote). */
  private bytes = 0;
  /** Set while rotating fails, so a failure is reported once, not at every append. */
  private rotationFailed = false;
  /** The rotated-out stream still writing its last lines into `.1`: a read waits for it. */
  private retiring: Promise<void> = Promise.resolve();
  appended = 0;

  private constructor(
    readonly path: string,
    private readonly opts: Required<Pick<JournalOptions, 'maxBytes' | 'keepSegments'>> & JournalOptions,
  ) {}

  static async open(path: string, opts: JournalOptions = {}): Promise<Journal> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const j = new Journal(path, { ...opts, maxBytes: opts.maxBytes ?? JOURNAL_DEFAULTS.maxBytes, keepSegments: opts.keepSegments ?? JOURNAL_DEFAULTS.keepSegments });
    j.bytes = fileSize(path);
    j.openStream();
    return j;
  }

  /** The last append error, or null once an append succeeds again. */
  get error(): Error | null {
    return this.lastError;
  }

  /** Opens the file at once (a rotation right after must find it there); throws when it cannot. */
  private openStream(): WriteStream {
    const stream = createWriteStream(this.path, { fd: openSync(this.path, 'a', 0o600) });
    // Without a listener a write error (ENOSPC) would be an uncaught exception: the controller
    // would die of a full disk. Drop the stream instead; the next append opens a new one.
    stream.on('error', (err) => this.failed(stream, err));
    this.stream = stream;
    // A torn last line (crash, full disk) must not glue itself to the next record.
    stream.write('\n');
    this.bytes += 1;
    return stream;
  }

  append(t: Transition): void {
    if (this.closed) return;
    const line = JSON.stringify(t) + '\n';
    const size = Buffer.byteLength(line);
    if (this.bytes > 1 && this.bytes + size > this.opts.maxBytes) this.rotate();
    let stream = this.stream;
    try {
      stream ??= this.openStream();
    } catch (err) {
      return this.failed(null, err as Error);
    }
    stream.write(line, (err) => {
      if (err) this.failed(stream, err);
      else this.lastError = null;
    });
    this.bytes += size;
    this.appended++;
  }

  /** The kept segments and the current file, oldest first. */
  segments(): string[] {
    return [...Array.from({ length: this.opts.keepSegments }, (_, i) => `${this.path}.${this.opts.keepSegments - i}`), this.path];
  }

  /**
   * Shifts `PATH.k` to `PATH.k+1` (the oldest falls off) and the current file to `PATH.1`, then
   * starts a new file. Synchronous, so no append lands between; the old stream's fd follows the
   * renamed file, so lines it still buffers end up in `.1`, in order.
   */
  private rotate(): void {
    const old = this.stream;
    try {
      const keep = this.opts.keepSegments;
      rmSync(`${this.path}.${keep}`, { force: true });
      for (let k = keep - 1; k >= 1; k--) renameIfThere(`${this.path}.${k}`, `${this.path}.${k + 1}`);
      renameSync(this.path, `${this.path}.1`);
    } catch (err) {
      // The file keeps growing rather than losing transitions; the next append tries again.
      if (!this.rotationFailed) this.opts.onError?.(new Error(`journal ${this.path}: rotation failed: ${(err as Error).message}`));
      this.rotationFailed = true;
      return;
    }
    this.rotationFailed = false;
    this.stream = null;
    this.bytes = 0;
    if (old) {
      const previous = this.retiring;
      this.retiring = Promise.all([previous, new Promise<void>((resolve) => old.end(() => resolve()))]).then(() => {});
    }
  }

  private failed(stream: WriteStream | null, err: Error): void {
    if (stream && this.stream === stream) this.stream = null;
    const first = this.lastError === null;
    this.lastError = new Error(`journal ${this.path}: append failed: ${err.message}`);
    if (first) this.opts.onError?.(this.lastError);
  }

  /** Matching transitions of every kept segment, oldest first (the newest `limit` of them when a limit is given). */
  async history(q: HistoryQuery): Promise<{ transitions: Transition[]; skipped: number }> {
    await this.sync();
    const out: Transition[] = [];
    let skipped = 0;
    for await (const line of this.lines()) {
      if (line === '') continue;
      let t: Transition;
      try {
        const r = Transition.safeParse(JSON.parse(line));
        if (!r.success) throw new Error('schema');
        t = r.data;
      } catch {
        skipped++;
        continue;
      }
      if (q.node && t.node !== q.node) continue;
      if (q.axis && t.axis !== q.axis) continue;
      if (q.since !== undefined && t.at < q.since) continue;
      out.push(t);
      if (q.limit && out.length > q.limit) out.shift();
    }
    return { transitions: out, skipped };
  }

  /** Every line of the kept segments and the current file, oldest first; a segment missing is skipped. */
  private async *lines(): AsyncGenerator<string> {
    for (const path of this.segments()) {
      const input = createReadStream(path, { encoding: 'utf8' });
      const opened = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
        input.once('open', () => resolve(null));
        input.once('error', resolve);
      });
      if (opened?.code === 'ENOENT') continue;
      if (opened) throw new Error(`journal ${path}: ${opened.message}`);
      yield* createInterface({ input, crlfDelay: Infinity });
    }
  }

  /** Resolves once everything appended so far has reached the file (or its rotated segment). */
  async sync(): Promise<void> {
    await this.retiring;
    const s = this.stream;
    if (!s || s.destroyed || s.writableLength === 0) return;
    // The callback also runs when the write failed (the error is in `error`).
    await new Promise<void>((resolve) => s.write('', () => resolve()));
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.stream;
    this.stream = null;
    if (s) await new Promise<void>((resolve) => s.end(() => resolve()));
    await this.retiring;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function renameIfThere(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
