import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Transition } from '../../shared/protocol.js';

export interface HistoryQuery {
  node?: string;
  axis?: string;
  since?: number;
  limit?: number;
}

/**
 * The transition journal: one JSON line per change, append-only (DATA/journal.jsonl). A crash
 * can tear at most the last line; reading skips a torn or invalid line and counts it.
 */
export class Journal {
  private stream: WriteStream | null = null;
  private closed = false;
  private lastError: Error | null = null;
  appended = 0;

  private constructor(
    readonly path: string,
    private readonly onError?: (err: Error) => void,
  ) {}

  /** `onError` hears of each failed append (disk full…): the journal never throws at its callers. */
  static async open(path: string, opts: { onError?: (err: Error) => void } = {}): Promise<Journal> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const j = new Journal(path, opts.onError);
    const stream = j.openStream();
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    return j;
  }

  /** The last append error, or null once an append succeeds again. */
  get error(): Error | null {
    return this.lastError;
  }

  private openStream(): WriteStream {
    const stream = createWriteStream(this.path, { flags: 'a', mode: 0o600 });
    // Without a listener a write error (ENOSPC) would be an uncaught exception: the controller
    // would die of a full disk. Drop the stream instead; the next append opens a new one.
    stream.on('error', (err) => this.failed(stream, err));
    this.stream = stream;
    // A torn last line (crash, full disk) must not glue itself to the next record.
    stream.write('\n');
    return stream;
  }

  append(t: Transition): void {
    if (this.closed) return;
    const stream = this.stream ?? this.openStream();
    stream.write(JSON.stringify(t) + '\n', (err) => {
      if (err) this.failed(stream, err);
      else this.lastError = null;
    });
    this.appended++;
  }

  private failed(stream: WriteStream, err: Error): void {
    if (this.stream === stream) this.stream = null;
    const first = this.lastError === null;
    this.lastError = new Error(`journal ${this.path}: append failed: ${err.message}`);
    if (first) this.onError?.(this.lastError);
  }

  /** Matching transitions, oldest first (the newest `limit` of them when a limit is given). */
  async history(q: HistoryQuery): Promise<{ transitions: Transition[]; skipped: number }> {
    await this.sync();
    const out: Transition[] = [];
    let skipped = 0;
    const rl = createInterface({ input: createReadStream(this.path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of rl) {
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

  /** Resolves once everything appended so far has reached the file. */
  sync(): Promise<void> {
    const s = this.stream;
    if (!s || s.destroyed || s.writableLength === 0) return Promise.resolve();
    // The callback also runs when the write failed (the error is in `error`).
    return new Promise((resolve) => s.write('', () => resolve()));
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = this.stream;
    this.stream = null;
    if (s) await new Promise<void>((resolve) => s.end(() => resolve()));
  }
}
