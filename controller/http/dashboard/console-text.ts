/**
 * A console's recent text for display: bytes become lines, terminal control sequences and
 * carriage returns are dropped, and only the last `maxLines` are kept. Pure.
 */

// CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`), other two-byte escapes, and C0 controls but tab/newline.
const CONTROL = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b-\x1f\x7f]/g;

export class ConsoleText {
  private readonly done: string[] = [];
  /** The line being written (a prompt such as `login: ` stays here until a newline comes). */
  private partial = '';

  constructor(private readonly maxLines = 500) {
    if (!Number.isInteger(maxLines) || maxLines < 1) throw new Error(`console text: maxLines must be a positive integer, not ${maxLines}`);
  }

  /** Text as it arrived (decoded), possibly ending in the middle of a line. */
  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = clean(parts.pop()!);
    for (const p of parts) this.done.push(clean(p));
    const room = this.partial ? this.maxLines - 1 : this.maxLines;
    if (this.done.length > room) this.done.splice(0, this.done.length - room);
  }

  /** Whole lines (from a log tail) followed by whatever was partial. */
  pushLines(lines: readonly string[]): void {
    this.push(lines.map((l) => `${l}\n`).join(''));
  }

  lines(): string[] {
    return this.partial ? [...this.done, this.partial] : [...this.done];
  }
}

function clean(line: string): string {
  return line.replace(CONTROL, '');
}
