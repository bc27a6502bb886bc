/** Guards: conditions under which muster never acts on a node, whatever a policy says. */
import type { NodePolicy } from './config.js';
import { formatDuration } from '../../shared/duration.js';
import { awaitingBootUntil, inFlight } from './ladder.js';
import { isHeartbeating } from './liveness.js';
import type { NodeRuntime } from './types.js';

export type GuardName = 'admin-offline' | 'conflict' | 'action-in-flight' | 'grace' | 'breaker' | 'settling' | 'heartbeating' | 'awaiting-boot';

export interface GuardContext {
  rt: NodeRuntime;
  policy: NodePolicy;
  now: number;
  /** End of the grace period after controller start or broker reconnect. */
  graceUntil: number;
  /** The node's groups whose breaker holds actions (tripped, or settling after recovery). */
  frozenGroups: readonly string[];
}

export interface Hold {
  guard: GuardName;
  detail: string;
}

export function blockingGuard({ rt, policy, now, graceUntil, frozenGroups }: GuardContext): Hold | null {
  if (rt.admin === 'offline') return { guard: 'admin-offline', detail: `admin-offline: ${rt.reason ?? 'no reason'}` };
  if (rt.conflict) return { guard: 'conflict', detail: `identity conflict: ${rt.conflict.reason}; an admin decides (muster assign --force, muster conflict clear)` };
  const flight = inFlight(rt);
  if (flight) return { guard: 'action-in-flight', detail: `${flight.action} in flight since ${new Date(flight.startedAt).toISOString()}` };
  if (now < graceUntil) return { guard: 'grace', detail: `grace period after controller start or broker reconnect, ${formatDuration(graceUntil - now)} left` };
  if (frozenGroups.length) return { guard: 'breaker', detail: `mass-silence breaker holds group ${frozenGroups.join(', ')}` };
  if (isHeartbeating(rt.liveness, rt.lastHeard, now, policy.heartbeat)) return { guard: 'heartbeating', detail: 'the agent is heartbeating' };
  // Wills of a whole rack arrive one by one: wait until the breaker has seen them all.
  const settled = settledAt(rt, policy);
  if (settled !== null && now < settled) return { guard: 'settling', detail: `silent for ${formatDuration(now - rt.silentSince!)}; acting after ${formatDuration(policy.breaker.settle)} so a mass silence trips the breaker first` };
  const until = awaitingBootUntil(rt, policy.ladder, now);
  if (until !== null) return { guard: 'awaiting-boot', detail: `giving the node until ${new Date(until).toISOString()} to boot after the last action` };
  return null;
}

/** When a silent node's silence has lasted long enough to act on; null when it is not silent. */
export function settledAt(rt: Pick<NodeRuntime, 'silentSince'>, policy: NodePolicy): number | null {
  return rt.silentSince === null ? null : rt.silentSince + policy.breaker.settle;
}
