/**
 * The heartbeat shortcut (StateMachine.quietHeartbeat) must not change anything anyone sees: two
 * machines, one evaluating every heartbeat in full, get the same random inputs at the same times
 * and must give the same results and the same node states after every input.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicyConfig } from '../../controller/state/config.js';
import { StateMachine } from '../../controller/state/machine.js';
import type { Decision, StateInput, StepResult } from '../../controller/state/types.js';
import { MIN, SEC, T0 } from './sim.js';

const NODES = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];
const GROUPS: Record<string, string[]> = { a1: ['rack-a'], a2: ['rack-a'], a3: ['rack-a'], b1: ['rack-b'], b2: ['rack-b'], b3: [] };
const PHASES = ['build', 'kernel', 'init', 'run'] as const;
// Short deadlines and a small breaker so problems, actions, escalations and freezes all happen.
const POLICIES = {
  heartbeat: { interval: 5 },
  phaseDeadlines: { build: '2m', kernel: '1m', init: '1m' },
  bootLoop: { reboots: 3, within: '10m' },
  consolePanic: { patterns: ['Kernel panic'] },
  ladder: { backoff: '10s', awaitBoot: '1m', actionTimeout: '90s', stableAfter: '2m', maxAttempts: 2 },
  breaker: { minNodes: 2, window: '1m', settle: '20s' },
  groups: { 'rack-b': { dryRun: true } },
};

/** mulberry32: a fixed seed gives the same run every time. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const view = (r: StepResult) => ({ transitions: r.transitions, events: r.events, decisions: r.decisions, wouldDo: r.wouldDo, changed: r.changed });

function run(seed: number, steps: number): { quiet: number; heartbeats: number; decisions: number; problems: number } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const config = parsePolicyConfig(POLICIES);
  const groupsOf = (n: string) => GROUPS[n] ?? [];
  const shortcut = new StateMachine(config, groupsOf);
  const full = new StateMachine(config, groupsOf, { quietHeartbeats: false });
  const boots = new Map<string, { bootId: string; phase: (typeof PHASES)[number] }>();
  const inFlight: Decision[] = [];
  let now = T0;
  let bootCounter = 0;
  let compared = 0;
  const counts = { quiet: 0, heartbeats: 0, decisions: 0, problems: 0 };

  const apply = (input: StateInput): void => {
    const a = shortcut.apply(input, now);
    const b = full.apply(input, now);
    if (a === StateMachine.QUIET) counts.quiet++;
    expect(view(a), `seed ${seed}: ${JSON.stringify(input)} at +${now - T0} ms`).toEqual(view(b));
    // The input's node after every input, every node now and then (a tick touches any).
    const nodes = 'node' in input && ++compared % 25 !== 0 ? [input.node] : NODES;
    for (const node of nodes) if (full.has(node)) expect(shortcut.snapshot(node), `seed ${seed}: ${node} after ${input.type}`).toEqual(full.snapshot(node));
    counts.decisions += b.decisions.length;
    counts.problems += b.events.filter((e) => e.details.state === 'detected').length;
    inFlight.push(...b.decisions.filter((d) => d.action !== 'offline' && d.action !== 'hwlog'));
  };

  apply({ type: 'controller-start' });
  for (let i = 0; i < steps; i++) {
    // Time moves like the controller's: to a random moment (each node hears from its agent about
    // every heartbeat interval), or to whichever machine's next deadline comes first.
    const deadlines = [shortcut.nextDeadline(), full.nextDeadline()].filter((t): t is number => t !== null && t > now);
    now = rnd() < 0.2 && deadlines.length ? Math.min(...deadlines) : now + Math.floor(rnd() * 1.5 * SEC);
    const node = pick(NODES);
    const boot = boots.get(node);
    const agent = { node, agentId: `mac-${node}` };
    const r = rnd();
    if (r < 0.55 && boot) {
      counts.heartbeats++;
      apply({ type: 'heartbeat', ...agent, bootId: boot.bootId, phase: boot.phase });
    } else if (r < 0.62 || !boot) {
      const next = { bootId: (++bootCounter).toString(16).padStart(8, '0'), phase: pick(PHASES) };
      boots.set(node, next);
      apply({ type: 'hello', ...agent, ...next });
    } else if (r < 0.7) {
      boot.phase = pick(PHASES);
      apply({ type: 'agent-state', ...agent, bootId: boot.bootId, phase: boot.phase });
    } else if (r < 0.74) {
      apply({ type: 'will', ...agent, bootId: boot.bootId });
      boots.delete(node);
    } else if (r < 0.77) {
      apply(rnd() < 0.5 ? { type: 'admin-offline', node, reason: 'fuzz', who: 'test' } : { type: 'admin-online', node, who: 'test' });
    } else if (r < 0.8) {
      apply({ type: 'power', node, power: pick(['on', 'off', 'unknown'] as const) });
    } else if (r < 0.83) {
      apply({ type: 'console-pattern', node, pattern: 'Kernel panic', line: 'Kernel panic - not syncing' });
    } else if (r < 0.85) {
      apply({ type: 'faults', node, count: Math.floor(rnd() * 2) });
    } else if (r < 0.93 && inFlight.length) {
      const d = inFlight.splice(Math.floor(rnd() * inFlight.length), 1)[0]!;
      apply({ type: 'action-result', node: d.node, action: d.action as 'reset' | 'power-cycle' | 'console-tail', ok: rnd() < 0.5 });
    } else {
      apply({ type: 'tick' });
    }
  }
  return counts;
}

describe('quiet heartbeats', () => {
  it('give the same results and node states as evaluating every heartbeat in full (12 seeded runs)', () => {
    const total = { quiet: 0, heartbeats: 0, decisions: 0, problems: 0 };
    for (let seed = 1; seed <= 12; seed++) {
      const c = run(seed, 1_500);
      for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += c[k];
    }
    // Not vacuous: the shortcut was taken often, and the runs had problems and actions to get wrong.
    expect(total.quiet).toBeGreaterThan(500);
    expect(total.problems).toBeGreaterThan(50);
    expect(total.decisions).toBeGreaterThan(50);
  });

  it('an input between a silence time and its tick does not drop it: the tick still marks the node suspect', () => {
    // Found by the comparison above: the evaluation after the input left the passed silence time
    // out of the node's wake, and a node in run (no phase deadline) stayed alive for good.
    const machine = new StateMachine(parsePolicyConfig(POLICIES), () => []);
    const agent = { node: 'n1', agentId: 'mac-n1', bootId: '0000abcd', phase: 'run' as const };
    machine.apply({ type: 'controller-start' }, T0);
    machine.apply({ type: 'hello', ...agent }, T0);
    machine.apply({ type: 'faults', node: 'n1', count: 1 }, T0 + 11 * SEC);
    expect(machine.nextDeadline()).toBeLessThanOrEqual(T0 + 11 * SEC);
    const tick = machine.apply({ type: 'tick' }, T0 + 11 * SEC);
    expect(tick.transitions).toMatchObject([{ node: 'n1', axis: 'liveness', from: 'alive', to: 'suspect' }]);
  });

  it('a quiet heartbeat moves only the time last heard, and the tick still finds a hang at its deadline', () => {
    const machine = new StateMachine(parsePolicyConfig(POLICIES), () => []);
    const agent = { node: 'n1', agentId: 'mac-n1', bootId: '0000abcd', phase: 'kernel' as const };
    machine.apply({ type: 'hello', ...agent }, T0);
    const before = machine.snapshot('n1');
    expect(machine.apply({ type: 'heartbeat', ...agent }, T0 + 5 * SEC)).toBe(StateMachine.QUIET);
    expect(machine.snapshot('n1')).toEqual({ ...before, lastHeard: T0 + 5 * SEC });
    // Heartbeats keep coming, but kernel has a 1 min deadline: the tick at the deadline acts.
    for (let t = 10 * SEC; t < MIN; t += 5 * SEC) machine.apply({ type: 'heartbeat', ...agent }, T0 + t);
    expect(machine.nextDeadline()).toBeLessThanOrEqual(T0 + MIN);
    const tick = machine.apply({ type: 'tick' }, T0 + MIN);
    expect(tick.events.filter((e) => e.details.state === 'detected').map((e) => e.details.policy)).toEqual(['phase-deadline']);
    // A node with a problem is evaluated on every heartbeat again.
    expect(machine.apply({ type: 'heartbeat', ...agent }, T0 + MIN + 5 * SEC)).not.toBe(StateMachine.QUIET);
  });
});
