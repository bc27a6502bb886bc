/**
 * A fake-clock driver for the state machine: feeds inputs at simulated times, ticks at the
 * machine's own nextDeadline() like the controller's timer would, sends heartbeats for the
 * nodes that are "up", and checks every output against the wire schemas.
 */
import { expect } from 'vitest';
import { Event, NodeState, Transition, type AgentPhase } from '../../shared/protocol.js';
import { parsePolicyConfig } from '../../controller/state/config.js';
import { StateMachine } from '../../controller/state/machine.js';
import type { Decision, StateInput, StepResult } from '../../controller/state/types.js';

export const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);
export const SEC = 1_000;
export const MIN = 60_000;

export interface Collected {
  transitions: StepResult['transitions'];
  events: StepResult['events'];
  decisions: Decision[];
  wouldDo: Decision[];
}

const empty = (): Collected => ({ transitions: [], events: [], decisions: [], wouldDo: [] });

export class Sim {
  now = T0;
  readonly machine: StateMachine;
  /** Everything since the simulation began. */
  readonly all: Collected = empty();
  /** Nodes whose agent sends a heartbeat every interval during advance(). */
  readonly beating = new Set<string>();
  private readonly boots = new Map<string, { bootId: string; phase: AgentPhase }>();
  private bootCounter = 0;
  /** When the beating nodes send their next heartbeat (kept across advance() calls). */
  private nextBeat = T0;
  private readonly interval: number;

  /** `owns`: which nodes this controller acts for (federation); every node when left out. */
  constructor(policies: unknown = {}, groups: Record<string, string[]> = {}, owns?: (node: string) => boolean) {
    const config = parsePolicyConfig(policies);
    this.interval = config.base.heartbeat.interval;
    this.machine = new StateMachine(config, (node) => groups[node] ?? [], owns ? { owns } : {});
  }

  apply(input: StateInput): Collected {
    const r = this.machine.apply(input, this.now);
    for (const t of r.transitions) expect(Transition.safeParse(t).success, JSON.stringify(t)).toBe(true);
    for (const e of r.events) expect(Event.safeParse(e).error, JSON.stringify(e)).toBeUndefined();
    for (const n of r.changed) expect(NodeState.safeParse(this.machine.nodeState(n)).error).toBeUndefined();
    const out: Collected = { transitions: r.transitions, events: r.events, decisions: r.decisions, wouldDo: r.wouldDo };
    for (const k of ['transitions', 'events', 'decisions', 'wouldDo'] as const) (this.all[k] as unknown[]).push(...out[k]);
    return out;
  }

  agentId(node: string): string {
    return `mac-${node}`;
  }

  bootId(node: string): string {
    const b = this.boots.get(node);
    if (!b) throw new Error(`sim: ${node} never booted`);
    return b.bootId;
  }

  /** A new boot: the agent says hello with a fresh boot id. */
  boot(node: string, phase: AgentPhase): Collected {
    const bootId = (++this.bootCounter).toString(16).padStart(8, '0');
    this.boots.set(node, { bootId, phase });
    return this.apply({ type: 'hello', node, agentId: this.agentId(node), bootId, phase });
  }

  /** An agent of a boot this Sim did not start (e.g. after a controller restart) sends a heartbeat. */
  rejoin(node: string, bootId: string, phase: AgentPhase): Collected {
    this.boots.set(node, { bootId, phase });
    return this.heartbeat(node);
  }

  phase(node: string, phase: AgentPhase): Collected {
    this.boots.get(node)!.phase = phase;
    return this.apply({ type: 'agent-state', node, agentId: this.agentId(node), bootId: this.bootId(node), phase });
  }

  heartbeat(node: string): Collected {
    const b = this.boots.get(node)!;
    return this.apply({ type: 'heartbeat', node, agentId: this.agentId(node), bootId: b.bootId, phase: b.phase });
  }

  will(node: string, bootId = this.bootId(node)): Collected {
    return this.apply({ type: 'will', node, agentId: this.agentId(node), bootId });
  }

  result(d: Decision, ok = true, detail?: string): Collected {
    if (d.action === 'offline' || d.action === 'hwlog') throw new Error(`sim: ${d.action} has no driver result`);
    return this.apply({ type: 'action-result', node: d.node, action: d.action, ok, ...(detail ? { detail } : {}) });
  }

  /**
   * Let `ms` pass: heartbeats for the beating nodes every interval, ticks whenever the machine
   * asks for one, and a final tick at the end. `onDecision` plays the lead's part.
   */
  advance(ms: number, onDecision?: (d: Decision) => Collected | void): Collected {
    const out = empty();
    const add = (c: Collected): void => {
      for (const k of ['transitions', 'events', 'decisions', 'wouldDo'] as const) (out[k] as unknown[]).push(...c[k]);
      for (const d of c.decisions) {
        const more = onDecision?.(d);
        if (more) add(more);
      }
    };
    const end = this.now + ms;
    if (this.nextBeat <= this.now) this.nextBeat = this.now + this.interval;
    let sameTime = 0;
    for (;;) {
      const deadline = this.machine.nextDeadline();
      const due = Math.min(deadline ?? Infinity, this.beating.size ? this.nextBeat : Infinity);
      if (due > end) break;
      if (due <= this.now && ++sameTime > 3) throw new Error(`sim: deadline ${due} does not advance (now ${this.now})`);
      if (due > this.now) sameTime = 0;
      this.now = Math.max(this.now, due);
      if (this.beating.size && due === this.nextBeat) {
        for (const n of this.beating) add(this.heartbeat(n));
        this.nextBeat += this.interval;
      } else add(this.apply({ type: 'tick' }));
    }
    this.now = end;
    add(this.apply({ type: 'tick' }));
    return out;
  }

  /** The driver's side when every action succeeds at once. */
  succeed = (d: Decision): Collected | void => {
    if (d.action !== 'offline' && d.action !== 'hwlog') return this.result(d);
  };
}

export const actions = (c: Collected, node?: string) => c.decisions.filter((d) => !node || d.node === node).map((d) => `${d.node}:${d.action}#${d.attempt}`);
export const eventsOf = (c: Collected, kind: string, state?: string) => c.events.filter((e) => e.kind === kind && (!state || e.details.state === state));
