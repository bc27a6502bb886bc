import type { Transition } from './protocol.js';

/** A history line's cause for people: actions say who did them (and the policy's attempt). `muster history` and the dashboard print it. */
export function historyCause(t: Pick<Transition, 'by' | 'attempt' | 'cause'>): string {
  return t.by === undefined ? t.cause : `by ${t.by}${t.attempt ? `, attempt ${t.attempt}` : ''}: ${t.cause}`;
}
