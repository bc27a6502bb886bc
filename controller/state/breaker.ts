/**
 * The mass-silence breaker (Kubernetes zone-disruption style): when too much of a group goes
 * silent at once, the cause is shared (switch, PDU, broker), and rebooting nodes one by one
 * would only make it worse. It freezes the group's automatic actions until the group recovers
 * or an admin resumes it.
 */
import type { NodePolicy } from './config.js';

export interface BreakerState {
  tripped: boolean;
  /** When it last tripped or was resumed. */
  since: number;
  /** An admin resume forgives the silences before it (else it would trip again at once). */
  forgiveBefore: number;
  /**
   * After recovering by itself, actions stay held for one window: nodes come back one by one,
   * and the ones whose first message is a moment late must not be reset for it.
   */
  settleUntil: number;
}

/** A watched member: admin-online, seen at least once, and not silent because muster acted on it. */
export interface Member {
  node: string;
  silentSince: number | null;
}

/**
 * What the breaker needs of a group: how many members are watched and which of them are silent.
 * Counted, not listed: a group of 10,000 is looked at once per will that arrives.
 */
export interface Census {
  size: number;
  silent: readonly Member[];
}

export type BreakerChange =
  | { change: 'trip'; silent: string[]; size: number }
  | { change: 'recover'; silent: string[]; size: number };

export const initialBreaker = (): BreakerState => ({ tripped: false, since: 0, forgiveBefore: Number.NEGATIVE_INFINITY, settleUntil: 0 });

/** Trips above the threshold; recovers only below it (a node at exactly the line does not flap it). */
function isMass(silent: number, size: number, policy: NodePolicy['breaker'], recovering: boolean): boolean {
  if (size === 0 || silent < policy.minNodes) return false;
  return recovering ? silent / size >= policy.threshold : silent / size > policy.threshold;
}

/** Whether the breaker holds a group's actions at `now`. */
export function isFrozen(state: BreakerState, now: number): boolean {
  return state.tripped || now < state.settleUntil;
}

/**
 * Trip when more than `threshold` of the group (and at least `minNodes`) went silent within the
 * window; recover when the silent share is back under it (then settle for one window). A silence that began during the
 * grace period counts as beginning when the grace ends: the nodes had their chance to say hello.
 */
export function evaluateBreaker(
  state: BreakerState,
  { size, silent }: Census,
  policy: NodePolicy['breaker'],
  now: number,
  graceUntil: number,
): { state: BreakerState; change: BreakerChange | null } {
  if (state.tripped) {
    if (isMass(silent.length, size, policy, true)) return { state, change: null };
    const recovered = { ...state, tripped: false, since: now, settleUntil: now + policy.window };
    return { state: recovered, change: { change: 'recover', silent: silent.map((m) => m.node), size } };
  }
  const recent = silent.filter((m) => {
    const began = Math.max(m.silentSince!, graceUntil);
    return began > now - policy.window && began > state.forgiveBefore;
  });
  if (!isMass(recent.length, size, policy, false)) return { state, change: null };
  return { state: { ...state, tripped: true, since: now }, change: { change: 'trip', silent: recent.map((m) => m.node), size } };
}

/** Why `policy resume GROUP` is refused: the group is not frozen. */
export function notFrozen(group: string, frozen: readonly string[]): string {
  return `policy resume: group "${group}" is not frozen (frozen: ${frozen.length ? frozen.join(', ') : 'none'})`;
}

/** An admin's `policy resume GROUP`. */
export function resumedBreaker(now: number): BreakerState {
  return { tripped: false, since: now, forgiveBefore: now, settleUntil: 0 };
}
