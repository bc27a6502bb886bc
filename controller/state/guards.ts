/** Guards: conditions under which muster never acts on a node, whatever a policy says. */
import type { NodePolicy } from './config.js';
import { awaitingBootUntil, inFlight, unansweredCorrective } from './ladder.js';
import { isHeartbeating } from './liveness.js';
import type { NodeRuntime } from './types.js';
import type { HoldName } from '../../shared/cli-output.js';

/** Every hold but `dry-run`, which the explanation adds (explain.ts). */
export type GuardName = Exclude<HoldName, 'dry-run'>;

export interface GuardContext {
  rt: NodeRuntime;
  policy: NodePolicy;
  now: number;
  /** End of the grace period after controller start or broker reconnect. */
  graceUntil: number;
  /** The node's groups whose breaker holds actions (tripped, or settling after recovery). */
  frozenGroups: readonly string[];
  /** Whether this controller acts for the node (federation); another controller's node is its to correct. */
  owned: boolean;
  /** How a time reads in a detail (the machine's steady times shown as wall time). */
  time: TimeText;
}

export type TimeText = (at: number) => string;

export interface Hold {
  guard: GuardName;
  detail: string;
  /** When the hold ends by itself; null when it waits on something else (an admin, the node, a result). */
  until: number | null;
}

/** What holds muster back from a node whatever its state: its admin state or an identity conflict. */
export function standingGuard(rt: NodeRuntime): Hold | null {
  if (rt.admin === 'offline') return { guard: 'admin-offline', detail: `admin offline (${rt.reason ?? 'no reason'}, by ${rt.adminBy ?? 'unknown'})`, until: null };
  if (rt.conflict) return { guard: 'conflict', detail: `identity conflict: ${rt.conflict.reason}; an admin decides (muster assign --force, muster conflict clear)`, until: null };
  return null;
}

/**
 * An admin's power action in flight, or the node not yet booted after it: what follows (the node
 * going dead, rebooting) is its effect, not a failure for a policy to detect.
 */
export function adminActionEffect(rt: NodeRuntime, policy: NodePolicy, now: number, time: TimeText): Hold | null {
  const last = unansweredCorrective(rt);
  if (!last || last.by === null) return null;
  const what = `${last.action} by ${last.by}`;
  if (last.finishedAt === null) return { guard: 'admin-action', detail: `${what} in flight since ${time(last.startedAt)}`, until: null };
  const until = awaitingBootUntil(rt, policy.ladder, now);
  return until === null ? null : { guard: 'admin-action', detail: `${what} at ${time(last.startedAt)}; awaiting its boot until ${time(until)}`, until };
}

export function blockingGuard({ rt, policy, now, graceUntil, frozenGroups, owned, time }: GuardContext): Hold | null {
  const standing = standingGuard(rt);
  if (standing) return standing;
  if (!owned) return { guard: 'not-owner', detail: "another controller acts for the node (its partition is not this controller's)", until: null };
  const flight = inFlight(rt);
  if (flight) return { guard: 'action-in-flight', detail: `${flight.action}${flight.by === null ? '' : ` by ${flight.by}`} in flight since ${time(flight.startedAt)}`, until: null };
  if (now < graceUntil) return { guard: 'grace', detail: `grace period after controller start or broker reconnect, until ${time(graceUntil)}`, until: graceUntil };
  if (frozenGroups.length) return { guard: 'breaker', detail: `mass-silence breaker holds group ${frozenGroups.join(', ')} (muster policy resume ${frozenGroups[0]})`, until: null };
  if (isHeartbeating(rt.liveness, rt.lastHeard, now, policy.heartbeat)) return { guard: 'heartbeating', detail: 'the agent is heartbeating', until: null };
  // Wills of a whole rack arrive one by one: wait until the breaker has seen them all.
  const settled = settledAt(rt, policy);
  if (settled !== null && now < settled) return { guard: 'settling', detail: `silent since ${time(rt.silentSince!)}; acting at ${time(settled)} so a mass silence trips the breaker first`, until: settled };
  const until = awaitingBootUntil(rt, policy.ladder, now);
  if (until !== null) return { guard: 'awaiting-boot', detail: `giving the node until ${time(until)} to boot after the last action`, until };
  return null;
}

/** When a silent node's silence has lasted long enough to act on; null when it is not silent. */
export function settledAt(rt: Pick<NodeRuntime, 'silentSince'>, policy: NodePolicy): number | null {
  return rt.silentSince === null ? null : rt.silentSince + policy.breaker.settle;
}
