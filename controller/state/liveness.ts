/** Liveness from heartbeat silence: suspect after a few missed intervals, dead after more. */
import type { Liveness } from '../../shared/protocol.js';
import { formatDuration } from '../../shared/duration.js';
import type { NodePolicy } from './config.js';

type HeartbeatPolicy = NodePolicy['heartbeat'];
const RANK: Record<Liveness, number> = { alive: 0, suspect: 1, dead: 2 };

/** What silence since `heardAt` alone implies at `now`. */
export function livenessAfterSilence(heardAt: number, now: number, hb: HeartbeatPolicy): Liveness {
  const silent = now - heardAt;
  if (silent >= hb.deadAfterMissed * hb.interval) return 'dead';
  if (silent >= hb.suspectAfterMissed * hb.interval) return 'suspect';
  return 'alive';
}

/** Silence only ever worsens liveness (a will's `dead` stays dead); agent messages revive it. */
export function worse(a: Liveness, b: Liveness): Liveness {
  return RANK[a] >= RANK[b] ? a : b;
}

/** When continued silence since `heardAt` next worsens `current`; null when it cannot. */
export function nextSilenceChange(heardAt: number, current: Liveness, hb: HeartbeatPolicy): number | null {
  if (current === 'alive') return heardAt + hb.suspectAfterMissed * hb.interval;
  if (current === 'suspect') return heardAt + hb.deadAfterMissed * hb.interval;
  return null;
}

/**
 * An agent that heartbeats less often than `heartbeat.interval` would turn suspect (and dead) by
 * silence between its heartbeats: what is wrong, or null when its interval (if it told one) fits.
 */
export function intervalMismatch(agentIntervalMs: number | undefined, hb: HeartbeatPolicy): string | null {
  if (agentIntervalMs === undefined || agentIntervalMs <= hb.interval) return null;
  return `the agent heartbeats every ${formatDuration(agentIntervalMs)} but heartbeat.interval is ${formatDuration(hb.interval)}: silence would make it suspect between heartbeats; set heartbeat.interval to the agents' --interval`;
}

/** The "never touch a heartbeating node" guard: alive and heard from within the suspect time. */
export function isHeartbeating(liveness: Liveness, heardAt: number | null, now: number, hb: HeartbeatPolicy): boolean {
  return liveness === 'alive' && heardAt !== null && now - heardAt < hb.suspectAfterMissed * hb.interval;
}

/**
 * A will from a connection older than the one the agent's last hello came on: the agent already
 * replaced it, so it says nothing about the node. Unknown numbers (older agents) are never older.
 */
export function isEarlierConnection(will: number | undefined, current: number | null): boolean {
  return will !== undefined && current !== null && will < current;
}
