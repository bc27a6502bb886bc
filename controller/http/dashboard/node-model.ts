/**
 * The dashboard's picture of the cluster: the latest retained state of every node, the names in
 * natural order, and filtered selections of them. Pure (no DOM, no I/O), so 10,000 nodes are
 * tested in vitest and the browser only draws what this returns.
 */
import type { NodeState } from '../../../shared/protocol.js';
import { countState, emptyStateCounts, type CountedAxis, type StateCounts } from '../../../shared/state-counts.js';

export interface NodeFilter {
  /** Members of the chosen group, or null for every node. */
  members: ReadonlySet<string> | null;
  /** A legend entry: `AXIS:VALUE` (`phase:run`, `liveness:dead`, `admin:offline`), `faults` (open hwlog issues), or null for any. */
  state: string | null;
  /** Part of the node name, case-insensitive; empty for any. */
  text: string;
}

export const NO_FILTER: NodeFilter = { members: null, state: null, text: '' };

const byNaturalName = new Intl.Collator('en', { numeric: true }).compare;

export class NodeModel {
  private readonly states = new Map<string, NodeState>();
  private sorted: string[] | null = [];

  /** A retained state arrived (null: the node was removed). True when the set of names changed. */
  apply(node: string, state: NodeState | null): boolean {
    const known = this.states.has(node);
    if (state) this.states.set(node, state);
    else this.states.delete(node);
    const changed = known !== (state !== null);
    if (changed) this.sorted = null;
    return changed;
  }

  get(node: string): NodeState | undefined {
    return this.states.get(node);
  }

  get size(): number {
    return this.states.size;
  }

  /** Every node name, `n2` before `n10`. */
  names(): readonly string[] {
    this.sorted ??= [...this.states.keys()].sort(byNaturalName);
    return this.sorted;
  }

  select(f: NodeFilter): string[] {
    const text = f.text.trim().toLowerCase();
    return this.names().filter((name) => {
      if (f.members && !f.members.has(name)) return false;
      if (text && !name.toLowerCase().includes(text)) return false;
      return !f.state || hasLegendState(this.states.get(name)!, f.state);
    });
  }

  /**
   * The legend's figures for `names`: counted as `muster summary` counts (shared/state-counts.ts;
   * no hold: that comes from the decision core, not the retained state), plus the nodes with faults.
   */
  counts(names: readonly string[]): { states: StateCounts; faults: number } {
    const states = emptyStateCounts();
    let faults = 0;
    for (const name of names) {
      const s = this.states.get(name);
      if (!s) continue;
      countState(states, s, null);
      if (s.faults > 0) faults++;
    }
    return { states, faults };
  }
}

/** Whether a node matches a legend entry (see `NodeFilter.state`). */
function hasLegendState(s: NodeState, key: string): boolean {
  if (key === 'faults') return s.faults > 0;
  const [axis, value] = key.split(':') as [CountedAxis, string];
  return s[axis] === value;
}

const AXES = { phase: ['unknown', 'build', 'kernel', 'init', 'run', 'off'], liveness: ['alive', 'suspect', 'dead'], admin: ['online', 'offline'] } as const;

/**
 * A retained `muster/nodes/<node>/state` payload: the state, or null for an empty one (the node
 * was removed). Checks only what the page relies on; throws with the reason otherwise.
 */
export function readNodeState(node: string, text: string): NodeState | null {
  if (text === '') return null;
  let s: Partial<NodeState>;
  try {
    s = JSON.parse(text) as Partial<NodeState>;
  } catch {
    throw new Error(`node ${node}: state is not JSON`);
  }
  if (s.v !== 1) throw new Error(`node ${node}: state has protocol version ${String(s.v)}, this page knows 1`);
  if (s.node !== node) throw new Error(`node ${node}: state names node ${String(s.node)}`);
  for (const [axis, values] of Object.entries(AXES)) {
    const value = s[axis as keyof typeof AXES];
    if (!(values as readonly string[]).includes(value as string)) throw new Error(`node ${node}: ${axis} "${String(value)}" is not one of ${values.join(', ')}`);
  }
  return { ...s, faults: typeof s.faults === 'number' ? s.faults : 0 } as NodeState;
}
