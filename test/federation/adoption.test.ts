/**
 * The state machine under federation: a node another controller owns is never acted on here, and
 * a node adopted from another controller starts its clocks afresh, so stale times get no power
 * corrected. Fake time (the state tests' Sim).
 */
import { describe, expect, it } from 'vitest';
import { MIN, Sim, actions, eventsOf } from '../state/sim.js';

describe('nodes and their owner', () => {
  it("a node another controller owns is held ('not-owner'), whatever its problem", () => {
    const owned = new Set<string>();
    const sim = new Sim({}, {}, (node) => owned.has(node));
    sim.boot('n001', 'kernel');
    const hung = sim.advance(30 * MIN);
    expect(hung.decisions).toEqual([]);
    expect(eventsOf(hung, 'policy', 'held')).toMatchObject([{ node: 'n001', details: { guard: 'not-owner', policy: 'phase-deadline' } }]);
    expect(JSON.stringify(sim.machine.next('n001', sim.now))).toContain('not-owner');
  });

  it('an adopted node starts its clocks afresh: not dead, not hung from stale times, and only judged again after the policies\' times from now', () => {
    const owned = new Set<string>();
    const sim = new Sim({}, {}, (node) => owned.has(node));
    sim.boot('n002', 'kernel');
    // Its agent's will came, then an hour in which another controller owned it: dead and hung by the old times.
    sim.will('n002');
    sim.advance(60 * MIN);
    expect(sim.machine.nodeState('n002').liveness).toBe('dead');
    owned.add('n002');
    const adopted = sim.apply({ type: 'adopted', node: 'n002' });
    expect(adopted.decisions).toEqual([]);
    expect(adopted.transitions).toMatchObject([{ axis: 'liveness', from: 'dead', to: 'alive', cause: 'adopted from another controller: silence counted from now' }]);
    expect(sim.machine.nodeState('n002')).toMatchObject({ liveness: 'alive', phase: 'kernel', phaseSince: sim.now });
    // Within the kernel phase's deadline from the adoption nothing is corrected; after it, the ladder starts at attempt 1.
    const soon = sim.advance(5 * MIN);
    expect(soon.decisions).toEqual([]);
    const late = sim.advance(30 * MIN);
    expect(actions(late)[0]).toBe('n002:console-tail#1');
  });

  it("another controller's node is not judged by silence here: its owner hears its agent, this controller may not", () => {
    const owned = new Set<string>();
    const sim = new Sim({}, {}, (node) => owned.has(node));
    sim.boot('n004', 'run');
    const silent = sim.advance(60 * MIN);
    expect(silent.transitions.filter((t) => t.axis === 'liveness')).toEqual([]);
    expect(sim.machine.nodeState('n004').liveness).toBe('alive');
    // Owned, the same silence is judged.
    owned.add('n004');
    sim.apply({ type: 'adopted', node: 'n004' });
    sim.advance(60 * MIN);
    expect(sim.machine.nodeState('n004').liveness).toBe('dead');
  });

  it('with one controller (no owner given) every node is its own, as before', () => {
    const sim = new Sim();
    sim.boot('n003', 'kernel');
    expect(actions(sim.advance(30 * MIN)).slice(0, 2)).toEqual(['n003:console-tail#1', 'n003:reset#1']);
  });
});
