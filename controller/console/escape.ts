/**
 * The attach client's escapes, ConMan style, typed at the start of a line: `&.` detaches, `&F`
 * takes the writer (forced: after being displaced, or from `--read-only`), `&?` lists them; `&&`
 * there sends one `&`; `&` followed by anything else sends both. Pure: the caller keeps the state
 * between keystroke chunks (raw-mode stdin delivers one key or a paste per chunk).
 */

export interface EscapeState {
  /** Nothing typed yet, or the last byte sent ended a line (CR or LF). */
  atLineStart: boolean;
  /** An `&` at the start of a line is held back, waiting for the next key. */
  pending: boolean;
}

export type EscapeCommand = 'detach' | 'force' | 'help';

export const ESCAPE_START: EscapeState = { atLineStart: true, pending: false };

/** The keys after `&` and what they do (help text for `&?`). */
export const ESCAPES: ReadonlyArray<{ key: string; command: EscapeCommand; does: string }> = [
  { key: '.', command: 'detach', does: 'detach' },
  { key: 'F', command: 'force', does: 'take the writer (from whoever holds it)' },
  { key: '?', command: 'help', does: 'list these escapes' },
];

const AMP = 0x26;
const COMMANDS = new Map(ESCAPES.map((e) => [e.key.charCodeAt(0), e.command]));

/**
 * Splits typed bytes into what goes to the console and the escape command typed, if any. The
 * bytes after a command are in `rest`, to scan again once the command is carried out (after `&F`
 * they are the new writer's keystrokes).
 */
export function scanEscape(state: EscapeState, typed: Buffer): { state: EscapeState; forward: Buffer; command: EscapeCommand | null; rest: Buffer } {
  const out: number[] = [];
  let { atLineStart, pending } = state;
  const send = (b: number) => {
    out.push(b);
    atLineStart = b === 0x0d || b === 0x0a;
  };
  for (let i = 0; i < typed.length; i++) {
    const b = typed[i]!;
    if (pending) {
      pending = false;
      const command = COMMANDS.get(b);
      if (command) return { state: { atLineStart, pending: false }, forward: Buffer.from(out), command, rest: typed.subarray(i + 1) };
      send(AMP);
      if (b !== AMP) send(b);
    } else if (atLineStart && b === AMP) {
      pending = true;
    } else {
      send(b);
    }
  }
  return { state: { atLineStart, pending }, forward: Buffer.from(out), command: null, rest: Buffer.alloc(0) };
}
