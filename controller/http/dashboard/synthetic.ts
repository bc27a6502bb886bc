/**
 * Made-up node states for `?synthetic=N`: measures how the page copes with a large cluster
 * without one (the 10,000-node check). Never mixed with a live connection. Pure, seeded.
 */
import type { NodeState } from '../../../shared/protocol.js';

const PHASES = ['kernel', 'init', 'run', 'run', 'run', 'run', 'build', 'off', 'unknown'] as const;
const LIVENESS = ['alive', 'alive', 'alive', 'alive', 'alive', 'alive', 'suspect', 'dead'] as const;


const pick = <T>(list: readonly T[], rand: () => number): T => list[Math.floor(rand() * list.length)]!;

export function syntheticState(i: number, now: number, rand: () => number): NodeState {
  const offline = rand() < 0.01;
  return {
    v: 1,
    node: `n${String(i).padStart(5, '0')}`,
    phase: pick(PHASES, rand),
    phaseSince: now,
    liveness: pick(LIVENESS, rand),
    livenessSince: now,
    admin: offline ? 'offline' : 'online',
    reason: offline ? 'synthetic: drained' : null,
    adminBy: offline ? 'synthetic' : null,
    adminSince: now,
    power: 'on',
    powerSince: now,
    faults: rand() < 0.02 ? 1 : 0,
    since: now,
    agentId: null,
    bootId: null,
  };
}

export function syntheticStates(count: number, now: number, rand: () => number): NodeState[] {
  if (!Number.isInteger(count) || count < 0 || count > 1_000_000) throw new Error(`synthetic: node count must be an integer from 0 to 1000000, not ${count}`);
  return Array.from({ length: count }, (_, i) => syntheticState(i + 1, now, rand));
}

/** `changes` random nodes move to a new random state, as a burst of retained updates would. */
export function syntheticChanges(count: number, changes: number, now: number, rand: () => number): NodeState[] {
  return Array.from({ length: changes }, () => syntheticState(1 + Math.floor(rand() * count), now, rand));
}
