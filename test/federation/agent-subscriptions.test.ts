/**
 * The plan of a controller's agent subscriptions under federation, on plain data: the agents of the
 * nodes of the partitions it owns, changed by ownership and by bindings, as diffs.
 */
import { describe, expect, it } from 'vitest';
import { AgentSubscriptionPlan } from '../../controller/federation/agent-subscriptions.js';

/** Partition of a node: the number in its name modulo 4 (n005 → 1). */
const partitionOf = (node: string) => Number(node.slice(1)) % 4;
const sorted = (c: { subscribe: string[]; unsubscribe: string[] }) => ({ subscribe: [...c.subscribe].sort(), unsubscribe: [...c.unsubscribe].sort() });

function plan(bindings: Record<string, string>, owned: number[]) {
  const p = new AgentSubscriptionPlan(partitionOf);
  for (const [node, agent] of Object.entries(bindings)) expect(p.nodeBound(node, agent)).toEqual({ subscribe: [], unsubscribe: [] });
  return { p, first: sorted(p.ownedChanged(owned)) };
}

describe('agent subscriptions by partition', () => {
  it('subscribes the agents of the owned partitions\' nodes, and follows ownership as it changes', () => {
    const { p, first } = plan({ n000: 'a0', n001: 'a1', n002: 'a2', n005: 'a5', n006: 'a6' }, [1, 2]);
    expect(first).toEqual({ subscribe: ['a1', 'a2', 'a5', 'a6'], unsubscribe: [] });
    // Partition 2 lost, 0 gained.
    expect(sorted(p.ownedChanged([0, 1]))).toEqual({ subscribe: ['a0'], unsubscribe: ['a2', 'a6'] });
    expect(p.ownedChanged([0, 1])).toEqual({ subscribe: [], unsubscribe: [] });
    // Fenced: owns nothing.
    expect(sorted(p.ownedChanged([]))).toEqual({ subscribe: [], unsubscribe: ['a0', 'a1', 'a5'] });
    expect(p.agents()).toEqual([]);
  });

  it('follows bindings: a node of an owned partition bound, rebound, unbound or removed; another\'s changes nothing', () => {
    const { p } = plan({ n001: 'a1' }, [1]);
    expect(p.nodeBound('n005', 'a5')).toEqual({ subscribe: ['a5'], unsubscribe: [] });
    expect(p.nodeBound('n002', 'a2')).toEqual({ subscribe: [], unsubscribe: [] });
    // The node's agent replaced (a board swap).
    expect(p.nodeBound('n005', 'b5')).toEqual({ subscribe: ['b5'], unsubscribe: ['a5'] });
    expect(p.nodeBound('n005', 'b5')).toEqual({ subscribe: [], unsubscribe: [] });
    expect(p.nodeBound('n001', null)).toEqual({ subscribe: [], unsubscribe: ['a1'] });
    expect(p.agents().sort()).toEqual(['b5']);
    // The other partition's node bound earlier is subscribed once its partition is gained.
    expect(p.ownedChanged([1, 2])).toEqual({ subscribe: ['a2'], unsubscribe: [] });
  });

  it('an agent moving from one owned node to another stays subscribed throughout', () => {
    const { p } = plan({ n001: 'a1' }, [1]);
    // Bound to n005 first (the directory tells the new node, then the old one unbound).
    expect(p.nodeBound('n005', 'a1')).toEqual({ subscribe: [], unsubscribe: [] });
    expect(p.nodeBound('n001', null)).toEqual({ subscribe: [], unsubscribe: [] });
    expect(p.agents()).toEqual(['a1']);
    expect(p.nodeBound('n005', null)).toEqual({ subscribe: [], unsubscribe: ['a1'] });
  });

  it('hashes each node once, however often ownership changes', () => {
    let hashed = 0;
    const p = new AgentSubscriptionPlan((node) => (hashed++, partitionOf(node)));
    for (let i = 0; i < 100; i++) p.nodeBound(`n${i}`, `a${i}`);
    for (let round = 0; round < 10; round++) p.ownedChanged([round % 4]);
    expect(hashed).toBe(100);
    expect(p.agents()).toHaveLength(25);
  });
});
