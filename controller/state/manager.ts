import type { Heartbeat, NodeState } from '../../shared/protocol.js';
import type { Context, Extension, ServesNodeStates, StateReader } from '../context.js';
import type { ControllerEvents, EventOwner } from '../events.js';
import type { Identification } from '../identify/service.js';
import { partitionedPlane } from '../federation/agent-plane.js';
import type { NodeOwnership } from '../federation/node-ownership.js';
import { wallOffset } from '../clock.js';
import { openHwlogIssue } from '../records/hwlog-service.js';
import { openIssueCount } from '../records/hwlog.js';
import type { ActionsPort } from './actions.js';
import { parsePolicyConfig } from './config.js';
import { intervalMismatch } from './liveness.js';
import { StoreLoadError } from '../store/store.js';
import { StateMachine } from './machine.js';
import { restoreRuntime, type Restored } from './restore.js';
import { DRIVER_ACTIONS, stateAtWall, type AdminPowerAction, type Decision, type DriverAction, type StateInput, type StepResult } from './types.js';
import { journalAction } from '../store/action-journal.js';
import type { AdminPowerRequest } from '../events.js';

const TICK_MAX_MS = 1000;
/** An admin's power action as the node's record names it. */
const ADMIN_ACTION: Record<AdminPowerRequest, AdminPowerAction> = { on: 'power-on', off: 'power-off', reset: 'reset', cycle: 'power-cycle' };
/**
 * Ticks at most this often. A tick scans every node's wake time, and with quiet heartbeats (see
 * StateMachine.quietHeartbeat) some node's wake is always a few ms away at 10k nodes: unspaced,
 * that was hundreds of 10k-node scans a second. Time rules are seconds to minutes; 250 ms late is nothing.
 */
const TICK_MIN_MS = 250;
/**
 * A tick this much later than scheduled (ticks come at least every TICK_MAX_MS) means the
 * controller was not running: stopped, starved or suspended. At least the heartbeat interval,
 * and never under 2 s, so a busy moment on a loaded host is not one (a stall that short cannot
 * make a node dead at 1 s heartbeats: by default that takes 4 missed intervals).
 */
const STALL_MIN_MS = 2000;

/**
 * The I/O around the pure state machine: feeds it what the event bus tells (agent messages,
 * definitions, power readings, console patterns, hwlog changes, admin requests, identity
 * conflicts), driver results
 * and ticks; journals and publishes what it reports; keeps the retained node states and the store
 * in step; carries out its decisions through the actions port. The rest of the controller reads
 * node states through `nodeStates` and tells the manager things only by events.
 */
export class StateManager implements Extension, ServesNodeStates {
  readonly name = 'state';
  /** Read-only to everyone else; before start, no node has a state. */
  readonly nodeStates: StateReader = {
    get: (node) => (this.machine !== undefined && this.machine.has(node) ? this.shownState(node) : null),
    frozenGroups: () => (this.machine !== undefined ? this.machine.frozenGroups().map((f) => ({ ...f, since: this.toWall(f.since) })) : []),
    conflict: (node) => {
      const conflict = this.machine !== undefined && this.machine.has(node) ? this.machine.record(node).conflict : null;
      return conflict && { ...conflict, since: this.toWall(conflict.since) };
    },
    next: (node) => (this.machine !== undefined && this.machine.has(node) ? this.machine.next(node, this.ctx.steady(), this.wallOffset()) : null),
  };
  private ctx!: Context;
  private machine!: StateMachine;
  private events!: EventOwner;
  /**
   * With federation on shared brokers, only the owner of a node takes its agent's messages: one
   * another controller owns may still reach this one between a partition's loss and its
   * unsubscription, or as a hello every controller hears. Null: every message is taken.
   */
  private agentsHeardBy: NodeOwnership | null = null;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private lastTickAt = -Infinity;
  private stallMs = STALL_MIN_MS;
  private stopped = false;
  /** Nodes whose agent's heartbeat interval was found longer than heartbeat.interval (warned once). */
  private readonly intervalWarned = new Set<string>();

  constructor(
    private readonly identification: Identification,
    private readonly actions: ActionsPort,
  ) {}

  async start(ctx: Context): Promise<void> {
    this.ctx = ctx;
    const raw = (ctx.config.policies ?? {}) as Record<string, unknown>;
    const policies = parsePolicyConfig({
      ...raw,
      ...(ctx.config.dryRun ? { dryRun: true } : {}),
      // Durations in the policy config are seconds (or text like "5s").
      heartbeat: { interval: ctx.config.heartbeatIntervalS, ...(raw.heartbeat as object | undefined) },
    });
    const { ownership } = ctx;
    const machine = new StateMachine(policies, (n) => ctx.nodes.get(n)?.groups ?? [], ownership ? { owns: (n) => ownership.owns(n) } : {});
    this.machine = machine;
    this.agentsHeardBy = partitionedPlane(ctx);
    this.stallMs = Math.max(STALL_MIN_MS, policies.base.heartbeat.interval);
    for (const node of Object.values(ctx.store.data.nodes)) {
      if (node.runtime !== undefined) this.restore(node.name, node.runtime);
    }
    for (const name of ctx.nodes.names()) {
      this.ensure(name);
      const faults = openIssueCount(ctx.store.data, name);
      if (faults !== machine.nodeState(name).faults) machine.apply({ type: 'faults', node: name, count: faults }, ctx.steady());
    }
    this.apply({ type: 'controller-start' });
    // aedes keeps retained messages in memory only: publish every node's state again.
    this.publishAll();

    const events = (this.events = ctx.events.owner(this.name));
    events.on('node:bound', ({ node, agentId, hello }) => {
      if (!hello || !this.takesAgentOf(node)) return;
      this.apply({ type: 'hello', node, agentId, bootId: hello.bootId, phase: hello.phase, connection: hello.connection });
      this.warnOfInterval(node, agentId, hello.interval);
    });
    events.on('agent:state', ({ agentId, msg }) => this.fromAgent(agentId, (node) => ({ type: 'agent-state', node, agentId, bootId: msg.bootId, phase: msg.phase })));
    events.on('agent:heartbeat', ({ agentId, msg }) => this.heartbeat(agentId, msg));
    events.on('agent:status', ({ agentId, msg }) => {
      if (!msg.online) this.fromAgent(agentId, (node) => ({ type: 'will', node, agentId, bootId: msg.bootId, connection: msg.connection }));
    });
    events.on('node:changed', ({ node, change }) => (change === 'removed' ? this.forget(node) : this.track(node)));
    events.on('power:reading', ({ node, power }) => {
      if (machine.has(node)) this.apply({ type: 'power', node, power });
    });
    events.on('power:admin-started', ({ node, action, by }) => {
      if (machine.has(node)) this.apply({ type: 'admin-action', node, action: ADMIN_ACTION[action], who: by });
    });
    events.on('power:admin-finished', ({ node, action, ok, detail }) => {
      if (machine.has(node)) this.apply({ type: 'action-result', node, action: ADMIN_ACTION[action], ok, ...(detail ? { detail: detail.slice(0, 1024) } : {}) });
    });
    events.on('console:pattern', ({ node, pattern, line }) => {
      if (machine.has(node)) this.apply({ type: 'console-pattern', node, pattern, line: line.slice(0, 2048) });
    });
    events.on('hwlog:changed', ({ node }) => {
      if (machine.has(node)) this.apply({ type: 'faults', node, count: openIssueCount(ctx.store.data, node) });
    });
    events.on('admin:requested', (request) => this.setAdmin(request));
    events.on('ownership:changed', ({ gained }) => {
      if (!ownership || gained.length === 0) return;
      const adopted = new Set(gained);
      for (const node of machine.nodeNames()) if (adopted.has(ownership.partitionOf(node))) this.apply({ type: 'adopted', node });
    });
    events.on('build:installing', ({ node, system, detail }) => this.apply({ type: 'build-report', node, system, detail }));
    events.on('policy:resume', ({ group, by }) => this.apply({ type: 'policy-resume', group, who: by }));
    events.on('conflict:raised', ({ node, agentId, reason }) => {
      if (machine.has(node)) this.apply({ type: 'conflict', node, agentId, reason: reason.slice(0, 1024) });
    });
    events.on('conflict:cleared', ({ node, by }) => {
      if (machine.has(node)) this.apply({ type: 'conflict-cleared', node, who: by });
    });
    ctx.bus.onConnectionChange((s) => {
      if (s !== 'up') return;
      this.apply({ type: 'broker-reconnect' });
      // A restarted broker has forgotten the retained states: publish them all again.
      this.publishAll();
    });
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.events.off();
    if (this.timer) clearTimeout(this.timer);
    this.persistAll();
  }

  // ---- told by events --------------------------------------------------------------------------

  private setAdmin(request: ControllerEvents['admin:requested']): void {
    for (const node of request.nodes) {
      this.ensure(node);
      this.apply(request.admin === 'offline' ? { type: 'admin-offline', node, reason: request.reason, who: request.by } : { type: 'admin-online', node, who: request.by });
    }
  }

  /** Once per node and controller run: a mismatch is a setting, the same on every reconnect. */
  private warnOfInterval(node: string, agentId: string, intervalMs: number | undefined): void {
    const mismatch = this.intervalWarned.has(node) ? null : intervalMismatch(intervalMs, this.machine.policyFor(node).heartbeat);
    if (!mismatch) return;
    this.intervalWarned.add(node);
    this.ctx.log.warn({ node, agentId }, `node ${node}: ${mismatch}`);
  }

  /** A definition was created or changed: the machine tracks the node and rechecks its groups. */
  private track(node: string): void {
    this.machine.nodeChanged(node);
    const taken = this.takeOwnersRuntime(node);
    if (this.ensure(node) || taken) this.publishState(node);
  }

  /**
   * A node another controller owns (federation) has the runtime its owner wrote, which the store's
   * row holds (the change feed brings it): the machine takes it. True when it did.
   */
  private takeOwnersRuntime(node: string): boolean {
    const { ctx, machine } = this;
    const raw = ctx.nodes.get(node)?.runtime;
    if (!ctx.ownership || ctx.ownership.owns(node) || raw === undefined || (machine.has(node) && raw === machine.record(node))) return false;
    let restored: Restored;
    try {
      restored = restoreRuntime(node, raw, ctx.steady(), `nodes.${node}.runtime`);
    } catch (err) {
      ctx.log.error({ node, err: (err as Error).message }, "owner's state record not taken");
      return false;
    }
    if (restored.unreadable !== null) {
      ctx.log.error({ node, err: restored.unreadable }, "owner's state record unreadable; not taken");
      return false;
    }
    machine.load([restored.record]);
    return true;
  }

  private forget(node: string): void {
    this.machine.remove(node);
    // An empty retained message deletes the retained state.
    void this.ctx.bus.publish(this.ctx.topics.nodeState(node), '', { retain: true, qos: 1 });
  }

  // ---- inputs ----------------------------------------------------------------------------------

  private fromAgent(agentId: string, input: (node: string) => StateInput): void {
    const node = this.identification.nodeOf(agentId);
    if (node && this.takesAgentOf(node)) this.apply(input(node));
  }

  private takesAgentOf(node: string): boolean {
    return this.agentsHeardBy === null || this.agentsHeardBy.owns(node);
  }

  /** The one input at message rate: no closure per message, and a quiet one needs no handling. */
  private heartbeat(agentId: string, msg: Heartbeat): void {
    const node = this.identification.nodeOf(agentId);
    if (node && this.takesAgentOf(node)) this.apply({ type: 'heartbeat', node, agentId, bootId: msg.bootId, phase: msg.phase });
  }

  /** Load a node's stored runtime record; one the machine cannot read is reported whole and keeps its admin state (restore.ts). */
  private restore(node: string, raw: unknown): void {
    const { ctx } = this;
    let restored: Restored;
    try {
      restored = restoreRuntime(node, raw, ctx.steady(), `nodes.${node}.runtime`);
    } catch (err) {
      throw new StoreLoadError(`store ${ctx.store.where} ${(err as Error).message}.`);
    }
    this.machine.load([restored.record]);
    if (restored.unreadable === null) return;
    const admin = restored.adminKept ? restored.record.admin : 'unreadable: taken offline';
    ctx.log.error({ node, err: restored.unreadable, admin, record: raw }, 'state record unreadable: the node starts as unknown and keeps its admin state');
    if (!restored.adminKept) this.apply({ type: 'admin-offline', node, reason: `state record unreadable at start (${restored.unreadable})`.slice(0, 1024), who: 'muster' });
  }

  /** Make sure the machine tracks a defined node; true when it was new. */
  private ensure(node: string): boolean {
    if (this.machine.has(node)) return false;
    this.machine.apply({ type: 'faults', node, count: 0 }, this.ctx.steady());
    return true;
  }

  /** Feed one input; a refused input is logged (it came from the wire or a driver). */
  private apply(input: StateInput): void {
    try {
      this.step(input);
    } catch (err) {
      this.ctx.log.error({ input: input.type, err: (err as Error).message }, 'state input refused');
    }
  }

  private step(input: StateInput): void {
    if (this.stopped) return;
    const now = this.ctx.steady();
    this.noticeStall(now);
    const result: StepResult = this.machine.apply(input, now);
    if (result === StateMachine.QUIET) return; // changed nothing but a time last heard
    this.handle(result);
    // A node's message can only bring its own wake time forward: no scan of every node (a
    // heartbeat at 10k nodes would otherwise cost ~100 µs). Ticks and global inputs rescan.
    const nodeInput = 'node' in input;
    this.schedule(nodeInput ? this.machine.lastStepWake() : this.machine.nextDeadline());
  }

  /**
   * The controller was not running (its pending tick is long overdue, whether this input or the
   * tick is the first thing it does after): nobody is blamed for that silence. The machine starts
   * the grace period and restarts the silence clocks, as at a start, so the heartbeats buffered
   * meanwhile are read before anyone is judged.
   */
  private noticeStall(now: number): void {
    const late = now - this.timerAt;
    if (late < this.stallMs) return;
    this.timerAt = now; // noticed once; the overdue timer fires next
    this.handle(this.machine.apply({ type: 'controller-stall', lateMs: late }, now));
  }

  /** What turns the machine's steady times into wall times, for people and the journal (clock.ts). */
  private wallOffset(): number {
    return wallOffset(this.ctx.now(), this.ctx.steady());
  }

  private toWall(steady: number): number {
    return steady + this.wallOffset();
  }

  private shownState(node: string): NodeState {
    return stateAtWall(this.machine.nodeState(node), this.wallOffset());
  }

  private handle(r: StepResult): void {
    const { ctx } = this;
    const offset = this.wallOffset();
    for (const steady of r.transitions) {
      // With federation every controller may hear a node, but only its owner tells: the shared journal has each transition once.
      if (ctx.ownership && !ctx.ownership.owns(steady.node)) continue;
      const t = offset === 0 ? steady : { ...steady, at: steady.at + offset };
      // An action's line: its `action` event is what `watch` shows.
      if (t.axis === 'action') {
        journalAction(ctx, t);
        continue;
      }
      ctx.journal.append(t);
      ctx.publishEvent({ kind: 'transition', node: t.node, agentId: null, at: t.at, message: `${t.node} ${t.axis} ${t.from ?? '-'} → ${t.to ?? '-'} (${t.cause})`, details: { ...t } });
      ctx.events.emit('node:transition', t);
    }
    for (const e of r.events) ctx.publishEvent(offset === 0 ? e : { ...e, at: e.at + offset });
    for (const node of r.changed) {
      this.persist(node);
      this.publishState(node);
    }
    for (const d of r.decisions) void this.carryOut(d);
  }

  private async carryOut(d: Decision): Promise<void> {
    const { ctx } = this;
    if (d.action === 'offline') {
      // Already applied by the machine; make it durable now. A failed write is logged and counted
      // by the store's onWriteError and written again with the next change.
      await ctx.store.flush().catch(() => {});
      return;
    }
    if (d.action === 'hwlog') {
      // No console (or no log yet): the issue is opened without a tail as evidence.
      const tail = await this.actions.consoleTail(d.node, 50).catch(() => null);
      openHwlogIssue(ctx, { node: d.node, text: d.reason, source: 'policy', evidence: { policy: d.policy, attempts: d.attempt, consoleTail: tail } });
      return;
    }
    const action = d.action as DriverAction;
    if (!DRIVER_ACTIONS.includes(action)) return;
    const outcome = await this.actions.run({ ...d, action }, ctx).catch((err: Error) => ({ ok: false, detail: err.message }));
    if (this.stopped) return;
    this.apply({ type: 'action-result', node: d.node, action, ok: outcome.ok, ...(outcome.detail ? { detail: outcome.detail.slice(0, 1024) } : {}) });
  }

  // ---- output ----------------------------------------------------------------------------------

  /**
   * The node's retained state, published by its owner only (federation): another controller's
   * copy lags behind the owner's (the change feed) and would overwrite the owner's on the brokers.
   */
  private publishState(node: string): void {
    if (this.ctx.ownership && !this.ctx.ownership.owns(node)) return;
    const state = this.shownState(node);
    this.ctx.bus.publish(this.ctx.topics.nodeState(node), JSON.stringify(state), { retain: true, qos: 1 }).catch((err: Error) => this.ctx.log.error({ node, err: err.message }, 'node state publish failed'));
  }

  private publishAll(): void {
    for (const name of this.machine.nodeNames()) this.publishState(name);
  }

  /** The store keeps the machine's record of a node whose retained state changed (not every heartbeat). */
  private persist(node: string): void {
    if (!this.ctx.nodes.get(node)) return;
    // With federation, only a node's owner writes its runtime; the others take it (takeOwnersRuntime).
    if (this.ctx.ownership && !this.ctx.ownership.owns(node)) return;
    const record = this.machine.record(node);
    this.ctx.store.change(
      (d) => {
        const rec = d.nodes[node];
        if (rec) rec.runtime = record;
      },
      { nodes: [node] },
    );
  }

  private persistAll(): void {
    for (const node of this.machine.nodeNames()) this.persist(node);
  }

  /** Tick when the machine's next deadline (`next`) falls due, at least every second and at most every TICK_MIN_MS. */
  private schedule(next: number | null = this.machine.nextDeadline()): void {
    if (this.stopped) return;
    const now = this.ctx.steady();
    const at = Math.max(this.lastTickAt + TICK_MIN_MS, Math.min(now + TICK_MAX_MS, next ?? Infinity));
    // A steady stream of messages must not keep pushing the tick back.
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.lastTickAt = this.ctx.steady();
      // timerAt stays until the tick's step has checked it for a stall (noticeStall).
      this.apply({ type: 'tick' });
      if (this.timer === null) {
        this.timerAt = Infinity;
        this.schedule();
      }
    }, Math.max(0, at - now));
    this.timer.unref();
  }
}
