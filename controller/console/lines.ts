import { incompleteUtf8Tail, logText } from './log-text.js';

/** One line (or piece of a line) for the log, stamped with when its first byte arrived. */
export interface LogLine {
  at: number;
  /** This piece as log text (see logText), without the line ending. */
  text: string;
  /** The logical line so far, including pieces flushed earlier: what patterns look at. */
  full: string;
  /** False for a partial line flushed because the console paused (a `login: ` prompt). */
  complete: boolean;
}

/**
 * Cuts a console byte stream into timestamped lines, whatever the chunk boundaries. Pure: the
 * caller passes the time. A line longer than maxLineBytes is cut there, bounding memory when a
 * console spews bytes without newlines.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private startedAt: number | null = null;
  private flushedPrefix = '';

  constructor(private readonly maxLineBytes = 4096) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 16) throw new Error(`max line length ${maxLineBytes} must be an integer of at least 16 bytes`);
  }

  get hasPartial(): boolean {
    return this.pendingBytes > 0;
  }

  push(chunk: Buffer, now: number): LogLine[] {
    const lines: LogLine[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      this.append(chunk.subarray(start, nl === -1 ? chunk.length : nl), now, lines);
      if (nl === -1) return lines;
      lines.push(this.take(this.pendingBytes, now, true));
      start = nl + 1;
    }
  }

  /** The pending partial line (less any half-received character), or null if there is none. */
  flushPartial(now: number): LogLine | null {
    const keep = incompleteUtf8Tail(Buffer.concat(this.pending));
    if (this.pendingBytes - keep <= 0) return null;
    return this.take(this.pendingBytes - keep, now, false);
  }

  private append(part: Buffer, now: number, lines: LogLine[]): void {
    while (part.length > 0) {
      if (this.startedAt === null) this.startedAt = now;
      const room = this.maxLineBytes - this.pendingBytes;
      this.pending.push(part.subarray(0, room));
      this.pendingBytes += Math.min(room, part.length);
      part = part.subarray(room);
      if (this.pendingBytes >= this.maxLineBytes) {
        const all = Buffer.concat(this.pending);
        lines.push(this.take(all.length - incompleteUtf8Tail(all), now, true));
      }
    }
  }

  /** Emits the first `bytes` pending bytes as a line piece; the rest stays pending. */
  private take(bytes: number, now: number, complete: boolean): LogLine {
    const all = Buffer.concat(this.pending);
    let piece = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    if (complete && piece.at(-1) === 0x0d) piece = piece.subarray(0, -1); // CRLF line ending
    const text = logText(piece);
    const line: LogLine = { at: this.startedAt ?? now, text, full: this.flushedPrefix + text, complete };
    // Bounded, so a console that never ends a line cannot grow it.
    this.flushedPrefix = complete ? '' : line.full.slice(-this.maxLineBytes);
    this.pending = rest.length > 0 ? [Buffer.from(rest)] : [];
    this.pendingBytes = rest.length;
    this.startedAt = rest.length > 0 ? now : null;
    return line;
  }
}
