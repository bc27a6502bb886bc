/**
 * The attach client's detach escape, ConMan style: `&.` typed at the start of a line detaches;
 * `&&` there sends one `&`; `&` followed by anything else sends both. Pure: the caller keeps the
 * state between keystroke chunks (raw-mode stdin delivers one key or a paste per chunk).
 */

export interface EscapeState {
  /** Nothing typed yet, or the last byte sent ended a line (CR or LF). */
  atLineStart: boolean;
  /** An `&` at the start of a line is held back, waiting for the next key. */
  pending: boolean;
}

export const ESCAPE_START: EscapeState = { atLineStart: true, pending: false };

const AMP = 0x26;
const DOT = 0x2e;

/** Splits typed bytes into what goes to the console and whether the user asked to detach. */
export function scanEscape(state: EscapeState, typed: Buffer): { state: EscapeState; forward: Buffer; detach: boolean } {
  const out: number[] = [];
  let { atLineStart, pending } = state;
  const send = (b: number) => {
    out.push(b);
    atLineStart = b === 0x0d || b === 0x0a;
  };
  for (const b of typed) {
    if (pending) {
      pending = false;
      if (b === DOT) return { state: { atLineStart, pending: false }, forward: Buffer.from(out), detach: true };
      send(AMP);
      if (b !== AMP) send(b);
    } else if (atLineStart && b === AMP) {
      pending = true;
    } else {
      send(b);
    }
  }
  return { state: { atLineStart, pending }, forward: Buffer.from(out), detach: false };
}
