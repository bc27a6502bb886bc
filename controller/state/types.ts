/**
 * The state manager's data: a node's runtime record (plain JSON, persisted by the lead), the
 * inputs the machine accepts, and what one step returns.
 */
import { z } from 'zod';
import { AgentId, AgentPhase, BootId, NodeName, NodeState, PROTOCOL_VERSION, Phase, Power, type Event, type Transition } from '../../shared/protocol.js';

const time = z.number().int().nonnegative();

export const DRIVER_ACTIONS = ['console-tail', 'reset', 'power-cycle'] as const;
/** Actions a driver carries out (power-cycle = off, verify off, on). */
export const DriverAction = z.enum(DRIVER_ACTIONS);
export type DriverAction = z.infer<typeof DriverAction>;
/** `offline` is already applied to the machine's state when decided; `hwlog` asks for an issue. */
export type DecisionAction = DriverAction | 'offline' | 'hwlog';

export const POLICY_NAMES = ['console-panic', 'boot-loop', 'phase-deadline', 'dead-while-online'] as const;
export const PolicyName = z.enum(POLICY_NAMES);
export type PolicyName = z.infer<typeof PolicyName>;

/** What the machine asks the lead to do. */
export interface Decision {
  node: string;
  action: DecisionAction;
  reason: string;
  policy: PolicyName;
  /** Corrective attempt this belongs to (1-based); console-tail carries the attempt it prepares. */
  attempt: number;
}

/** An admin's power action, recorded so its effect (the node going dead, rebooting) is expected. */
export const ADMIN_POWER_ACTIONS = ['power-on', 'power-off', 'reset', 'power-cycle'] as const;
export const AdminPowerAction = z.enum(ADMIN_POWER_ACTIONS);
export type AdminPowerAction = z.infer<typeof AdminPowerAction>;
/** Any action a node's record keeps. */
export const RecordedAction = z.enum([...DRIVER_ACTIONS, 'power-on', 'power-off']);
export type RecordedAction = z.infer<typeof RecordedAction>;

/** One action, automatic (`policy`) or an admin's (`by`, policy null): in flight while `finishedAt` is null. */
export const ActionRecord = z.object({
  action: RecordedAction,
  policy: PolicyName.nullable(),
  /** The admin who asked; null for a policy's action. */
  by: z.string().max(128).nullable().default(null),
  /** The policy's corrective attempt (1-based); 0 for an admin's action. */
  attempt: z.number().int().nonnegative(),
  startedAt: time,
  finishedAt: time.nullable(),
  ok: z.boolean().nullable(),
  detail: z.string().max(1024).nullable(),
});
export type ActionRecord = z.infer<typeof ActionRecord>;

/** The problem a policy currently sees on a node (one episode). */
export const Problem = z.object({
  policy: PolicyName,
  since: time,
  /** One line for people, e.g. `hung: in kernel for 10 min, should reach init within 10 min`. */
  summary: z.string().max(1024),
  evidence: z.record(z.string(), z.unknown()),
  /** The guard or limit last reported as holding the ladder back, so it is reported once. */
  heldBy: z.string().nullable(),
  /** Dry-run: the plan last published as "would do", so it is published once. */
  wouldDo: z.string().nullable(),
});
export type Problem = z.infer<typeof Problem>;

/** Who claimed the node against its record, and why that is a conflict. */
export const NodeConflict = z.object({ agentId: AgentId.nullable(), reason: z.string().max(1024), since: time });
export type NodeConflict = z.infer<typeof NodeConflict>;

/** A node's whole runtime record. Plain JSON: store it, restart, `load()` it back. */
export const NodeRuntimeRecord = NodeState.omit({ v: true }).extend({
  /** When the node stopped being alive (null while alive): what the breaker counts. */
  silentSince: time.nullable(),
  /** When the current boot id was first seen. */
  bootSeenAt: time.nullable(),
  /** Recent earlier boot ids: late messages from them are ignored. */
  pastBootIds: z.array(BootId).max(16),
  /** Last message from the agent (hello, state or heartbeat). */
  lastHeard: time.nullable(),
  previousBootLastPhase: Phase.nullable(),
  /** Reboots muster did not cause, within the boot-loop window. */
  bootTimes: z.array(time).max(1000),
  /** Automatic and admin power actions of the last 24 h, oldest first; the in-flight one is last. */
  actions: z.array(ActionRecord).max(1000),
  /** Corrective attempts since the node was last stable (reset by stability or admin online). */
  attempts: z.number().int().nonnegative(),
  problem: Problem.nullable(),
  /** A console pattern seen during the current boot. */
  consoleAlarm: z.object({ pattern: z.string(), line: z.string(), at: time, bootId: BootId.nullable() }).nullable(),
  /** An identity conflict on the node: no automatic action until an admin decides (`muster conflict clear`, `assign --force`). */
  conflict: NodeConflict.nullable().default(null),
  /** The agent's connection number (within its boot) from its last hello: a will from a lower one is stale. */
  connection: z.number().int().positive().nullable().default(null),
});
export type NodeRuntime = z.infer<typeof NodeRuntimeRecord>;

const agentFields = { node: NodeName, agentId: AgentId, bootId: BootId };
/** Everything that can happen to the machine. Time comes separately, with `apply(input, now)`. */
export const StateInput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('hello'), ...agentFields, phase: AgentPhase, connection: z.number().int().positive().optional() }),
  z.object({ type: z.literal('agent-state'), ...agentFields, phase: AgentPhase }),
  z.object({ type: z.literal('heartbeat'), ...agentFields, phase: AgentPhase }),
  /** `status` with `online:false`, usually the broker-sent will. */
  z.object({ type: z.literal('will'), ...agentFields, connection: z.number().int().positive().optional() }),
  z.object({ type: z.literal('tick') }),
  z.object({ type: z.literal('admin-offline'), node: NodeName, reason: z.string().min(1).max(1024), who: z.string().min(1).max(128) }),
  z.object({ type: z.literal('admin-online'), node: NodeName, who: z.string().min(1).max(128) }),
  z.object({ type: z.literal('power'), node: NodeName, power: Power }),
  /** An admin's power action started (its result comes as an `action-result`). */
  z.object({ type: z.literal('admin-action'), node: NodeName, action: AdminPowerAction, who: z.string().min(1).max(128) }),
  z.object({ type: z.literal('action-result'), node: NodeName, action: RecordedAction, ok: z.boolean(), detail: z.string().max(1024).optional() }),
  z.object({ type: z.literal('faults'), node: NodeName, count: z.number().int().nonnegative() }),
  /** A build system that runs no muster agent on the node (FAI) reports it installing: the node is in phase `build`. */
  z.object({ type: z.literal('build-report'), node: NodeName, system: z.string().min(1).max(64), detail: z.string().max(1024) }),
  /** This controller took the node over from another (federation): what it knew of the node's times is stale. */
  z.object({ type: z.literal('adopted'), node: NodeName }),
  z.object({ type: z.literal('controller-start') }),
  /** The controller was not running for `lateMs` (stopped, starved): like a start, nobody is blamed. */
  z.object({ type: z.literal('controller-stall'), lateMs: z.number().int().nonnegative() }),
  z.object({ type: z.literal('broker-reconnect') }),
  z.object({ type: z.literal('console-pattern'), node: NodeName, pattern: z.string().min(1).max(64), line: z.string() }),
  z.object({ type: z.literal('policy-resume'), group: z.string().min(1).max(63), who: z.string().min(1).max(128) }),
  /** The identification found a claim on the node that contradicts it; `conflict-cleared`: an admin decided. */
  z.object({ type: z.literal('conflict'), node: NodeName, agentId: AgentId.nullable(), reason: z.string().min(1).max(1024) }),
  z.object({ type: z.literal('conflict-cleared'), node: NodeName, who: z.string().min(1).max(128) }),
]);
export type StateInput = z.infer<typeof StateInput>;

export interface StepResult {
  /**
   * Every change on an axis, in order: journal them and publish them as `transition` events; the
   * `action` axis's lines are journalled only (their `action` events are in `events`).
   */
  transitions: Transition[];
  /** `policy`, `action` and `incident` events to publish. */
  events: Event[];
  /** Actions to carry out; report each outcome back as an `action-result` input. */
  decisions: Decision[];
  /** Dry-run: what would have been decided (already published as `action` events). */
  wouldDo: Decision[];
  /** Nodes whose retained state (`nodeState()`) changed and should be republished. */
  changed: string[];
}

/** A node muster has not heard from yet: nothing known, admin-online. */
export function newRuntime(node: string, now: number): NodeRuntime {
  return {
    node,
    phase: 'unknown',
    phaseSince: now,
    liveness: 'dead',
    livenessSince: now,
    silentSince: now,
    admin: 'online',
    reason: null,
    adminBy: null,
    adminSince: now,
    power: 'unknown',
    powerSince: now,
    faults: 0,
    since: now,
    agentId: null,
    bootId: null,
    bootSeenAt: null,
    pastBootIds: [],
    lastHeard: null,
    previousBootLastPhase: null,
    bootTimes: [],
    actions: [],
    attempts: 0,
    problem: null,
    consoleAlarm: null,
    conflict: null,
    connection: null,
  };
}

/** The retained `muster/nodes/<node>/state` payload of a runtime record. */
export function nodeStateOf(rt: NodeRuntime): NodeState {
  return {
    v: PROTOCOL_VERSION,
    node: rt.node,
    phase: rt.phase,
    phaseSince: rt.phaseSince,
    liveness: rt.liveness,
    livenessSince: rt.livenessSince,
    admin: rt.admin,
    reason: rt.reason,
    adminBy: rt.adminBy,
    adminSince: rt.adminSince,
    power: rt.power,
    powerSince: rt.powerSince,
    faults: rt.faults,
    since: rt.since,
    agentId: rt.agentId,
    bootId: rt.bootId,
  };
}

/** A node state with its times moved by `offset` (steady to wall time, see controller/clock.ts). */
export function stateAtWall(s: NodeState, offset: number): NodeState {
  if (offset === 0) return s;
  return { ...s, phaseSince: s.phaseSince + offset, livenessSince: s.livenessSince + offset, adminSince: s.adminSince + offset, powerSince: s.powerSince + offset, since: s.since + offset };
}
