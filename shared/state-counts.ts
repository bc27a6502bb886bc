/**
 * Node counts per phase, liveness and admin state, and per hold: the one tally behind `muster
 * summary` and the dashboard's legend. Pure and zod-free (the page bundles it).
 */

/** The values `summary` prints a column for, in its order. */
export const COUNTED = {
  phase: ['run', 'init', 'kernel', 'build', 'off', 'unknown'],
  liveness: ['alive', 'suspect', 'dead'],
  admin: ['offline'],
} as const;
export type CountedAxis = keyof typeof COUNTED;

export interface StateCounts {
  nodes: number;
  phase: Record<string, number>;
  liveness: Record<string, number>;
  admin: Record<string, number>;
  /** Nodes per guard holding muster back (`NodeNext.hold`: `admin-offline`, `breaker`, …). */
  held: Record<string, number>;
}

export type CountedState = Record<CountedAxis, string>;

export function emptyStateCounts(): StateCounts {
  return { nodes: 0, phase: {}, liveness: {}, admin: {}, held: {} };
}

/** Adds one node (with the hold muster waits on, if it is held) to `counts`. */
export function countState(counts: StateCounts, s: CountedState, hold: string | null): void {
  counts.nodes++;
  counts.phase[s.phase] = (counts.phase[s.phase] ?? 0) + 1;
  counts.liveness[s.liveness] = (counts.liveness[s.liveness] ?? 0) + 1;
  counts.admin[s.admin] = (counts.admin[s.admin] ?? 0) + 1;
  if (hold) counts.held[hold] = (counts.held[hold] ?? 0) + 1;
}
