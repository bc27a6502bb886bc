/**
 * How the dashboard colours a node: one class per cell from the separate state axes, the most
 * urgent axis first. Pure (no DOM): shared by the grid, the legend, the filters and the tests.
 */
import type { NodeState } from '../../../shared/protocol.js';

export interface StateClass {
  key: string;
  label: string;
  colour: string;
  /** What puts a node in this class, shown in the legend's tooltip. */
  meaning: string;
}

/** In legend order: the healthy path first, then the ones that need attention. */
const STATE_CLASSES: readonly StateClass[] = [
  { key: 'run', label: 'run', colour: '#2ea043', meaning: 'phase run, alive' },
  { key: 'init', label: 'init', colour: '#8ddb8c', meaning: 'phase init (the init system is starting), alive' },
  { key: 'kernel', label: 'kernel', colour: '#e3b341', meaning: 'phase kernel (initramfs), alive' },
  { key: 'build', label: 'build', colour: '#58a6ff', meaning: 'phase build (installing), alive' },
  { key: 'unknown', label: 'unknown', colour: '#8b949e', meaning: 'defined, never heard from' },
  { key: 'off', label: 'off', colour: '#484f58', meaning: 'powered off' },
  { key: 'suspect', label: 'suspect', colour: '#f0883e', meaning: 'heartbeats missed' },
  { key: 'dead', label: 'dead', colour: '#f85149', meaning: 'heartbeats lost or the agent’s will arrived' },
  { key: 'offline', label: 'admin offline', colour: '#a371f7', meaning: 'taken out of service by an admin (with a reason)' },
];

const BY_KEY = new Map(STATE_CLASSES.map((c) => [c.key, c]));

export type ClassifiedState = Pick<NodeState, 'phase' | 'liveness' | 'admin'>;

/** Admin offline wins (someone decided), then phases that explain silence, then liveness, then phase. */
export function classify(s: ClassifiedState): StateClass {
  const key = s.admin === 'offline' ? 'offline' : s.phase === 'off' || s.phase === 'unknown' ? s.phase : s.liveness !== 'alive' ? s.liveness : s.phase;
  return BY_KEY.get(key) ?? BY_KEY.get('unknown')!;
}

export function stateClass(key: string): StateClass | undefined {
  return BY_KEY.get(key);
}
