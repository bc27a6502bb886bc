import { describe, expect, it } from 'vitest';
import type { Decision } from '../../controller/state/types.js';
import { MIN, SEC, Sim, T0, actions, eventsOf } from './sim.js';

describe('hung in kernel (the issue example)', () => {
  it('entered kernel 10 min ago, never reached init: hung, and the ladder starts', () => {
    const sim = new Sim();
    sim.boot('n001', 'kernel');
    // The initramfs agent goes quiet at switch-root; silence during boot is not acted on.
    const quiet = sim.advance(10 * MIN - SEC);
    expect(quiet.transitions.filter((t) => t.axis === 'liveness').map((t) => t.to)).toEqual(['suspect', 'dead']);
    expect(quiet.decisions).toEqual([]);

    const hung = sim.advance(SEC);
    const [detected] = eventsOf(hung, 'policy', 'detected');
    expect(detected).toMatchObject({ node: 'n001', details: { policy: 'phase-deadline', evidence: { phase: 'kernel', since: T0, limit: 10 * MIN } } });
    expect(detected!.message).toMatch(/hung: in kernel since 2025-01-06T08:00:00Z, should reach init within 10 min/);
    expect(actions(hung)).toEqual(['n001:console-tail#1']);

    // Console captured: the reset follows in the same step.
    const afterTail = sim.result(hung.decisions[0]!);
    expect(actions(afterTail)).toEqual(['n001:reset#1']);
    expect(afterTail.decisions[0]).toMatchObject({ policy: 'phase-deadline', reason: expect.stringMatching(/^phase-deadline: hung/) });
    sim.result(afterTail.decisions[0]!);

    // It reboots (an expected boot), hangs again: the next attempt is a power cycle.
    sim.advance(2 * MIN);
    sim.boot('n001', 'kernel');
    const second = sim.advance(10 * MIN, sim.succeed);
    expect(actions(second)).toEqual(['n001:console-tail#2', 'n001:power-cycle#2']);
    expect(sim.machine.snapshot('n001').bootTimes).toEqual([]); // muster's own reboots are not a boot loop
  });

  it('a node heartbeating in kernel past its deadline is reported but not touched until it goes silent', () => {
    const sim = new Sim();
    sim.boot('n001', 'kernel');
    sim.beating.add('n001');
    const held = sim.advance(11 * MIN);
    expect(eventsOf(held, 'policy', 'detected')).toHaveLength(1);
    expect(eventsOf(held, 'policy', 'held').map((e) => e.details.guard)).toEqual(['heartbeating']);
    expect(held.decisions).toEqual([]);
    sim.beating.delete('n001');
    // Suspect after 10 s of silence, then 10 s to settle (so a mass silence trips the breaker first).
    const silent = sim.advance(25 * SEC);
    expect(actions(silent)).toEqual(['n001:console-tail#1']);
    expect(silent.decisions).toHaveLength(1);
  });
});

describe('reboots', () => {
  it('a reboot during init: one transition naming the previous phase, and the deadline restarts', () => {
    const sim = new Sim();
    sim.boot('n002', 'kernel');
    sim.advance(2 * MIN);
    sim.phase('n002', 'init');
    const oldBoot = sim.bootId('n002');
    sim.advance(3 * MIN);
    const reboot = sim.boot('n002', 'kernel');
    expect(reboot.transitions.map((t) => [t.axis, t.from, t.to])).toEqual([
      ['agent', `mac-n002/${oldBoot}`, `mac-n002/${sim.bootId('n002')}`],
      ['phase', 'init', 'kernel'],
      ['liveness', 'dead', 'alive'],
    ]);
    expect(reboot.transitions[0]!.cause).toMatch(/reboot, previous boot's last phase init/);
    expect(sim.machine.snapshot('n002').previousBootLastPhase).toBe('init');

    // A reconnect (same boot id) is not another reboot.
    const reconnect = sim.apply({ type: 'hello', node: 'n002', agentId: 'mac-n002', bootId: sim.bootId('n002'), phase: 'kernel' });
    expect(reconnect.transitions).toEqual([]);
    // A late heartbeat from the old boot is ignored.
    expect(sim.apply({ type: 'heartbeat', node: 'n002', agentId: 'mac-n002', bootId: oldBoot, phase: 'init' }).transitions).toEqual([]);

    // The kernel deadline counts from the new boot, not from the first one.
    const rebootAt = sim.now;
    expect(sim.machine.nodeState('n002').phaseSince).toBe(rebootAt);
    expect(sim.advance(10 * MIN - SEC).decisions).toEqual([]);
    expect(actions(sim.advance(SEC))).toEqual(['n002:console-tail#1']);
  });

  it('the same phase after a reboot still restarts the phase clock', () => {
    const sim = new Sim();
    sim.boot('n003', 'kernel');
    sim.advance(8 * MIN);
    sim.boot('n003', 'kernel');
    expect(sim.advance(8 * MIN).decisions).toEqual([]);
  });

  it('a stale will (old boot id) is ignored; the current boot\'s will makes the node dead', () => {
    const sim = new Sim();
    sim.boot('n004', 'run');
    const first = sim.bootId('n004');
    sim.advance(30 * SEC);
    sim.boot('n004', 'run');
    expect(sim.will('n004', first).transitions).toEqual([]);
    expect(sim.machine.nodeState('n004').liveness).toBe('alive');
    const will = sim.will('n004');
    expect(will.transitions).toMatchObject([{ axis: 'liveness', from: 'alive', to: 'dead', cause: expect.stringMatching(/will/) }]);
  });

  it('a will from a connection the agent has since replaced is ignored; the current connection\'s will, or one without a number, makes the node dead', () => {
    const sim = new Sim();
    sim.boot('n004', 'run');
    const agent = { node: 'n004', agentId: sim.agentId('n004'), bootId: sim.bootId('n004') };
    sim.apply({ type: 'hello', ...agent, phase: 'run', connection: 1 });
    sim.advance(30 * SEC);
    // The agent reconnected (its old link half-open); the broker sends the old link's will late.
    sim.apply({ type: 'hello', ...agent, phase: 'run', connection: 3 });
    expect(sim.apply({ type: 'will', ...agent, connection: 2 }).transitions).toEqual([]);
    expect(sim.machine.nodeState('n004').liveness).toBe('alive');
    expect(sim.apply({ type: 'will', ...agent, connection: 3 }).transitions).toMatchObject([{ axis: 'liveness', from: 'alive', to: 'dead', cause: expect.stringMatching(/will/) }]);
    sim.apply({ type: 'hello', ...agent, phase: 'run', connection: 4 });
    // An older agent's will carries no number: it counts, as before the field existed.
    expect(sim.apply({ type: 'will', ...agent }).transitions).toMatchObject([{ axis: 'liveness', to: 'dead' }]);
  });

  it('a new boot forgets the connection number: heard first by a heartbeat, its will counts whatever its number', () => {
    const sim = new Sim();
    sim.boot('n004', 'run');
    sim.apply({ type: 'hello', node: 'n004', agentId: sim.agentId('n004'), bootId: sim.bootId('n004'), phase: 'run', connection: 7 });
    sim.advance(30 * SEC);
    sim.rejoin('n004', 'feedbeef', 'run');
    expect(sim.apply({ type: 'will', node: 'n004', agentId: sim.agentId('n004'), bootId: 'feedbeef', connection: 1 }).transitions).toMatchObject([{ axis: 'liveness', to: 'dead' }]);
  });

  it('heartbeats after dead make the node alive again', () => {
    const sim = new Sim({ deadWhileOnline: false });
    sim.boot('n005', 'run');
    sim.advance(MIN);
    expect(sim.machine.nodeState('n005').liveness).toBe('dead');
    expect(sim.heartbeat('n005').transitions).toMatchObject([{ axis: 'liveness', from: 'dead', to: 'alive', cause: 'heartbeat' }]);
  });

  it('a boot loop (3 reboots in 15 min) is detected and acted on once the node is silent', () => {
    const sim = new Sim();
    sim.boot('n006', 'run');
    sim.beating.add('n006');
    for (let i = 0; i < 2; i++) {
      sim.advance(4 * MIN);
      expect(eventsOf(sim.boot('n006', 'run'), 'policy')).toEqual([]);
    }
    sim.advance(4 * MIN);
    const third = sim.boot('n006', 'run');
    expect(eventsOf(third, 'policy', 'detected')).toMatchObject([{ details: { policy: 'boot-loop', evidence: { limit: 3, previousBootLastPhase: 'run' } } }]);
    expect(eventsOf(third, 'policy', 'held')).toMatchObject([{ details: { guard: 'heartbeating' } }]);
    expect(sim.advance(MIN).decisions).toEqual([]);
    sim.beating.delete('n006');
    const acted = sim.advance(25 * SEC);
    expect(actions(acted)).toEqual(['n006:console-tail#1']);
  });
});

describe('dead while admin-online', () => {
  it('a running node that dies gets the ladder: console tail, then reset', () => {
    const sim = new Sim();
    sim.boot('n010', 'run');
    sim.beating.add('n010');
    sim.advance(5 * MIN);
    sim.beating.delete('n010');
    const died = sim.advance(19 * SEC);
    expect(died.decisions).toEqual([]);
    const dead = sim.advance(SEC + 5 * SEC);
    expect(eventsOf(dead, 'policy', 'detected')).toMatchObject([{ details: { policy: 'dead-while-online' } }]);
    expect(actions(dead)).toEqual(['n010:console-tail#1']);
    expect(actions(sim.result(dead.decisions[0]!))).toEqual(['n010:reset#1']);
  });

  it('one action at a time: nothing new while an action is in flight; a lost result times out as failed', () => {
    const sim = new Sim();
    sim.boot('n011', 'run');
    const first = sim.advance(30 * SEC);
    expect(actions(first)).toEqual(['n011:console-tail#1']);
    const waiting = sim.advance(4 * MIN);
    expect(waiting.decisions).toEqual([]);
    const timedOut = sim.advance(MIN);
    expect(eventsOf(timedOut, 'action', 'failed')).toMatchObject([{ details: { action: 'console-tail', detail: 'no result within 5 min' } }]);
    expect(actions(timedOut)).toEqual(['n011:reset#1']);
  });

  it('after N failed attempts: admin offline with a reason, and a hwlog issue is requested', () => {
    const sim = new Sim();
    sim.boot('n012', 'run');
    const fail = (d: Decision) => {
      if (d.action === 'console-tail') return sim.result(d, true);
      if (d.action !== 'offline' && d.action !== 'hwlog') return sim.result(d, false, 'ipmi power reset failed: timeout');
    };
    const out = sim.advance(30 * MIN, fail);
    expect(actions(out)).toEqual(['n012:console-tail#1', 'n012:reset#1', 'n012:power-cycle#2', 'n012:power-cycle#3', 'n012:offline#3', 'n012:hwlog#3']);
    // Exponential backoff between attempts: 60 s, then 120 s.
    const starts = eventsOf(out, 'action', 'started').filter((e) => e.details.action !== 'console-tail').map((e) => e.at);
    expect([starts[1]! - starts[0]!, starts[2]! - starts[1]!]).toEqual([60 * SEC, 120 * SEC]);
    const offline = out.decisions.find((d) => d.action === 'offline')!;
    expect(offline.reason).toMatch(/^muster: 3 corrective attempts failed \(dead-while-online: dead while admin-online/);
    const state = sim.machine.nodeState('n012');
    expect(state).toMatchObject({ admin: 'offline', adminBy: 'muster', reason: offline.reason });
    expect(out.transitions.filter((t) => t.axis === 'admin')).toMatchObject([{ from: 'online', to: 'offline' }]);
    expect(sim.advance(6 * 60 * MIN).decisions).toEqual([]);
  });

  it('a driver success with no boot afterwards counts as a failed attempt', () => {
    const sim = new Sim();
    sim.boot('n013', 'run');
    const out = sim.advance(60 * MIN, sim.succeed);
    expect(actions(out)).toEqual(['n013:console-tail#1', 'n013:reset#1', 'n013:power-cycle#2', 'n013:power-cycle#3', 'n013:offline#3', 'n013:hwlog#3']);
    // Each attempt got 10 min to show a new boot.
    const starts = eventsOf(out, 'action', 'started').filter((e) => e.details.action !== 'console-tail').map((e) => e.at);
    expect(starts.slice(1).map((t, i) => t - starts[i]!)).toEqual([10 * MIN, 10 * MIN]);
    expect(eventsOf(out, 'policy', 'detected').map((e) => e.details.policy)).toEqual(['dead-while-online']);
  });
});

describe('flapping node', () => {
  it('dies and comes back over and over: backoff grows and at most 6 corrective actions in 24 h', () => {
    const sim = new Sim({ ladder: { stableAfter: '30s' } });
    sim.boot('n020', 'run');
    const corrective: number[] = [];
    const flap = (d: Decision) => {
      const done = sim.result(d);
      if (d.action === 'console-tail') return done;
      corrective.push(sim.now);
      sim.boot('n020', 'run'); // it comes straight back ...
    };
    sim.beating.add('n020');
    for (let i = 0; i < 60; i++) {
      sim.advance(60 * SEC, flap); // ... runs for a minute (stable: attempts reset) ...
      sim.beating.delete('n020');
      sim.advance(25 * SEC, flap); // ... and dies again.
      sim.beating.add('n020');
    }
    expect(sim.now - T0).toBeGreaterThan(80 * MIN);
    expect(corrective).toHaveLength(6);
    const gaps = corrective.slice(1).map((t, i) => t - corrective[i]!);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(60 * SEC * 2 ** i));
    expect(eventsOf(sim.all, 'policy', 'held').some((e) => e.details.guard === 'rate-limit')).toBe(true);
    expect(sim.machine.nodeState('n020').admin).toBe('online'); // each flap recovered: never escalated

    // A day after the first action, the budget is back.
    sim.now = corrective[0]! + 24 * 60 * MIN + SEC;
    sim.beating.delete('n020');
    sim.boot('n020', 'run');
    expect(actions(sim.advance(30 * SEC, flap)).filter((a) => !a.includes('console'))).toHaveLength(1);
  });
});

describe('mass-silence breaker', () => {
  const rack = Array.from({ length: 20 }, (_, i) => `r${String(i + 1).padStart(2, '0')}`);
  const groups = Object.fromEntries(rack.map((n) => [n, ['rack1']]));
  function upRack(): Sim {
    const sim = new Sim({}, groups);
    for (const n of rack) {
      sim.boot(n, 'run');
      sim.beating.add(n);
    }
    sim.advance(MIN);
    return sim;
  }
  function silence(sim: Sim, nodes: string[]): void {
    for (const [i, n] of nodes.entries()) {
      sim.beating.delete(n);
      sim.advance(2 * SEC + i); // one after the other, as a switch port group fails
    }
  }

  it('trips at 5 of 20 silent within 30 s: one incident, no actions', () => {
    const sim = upRack();
    silence(sim, rack.slice(0, 5));
    const out = sim.advance(10 * MIN);
    const incidents = eventsOf(sim.all, 'incident');
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ node: null, details: { group: 'rack1', state: 'frozen', size: 20, silent: rack.slice(0, 5) } });
    expect(sim.all.decisions).toEqual([]);
    expect(eventsOf(out, 'policy', 'held').every((e) => e.details.guard === 'breaker')).toBe(true);
    expect(sim.machine.frozenGroups()).toEqual([{ group: 'rack1', since: incidents[0]!.at }]);
  });

  it('trips when 5 of 20 wills arrive one after another (a cut uplink): no node is acted on first', () => {
    const sim = upRack();
    for (const n of rack.slice(0, 5)) {
      sim.beating.delete(n);
      sim.apply({ type: 'will', node: n, agentId: sim.agentId(n), bootId: sim.bootId(n) });
      sim.advance(SEC);
    }
    sim.advance(10 * MIN);
    expect(eventsOf(sim.all, 'incident')).toHaveLength(1);
    expect(sim.all.decisions).toEqual([]);
  });

  it('does not trip at 3 of 20: those nodes get the ladder', () => {
    const sim = upRack();
    silence(sim, rack.slice(0, 3));
    sim.advance(MIN);
    expect(eventsOf(sim.all, 'incident')).toEqual([]);
    expect(actions(sim.all).sort()).toEqual(['r01:console-tail#1', 'r02:console-tail#1', 'r03:console-tail#1']);
  });

  it('silences spread wider than the window do not trip it', () => {
    const sim = upRack();
    for (const n of rack.slice(0, 5)) {
      sim.beating.delete(n);
      sim.advance(40 * SEC, sim.succeed);
    }
    expect(eventsOf(sim.all, 'incident')).toEqual([]);
  });

  it('resumes when the group recovers; the node still dead then gets the ladder', () => {
    const sim = upRack();
    silence(sim, rack.slice(0, 5));
    sim.advance(MIN);
    for (const n of rack.slice(0, 4)) sim.beating.add(n);
    const back = sim.advance(10 * SEC);
    // Under the threshold (3 of 20 silent) while the nodes come back one by one.
    expect(eventsOf(back, 'incident', 'recovered')).toMatchObject([{ details: { group: 'rack1', silent: ['r03', 'r04', 'r05'] } }]);
    expect(back.decisions).toEqual([]);
    // After settling for one window, only the node still dead gets the ladder.
    const settled = sim.advance(30 * SEC);
    expect(actions(settled)).toEqual(['r05:console-tail#1']);
  });

  it('an admin `policy resume` lifts the freeze; resuming a group that is not frozen is an error', () => {
    const sim = upRack();
    silence(sim, rack.slice(0, 5));
    sim.advance(MIN);
    const resumed = sim.apply({ type: 'policy-resume', group: 'rack1', who: 'alice' });
    expect(eventsOf(resumed, 'incident', 'resumed')).toMatchObject([{ details: { group: 'rack1', by: 'alice' } }]);
    expect(actions(resumed).sort()).toEqual(rack.slice(0, 5).map((n) => `${n}:console-tail#1`));
    expect(() => sim.apply({ type: 'policy-resume', group: 'rack1', who: 'alice' })).toThrow(/group "rack1" is not frozen \(frozen: none\)/);
  });

  it('removing the silent nodes of a frozen group lets it recover at the next tick', () => {
    const sim = upRack();
    silence(sim, rack.slice(0, 5));
    sim.advance(MIN);
    expect(sim.machine.frozenGroups().map((f) => f.group)).toEqual(['rack1']);
    for (const n of rack.slice(0, 5)) sim.machine.remove(n);
    const out = sim.advance(SEC);
    expect(eventsOf(out, 'incident', 'recovered')).toMatchObject([{ details: { group: 'rack1', silent: [], size: 15 } }]);
    expect(sim.machine.frozenGroups()).toEqual([]);
  });

  it('nodes muster itself is rebooting do not count as silent', () => {
    const sim = upRack();
    // Three nodes die and are being reset; then two more go silent: 2 of 17 counted, no trip.
    silence(sim, rack.slice(0, 3));
    sim.advance(MIN, sim.succeed);
    silence(sim, rack.slice(3, 5));
    sim.advance(MIN, sim.succeed);
    expect(eventsOf(sim.all, 'incident')).toEqual([]);
  });
});

describe('grace after controller start or broker reconnect', () => {
  function restart(nodes: string[]): { sim: Sim; records: { node: string; bootId: string }[] } {
    const before = new Sim();
    for (const n of nodes) before.boot(n, 'run');
    const records = JSON.parse(JSON.stringify(before.machine.snapshotAll()));
    // Two minutes later a new controller loads the records and starts.
    const sim = new Sim();
    sim.now = before.now + 2 * MIN;
    sim.machine.load(records);
    return { sim, records };
  }
  const fifty = Array.from({ length: 50 }, (_, i) => `c${String(i).padStart(2, '0')}`);

  it('a controller restart with 50 nodes silent for less than the grace period: no action, no incident', () => {
    const { sim, records } = restart(fifty);
    const start = sim.apply({ type: 'controller-start' });
    expect(eventsOf(start, 'policy', 'grace')).toMatchObject([{ details: { until: sim.now + 30 * SEC } }]);
    // The agents reconnect one by one over 25 s (their boots went on: same boot ids).
    for (const r of records) {
      sim.advance(500);
      sim.rejoin(r.node, r.bootId, 'run');
      sim.beating.add(r.node);
    }
    sim.advance(10 * MIN);
    expect(sim.all.decisions).toEqual([]);
    expect(eventsOf(sim.all, 'incident')).toEqual([]);
    expect(sim.all.transitions.filter((t) => t.axis !== 'liveness')).toEqual([]);
    for (const n of fifty) expect(sim.machine.nodeState(n).liveness).toBe('alive');
  });

  it('nodes still silent when the grace ends trip the breaker instead of being rebooted', () => {
    const { sim } = restart(fifty);
    sim.apply({ type: 'controller-start' });
    const out = sim.advance(5 * MIN);
    expect(out.decisions).toEqual([]);
    expect(eventsOf(out, 'incident', 'frozen')).toMatchObject([{ at: sim.all.events[0]!.at + 30 * SEC, details: { group: 'ungrouped', size: 50 } }]);
  });

  it('a broker reconnect holds actions on a dead node until the grace ends', () => {
    const sim = new Sim();
    sim.boot('n030', 'run');
    sim.advance(19 * SEC);
    const reconnect = sim.apply({ type: 'broker-reconnect' });
    expect(eventsOf(reconnect, 'policy', 'grace')).toHaveLength(1);
    const during = sim.advance(29 * SEC);
    expect(eventsOf(during, 'policy', 'held').map((e) => e.details.guard)).toEqual(['grace']);
    expect(during.decisions).toEqual([]);
    expect(actions(sim.advance(SEC))).toEqual(['n030:console-tail#1']);
  });
});
