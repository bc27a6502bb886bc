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
  appended = 0;

  private constructor(readonly path: string) {}

  static async open(path: string): Promise<Journal> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const j = new Journal(path);
    j.stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      j.stream!.once('open', () => resolve());
      j.stream!.once('error', reject);
    });
    // A torn last line from a crash must not glue itself to the next record.
    j.stream.write('\n');
    return j;
  }

  append(t: Transition): void {
    this.stream?.write(JSON.stringify(t) + '\n');
    this.appended++;
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
    if (!s || s.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => s.write('', () => resolve()));
  }

  async close(): Promise<void> {
    const s = this.stream;
    this.stream = null;
    if (s) await new Promise<void>((resolve) => s.end(() => resolve()));
  }
}
