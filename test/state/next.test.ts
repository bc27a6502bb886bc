/**
 * The "next" line (what muster will do about a node, and why or why not) and an admin's power
 * action: both read from the decision the correction acts on, on plain data and a fake clock.
 */
import { describe, expect, it } from 'vitest';
import { NodeNext } from '../../shared/protocol.js';
import { MIN, SEC, Sim, T0, actions, eventsOf } from './sim.js';

const iso = (t: number) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
const next = (sim: Sim, node: string) => NodeNext.parse(sim.machine.next(node, sim.now));

/** n001 booted to run, heartbeat a minute, then stopped beating (its agent still connected). */
function silentAfterAMinuteInRun(): Sim {
  const sim = new Sim();
  sim.boot('n001', 'run');
  sim.beating.add('n001');
  sim.advance(MIN);
  sim.beating.delete('n001');
  return sim;
}

describe('next: what muster will do and why', () => {
  it('a node defined but never booted: never seen', () => {
    const sim = new Sim();
    sim.apply({ type: 'faults', node: 'n001', count: 0 });
    expect(next(sim, 'n001')).toMatchObject({ state: 'never-seen', summary: 'never seen: muster acts only on nodes that have booted once' });
  });

  it('heartbeating in run: nothing to do', () => {
    const sim = new Sim();
    sim.boot('n001', 'run');
    sim.beating.add('n001');
    sim.advance(MIN);
    expect(next(sim, 'n001')).toMatchObject({ state: 'idle', hold: null, summary: 'nothing to do: healthy' });
  });

  it('dead in kernel: the phase deadline acts at its time unless the node reaches init; then the ladder in flight', () => {
    const sim = new Sim();
    sim.boot('n001', 'kernel');
    sim.advance(MIN);
    expect(next(sim, 'n001')).toEqual({
      state: 'watching',
      hold: null,
      policy: 'phase-deadline',
      action: null,
      attempt: null,
      maxAttempts: null,
      since: iso(T0),
      at: iso(T0 + 10 * MIN),
      summary: `dead in kernel since ${iso(T0)}; phase-deadline acts at ${iso(T0 + 10 * MIN)} unless it reaches init`,
    });
    const hung = sim.advance(9 * MIN);
    expect(actions(hung)).toEqual(['n001:console-tail#1']);
    expect(next(sim, 'n001')).toMatchObject({ state: 'acting', action: 'console-tail', attempt: 1, summary: expect.stringMatching(/^attempt 1\/3 \(console capture first\): console-tail in flight since .*, next: reset \(phase-deadline: hung/) });
    const reset = sim.result(hung.decisions[0]!);
    expect(next(sim, 'n001')).toMatchObject({ state: 'acting', action: 'reset', attempt: 1, summary: expect.stringMatching(new RegExp(`^attempt 1/3: reset in flight since ${iso(sim.now)}, next: power-cycle`)) });
    sim.result(reset.decisions[0]!);
    expect(next(sim, 'n001')).toMatchObject({ state: 'held', hold: 'awaiting-boot', at: iso(sim.now + 10 * MIN) });
  });

  it('admin offline: held, with the reason and who', () => {
    const sim = new Sim();
    sim.boot('n001', 'run');
    sim.apply({ type: 'admin-offline', node: 'n001', reason: 'fan noise', who: 'alice' });
    expect(next(sim, 'n001')).toMatchObject({ state: 'held', hold: 'admin-offline', summary: 'held: admin offline (fan noise, by alice)' });
  });

  it('a rack frozen by the breaker: held, naming the command that resumes it', () => {
    const rack = ['r1', 'r2', 'r3', 'r4', 'r5'];
    const sim = new Sim({}, Object.fromEntries(rack.map((n) => [n, ['rack1']])));
    for (const n of rack) {
      sim.boot(n, 'run');
      sim.beating.add(n);
    }
    sim.advance(MIN);
    for (const n of rack) sim.beating.delete(n);
    sim.advance(MIN);
    expect(sim.machine.frozenGroups()).toHaveLength(1);
    expect(next(sim, 'r1')).toMatchObject({ state: 'held', hold: 'breaker', policy: 'dead-while-online', summary: expect.stringContaining('(muster policy resume rack1); next: console-tail (dead-while-online: dead while admin-online') });
  });

  it('suspect in run: dead-while-online acts once the silence makes it dead', () => {
    const sim = new Sim();
    sim.boot('n001', 'run');
    sim.beating.add('n001');
    sim.advance(MIN);
    const heard = sim.now - (sim.now - T0) % (5 * SEC);
    sim.beating.delete('n001');
    sim.advance(12 * SEC);
    const n = next(sim, 'n001');
    expect(n).toMatchObject({ state: 'watching', policy: 'dead-while-online', summary: expect.stringMatching(/^suspect in run since .*; dead-while-online acts at .* unless it heartbeats again$/) });
    expect(Date.parse(n.at!)).toBeGreaterThan(heard);
  });
});

describe("an admin's power action", () => {
  it('marks the node: its effect is not detected as a failure, the line comes first, the reboot is expected', () => {
    const sim = silentAfterAMinuteInRun();
    const started = sim.apply({ type: 'admin-action', node: 'n001', action: 'power-cycle', who: 'alice' });
    expect(started.transitions).toMatchObject([{ axis: 'action', to: 'power-cycle started', by: 'alice', cause: 'admin alice' }]);
    expect(eventsOf(started, 'action', 'started')).toMatchObject([{ message: 'n001 power-cycle by alice' }]);
    const effect = sim.will('n001');
    expect(effect.transitions.map((t) => [t.axis, t.to])).toEqual([['liveness', 'dead']]);
    expect(next(sim, 'n001')).toMatchObject({ state: 'held', hold: 'admin-action', summary: `held: power-cycle by alice in flight since ${iso(sim.now)}` });
    const done = sim.apply({ type: 'action-result', node: 'n001', action: 'power-cycle', ok: true });
    expect(done.transitions).toMatchObject([{ axis: 'action', to: 'power-cycle done', by: 'alice' }]);
    const quiet = sim.advance(2 * MIN);
    expect(eventsOf(quiet, 'policy')).toEqual([]);
    expect(next(sim, 'n001').hold).toBe('admin-action');
    const reboot = sim.boot('n001', 'run');
    expect(reboot.transitions.find((t) => t.axis === 'agent')?.cause).toMatch(/after alice's power-cycle/);
    expect(sim.machine.snapshot('n001').bootTimes).toEqual([]);
    expect(sim.all.decisions).toEqual([]);
  });

  it('a node FAI installs (no agent runs during the install) is in phase build from its first report: its build deadline, not the boot wait, applies', () => {
    const sim = silentAfterAMinuteInRun();
    sim.apply({ type: 'admin-action', node: 'n001', action: 'power-cycle', who: 'build hand-off' });
    sim.will('n001');
    sim.apply({ type: 'action-result', node: 'n001', action: 'power-cycle', ok: true });
    sim.advance(4 * MIN);
    const first = sim.apply({ type: 'build-report', node: 'n001', system: 'fai', detail: 'task partition' });
    expect(first.transitions).toMatchObject([{ axis: 'phase', from: 'run', to: 'build', cause: 'fai: task partition' }]);
    const installing = sim.advance(20 * MIN);
    expect(sim.apply({ type: 'build-report', node: 'n001', system: 'fai', detail: 'task instsoft' }).transitions).toEqual([]);
    // Silent far past the 10 min boot wait, within the hour the build may take: nothing is detected.
    expect(eventsOf(installing, 'policy', 'detected')).toEqual([]);
    const overdue = sim.advance(40 * MIN);
    expect(eventsOf(overdue, 'policy', 'detected')).toMatchObject([{ details: { policy: 'phase-deadline' } }]);
    // Installed, it boots its disk: a new boot, out of build.
    const sim2 = silentAfterAMinuteInRun();
    sim2.apply({ type: 'build-report', node: 'n001', system: 'fai', detail: 'task install' });
    const disk = sim2.boot('n001', 'init');
    expect(disk.transitions.find((t) => t.axis === 'agent')?.cause).toMatch(/previous boot's last phase build/);
    expect(sim2.machine.nodeState('n001').phase).toBe('init');
  });

  it('a node that does not boot after it is looked at again once the boot wait is over', () => {
    const sim = silentAfterAMinuteInRun();
    sim.apply({ type: 'admin-action', node: 'n001', action: 'reset', who: 'alice' });
    sim.will('n001');
    sim.apply({ type: 'action-result', node: 'n001', action: 'reset', ok: true });
    const wait = sim.advance(10 * MIN - SEC);
    expect(eventsOf(wait, 'policy', 'detected')).toEqual([]);
    const after = sim.advance(2 * SEC);
    expect(eventsOf(after, 'policy', 'detected')).toMatchObject([{ details: { policy: 'dead-while-online' } }]);
    // The admin's action does not count against the ladder: its first attempt is still 1.
    expect(actions(after)).toEqual(['n001:console-tail#1']);
  });

  it('overtakes a console capture in flight', () => {
    const sim = new Sim();
    sim.boot('n001', 'kernel');
    const hung = sim.advance(11 * MIN);
    expect(actions(hung)).toEqual(['n001:console-tail#1']);
    const admin = sim.apply({ type: 'admin-action', node: 'n001', action: 'power-cycle', who: 'bob' });
    expect(admin.transitions.map((t) => `${t.to} (${t.by})`)).toEqual(['console-tail failed (policy phase-deadline)', 'power-cycle started (bob)']);
    expect(eventsOf(sim.result(hung.decisions[0]!), 'action', 'ignored')).toHaveLength(1);
  });
});
