import { describe, expect, it } from 'vitest';
import { MIN, SEC, Sim, actions, eventsOf } from './sim.js';

describe('guards and dry-run', () => {
  it('an admin-offline node that hangs is reported but never acted on; online again restarts the ladder', () => {
    const sim = new Sim();
    sim.boot('n040', 'kernel');
    const off = sim.apply({ type: 'admin-offline', node: 'n040', reason: 'disk swap', who: 'alice' });
    expect(off.transitions).toMatchObject([{ axis: 'admin', from: 'online', to: 'offline', cause: 'admin alice: disk swap' }]);
    expect(sim.machine.nodeState('n040')).toMatchObject({ admin: 'offline', reason: 'disk swap', adminBy: 'alice' });
    const hung = sim.advance(30 * MIN);
    expect(hung.decisions).toEqual([]);
    expect(eventsOf(hung, 'policy', 'held')).toMatchObject([{ details: { guard: 'admin-offline', policy: 'phase-deadline' } }]);
    const online = sim.apply({ type: 'admin-online', node: 'n040', who: 'alice' });
    expect(online.transitions).toMatchObject([{ axis: 'admin', from: 'offline', to: 'online' }, { axis: 'action', to: 'console-tail started', by: 'policy phase-deadline', attempt: 1 }]);
    expect(actions(online)).toEqual(['n040:console-tail#1']);
  });

  it('a node in an identity conflict is never acted on until an admin clears it; the hold survives a restart', () => {
    const sim = new Sim();
    sim.boot('n043', 'kernel');
    const raised = sim.apply({ type: 'conflict', node: 'n043', agentId: 'mac-0200000000ee', reason: 'mac 02:00:00:00:00:43 matches n043, but it reports no uuid' });
    expect(eventsOf(raised, 'policy', 'conflict')).toMatchObject([{ node: 'n043', details: { agentId: 'mac-0200000000ee' } }]);
    // A second claim while the first stands changes nothing.
    expect(sim.apply({ type: 'conflict', node: 'n043', agentId: null, reason: 'another' }).events).toEqual([]);
    const hung = sim.advance(30 * MIN);
    expect(hung.decisions).toEqual([]);
    expect(eventsOf(hung, 'policy', 'held')).toMatchObject([{ details: { guard: 'conflict', policy: 'phase-deadline' } }]);
    const restarted = new Sim();
    restarted.machine.load([JSON.parse(JSON.stringify(sim.machine.snapshot('n043')))]);
    expect(restarted.machine.snapshot('n043').conflict).toMatchObject({ agentId: 'mac-0200000000ee' });
    const cleared = sim.apply({ type: 'conflict-cleared', node: 'n043', who: 'alice' });
    expect(eventsOf(cleared, 'policy', 'conflict-cleared')).toMatchObject([{ details: { who: 'alice' } }]);
    expect(actions(cleared)).toEqual(['n043:console-tail#1']);
  });

  it('dry-run publishes what it would do, once, and decides nothing', () => {
    const sim = new Sim({ dryRun: true });
    sim.boot('n041', 'kernel');
    const out = sim.advance(30 * MIN);
    expect(out.decisions).toEqual([]);
    expect(actions({ ...out, decisions: out.wouldDo })).toEqual(['n041:console-tail#1', 'n041:reset#1']);
    expect(eventsOf(out, 'action', 'would-do')).toMatchObject([
      { message: 'n041 would console-tail (attempt 1/3, policy phase-deadline) [dry-run]', details: { dryRun: true } },
      { message: 'n041 would reset (attempt 1/3, policy phase-deadline) [dry-run]', details: { dryRun: true } },
    ]);
    expect(sim.machine.snapshot('n041').actions).toEqual([]);
  });

  it('dry-run per group: rack1 only says what it would do, rack2 acts', () => {
    const sim = new Sim({ groups: { rack1: { dryRun: true } } }, { a1: ['rack1'], b1: ['rack2'] });
    sim.boot('a1', 'run');
    sim.boot('b1', 'run');
    const out = sim.advance(MIN);
    expect(actions(out)).toEqual(['b1:console-tail#1']);
    expect(out.wouldDo.map((d) => `${d.node}:${d.action}`)).toEqual(['a1:console-tail', 'a1:reset']);
  });

  it('a group edit takes effect once the machine hears of it: moved into a dry-run group, the node is only planned', () => {
    const groups: Record<string, string[]> = { a1: ['rack2'] };
    const sim = new Sim({ groups: { rack1: { dryRun: true } } }, groups);
    sim.boot('a1', 'run');
    sim.beating.add('a1');
    sim.advance(MIN);
    groups.a1 = ['rack1'];
    sim.machine.nodeChanged('a1');
    sim.beating.delete('a1');
    const out = sim.advance(MIN);
    expect(actions(out)).toEqual([]);
    expect(out.wouldDo.map((d) => `${d.node}:${d.action}`)).toEqual(['a1:console-tail', 'a1:reset']);
  });

  it('a console panic is a second signal: detected at suspect, acted on once the silence has settled', () => {
    const sim = new Sim();
    sim.boot('n042', 'run');
    sim.beating.add('n042');
    sim.advance(MIN);
    sim.apply({ type: 'console-pattern', node: 'n042', pattern: 'login', line: 'n042 login:' });
    const panic = sim.apply({ type: 'console-pattern', node: 'n042', pattern: 'kernel-panic', line: 'Kernel panic - not syncing: Fatal exception' });
    expect(panic.events).toEqual([]); // still heartbeating: nothing yet
    sim.beating.delete('n042');
    const out = sim.advance(10 * SEC);
    expect(eventsOf(out, 'policy', 'detected')).toMatchObject([{ details: { policy: 'console-panic', evidence: { pattern: 'kernel-panic', line: 'Kernel panic - not syncing: Fatal exception', liveness: 'suspect' } } }]);
    expect(actions(out)).toEqual([]); // settling: a mass silence would trip the breaker meanwhile
    expect(actions(sim.advance(10 * SEC))).toEqual(['n042:console-tail#1']);
  });

  it('a console pattern from before the current boot is forgotten at reboot', () => {
    const sim = new Sim();
    sim.boot('n043', 'run');
    sim.apply({ type: 'console-pattern', node: 'n043', pattern: 'kernel-panic', line: 'Kernel panic' });
    sim.boot('n043', 'kernel');
    expect(sim.machine.snapshot('n043').consoleAlarm).toBeNull();
  });

  it('power readings set the power axis; off means phase off, on again means phase unknown', () => {
    const sim = new Sim();
    sim.boot('n044', 'run');
    const off = sim.apply({ type: 'power', node: 'n044', power: 'off' });
    expect(off.transitions.map((t) => [t.axis, t.from, t.to])).toEqual([
      ['power', 'unknown', 'off'],
      ['phase', 'run', 'off'],
    ]);
    const on = sim.apply({ type: 'power', node: 'n044', power: 'on' });
    expect(on.transitions.map((t) => [t.axis, t.to])).toEqual([
      ['power', 'on'],
      ['phase', 'unknown'],
    ]);
    expect(sim.apply({ type: 'power', node: 'n044', power: 'on' }).transitions).toEqual([]);
    // Powered on, but no boot within 10 min: it did not come back.
    expect(sim.advance(10 * MIN - SEC).decisions).toEqual([]);
    expect(eventsOf(sim.advance(SEC), 'policy', 'detected')).toMatchObject([{ details: { policy: 'dead-while-online', evidence: { phase: 'unknown' } } }]);
  });

  it('hwlog count changes show in the node state', () => {
    const sim = new Sim();
    sim.boot('n045', 'run');
    sim.now += SEC;
    const r = sim.machine.apply({ type: 'faults', node: 'n045', count: 2 }, sim.now);
    expect(r.changed).toEqual(['n045']);
    expect(sim.machine.nodeState('n045')).toMatchObject({ faults: 2, since: sim.now });
  });
});

describe('persistence and input checking', () => {
  it('the runtime record round-trips through JSON, mid-ladder', () => {
    const sim = new Sim();
    sim.boot('n050', 'run');
    sim.apply({ type: 'admin-offline', node: 'n051', reason: 'RMA', who: 'bob' });
    sim.advance(30 * SEC); // n050: console-tail in flight
    const saved = JSON.parse(JSON.stringify(sim.machine.snapshotAll()));
    const restored = new Sim();
    restored.now = sim.now;
    restored.machine.load(saved);
    expect(restored.machine.snapshotAll()).toEqual(sim.machine.snapshotAll());
    for (const n of ['n050', 'n051']) expect(restored.machine.nodeState(n)).toEqual(sim.machine.nodeState(n));
    // The restored machine carries on the ladder where it was.
    expect(actions(restored.apply({ type: 'action-result', node: 'n050', action: 'console-tail', ok: true }))).toEqual(['n050:reset#1']);
  });

  it('a bad record or input is refused with the field named', () => {
    const sim = new Sim();
    expect(() => sim.machine.load([{ node: 'n1', phase: 'sleeping' }])).toThrow(/state record 0 \(n1\): phase: /);
    expect(() => sim.machine.apply({ type: 'hello', node: 'n/1', agentId: 'mac-x', bootId: 'abcdef12', phase: 'run' }, sim.now)).toThrow(/state input hello: node: node name must/);
    expect(() => sim.machine.apply({ type: 'tick' }, 1.5)).toThrow(/time must be epoch milliseconds, got 1.5/);
    expect(() => sim.machine.nodeState('nope')).toThrow(/unknown node "nope"/);
  });

  it('an action result with nothing in flight is reported and ignored', () => {
    const sim = new Sim();
    sim.boot('n052', 'run');
    const r = sim.apply({ type: 'action-result', node: 'n052', action: 'reset', ok: true });
    expect(eventsOf(r, 'action', 'ignored')).toHaveLength(1);
    expect(sim.machine.snapshot('n052').actions).toEqual([]);
  });
});
