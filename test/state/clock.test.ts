/**
 * Time (issue 26, points 3 and 4), the pure rules with a fake clock: the machine judges on steady
 * time, so a jump of the wall clock changes no liveness and no deadline and only moves the times
 * shown; and a controller that did not run for a while (`controller-stall`) blames nobody for the
 * silence: the grace period begins and the silence clocks restart, as at a start.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock, wallOffset } from '../../controller/clock.js';
import { parsePolicyConfig } from '../../controller/state/config.js';
import { StateMachine } from '../../controller/state/machine.js';
import { stateAtWall, type StateInput } from '../../controller/state/types.js';

const HOUR = 3_600_000;
const T0 = 1_800_000_000_000;
const policies = parsePolicyConfig({ grace: '5s', heartbeat: { interval: 1 }, breaker: { settle: '3s' }, ladder: { backoff: '1s' } });

/** Nodes n1…n4 in groups of two (the breaker cannot trip), heartbeating in `run`; n5 in `kernel`. */
function cluster() {
  const m = new StateMachine(policies, (n) => (n === 'n5' ? ['solo'] : [n <= 'n2' ? 'pair1' : 'pair2']));
  const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const heartbeat = (node: string): StateInput => ({ type: 'heartbeat', node, agentId: `serial-${node}`, bootId: `b00710${node.slice(1)}0`, phase: node === 'n5' ? 'kernel' : 'run' });
  const all = { decisions: 0, dead: 0, incidents: 0 };
  const apply = (input: StateInput, now: number) => {
    const r = m.apply(input, now);
    all.decisions += r.decisions.length;
    all.dead += r.transitions.filter((t) => t.axis === 'liveness' && t.to === 'dead').length;
    all.incidents += r.events.filter((e) => e.kind === 'incident').length;
    return r;
  };
  apply({ type: 'controller-start' }, T0);
  for (const n of nodes) apply({ type: 'hello', node: n, agentId: `serial-${n}`, bootId: `b00710${n.slice(1)}0`, phase: n === 'n5' ? 'kernel' : 'run' }, T0);
  /** Every node heartbeats each second from `from` for `seconds`, with a tick after each round. */
  const run = (from: number, seconds: number) => {
    for (let s = 0; s < seconds; s++) {
      for (const n of nodes) apply(heartbeat(n), from + s * 1000);
      apply({ type: 'tick' }, from + s * 1000 + 500);
    }
    return from + seconds * 1000;
  };
  return { m, apply, run, heartbeat, nodes, all };
}

afterEach(() => vi.restoreAllMocks());

describe('steady and wall time', () => {
  it('the steady clock does not follow a jump of the wall clock', () => {
    const before = systemClock.steady();
    vi.spyOn(Date, 'now').mockReturnValue(Date.now() + HOUR);
    expect(Math.abs(systemClock.steady() - before)).toBeLessThan(1_000);
  });

  it('the wall offset is the jump, and nothing while the two agree within a second', () => {
    expect(wallOffset(T0 + 400, T0)).toBe(0);
    expect(wallOffset(T0 - 999, T0)).toBe(0);
    expect(wallOffset(T0 + HOUR, T0)).toBe(HOUR);
    expect(wallOffset(T0 - HOUR, T0)).toBe(-HOUR);
  });

  it('a wall clock an hour ahead: no dead, no action, the kernel node not overdue; shown times follow the wall clock', () => {
    const c = cluster();
    // A fake clock whose wall time jumps an hour at 20 s while its steady time runs on.
    const clock = { steady: T0, wall: T0 };
    let t = c.run(T0 + 1000, 20);
    clock.steady = t;
    clock.wall = t + HOUR;
    t = c.run(t, 30); // the machine is fed steady time only: the manager's rule
    expect(c.all).toEqual({ decisions: 0, dead: 0, incidents: 0 });
    expect(c.m.nodeState('n5')).toMatchObject({ phase: 'kernel', liveness: 'alive' });
    expect(c.m.snapshot('n5').problem).toBeNull();
    const shown = stateAtWall(c.m.nodeState('n5'), wallOffset(clock.wall, clock.steady));
    expect(shown.phaseSince - c.m.nodeState('n5').phaseSince).toBe(HOUR);
  });
});

describe('a controller that did not run (controller-stall)', () => {
  it('120 s stopped: the overdue tick before the buffered heartbeats judges nobody; without the stall input it would', () => {
    for (const told of [true, false]) {
      const c = cluster();
      let t = c.run(T0 + 1000, 20);
      t += 120_000; // SIGSTOP … SIGCONT: no input at all meanwhile
      if (told) c.apply({ type: 'controller-stall', lateMs: 120_000 }, t);
      c.apply({ type: 'tick' }, t); // the overdue tick runs first
      for (const n of c.nodes) c.apply(c.heartbeat(n), t + 5); // then the buffered heartbeats
      c.run(t + 1000, 30);
      if (told) expect(c.all).toEqual({ decisions: 0, dead: 0, incidents: 0 });
      else expect(c.all.dead, 'the fault the rule prevents').toBe(5);
    }
  });

  it('begins the grace period and restarts the silence clocks at its end: a node still silent after it is judged then', () => {
    const c = cluster();
    let t = c.run(T0 + 1000, 20);
    t += 40_000;
    const r = c.apply({ type: 'controller-stall', lateMs: 40_000 }, t);
    expect(r.events).toEqual([expect.objectContaining({ kind: 'policy', message: expect.stringMatching(/^controller not running for 40 s: automatic actions held for 5 s/) })]);
    // n4 never speaks again: judged from the grace period's end (5 s), suspect 2 and dead 4 heartbeat intervals after it.
    for (let s = 0; s < 12; s++) {
      for (const n of ['n1', 'n2', 'n3', 'n5']) c.apply(c.heartbeat(n), t + s * 1000);
      c.apply({ type: 'tick' }, t + s * 1000 + 500);
      expect(c.m.nodeState('n4').liveness, `at ${s}.5 s`).toBe(s < 7 ? 'alive' : s < 9 ? 'suspect' : 'dead');
    }
  });
});
