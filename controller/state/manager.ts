import { NodeState, type Heartbeat } from '../../shared/protocol.js';
import type { Context, Extension, StateView } from '../context.js';
import type { Identification } from '../identify/service.js';
import { openHwlogIssue } from '../records/hwlog-service.js';
import { openIssueCount } from '../records/hwlog.js';
import type { ActionsPort } from './actions.js';
import { parsePolicyConfig } from './config.js';
import { StateMachine } from './machine.js';
import { DRIVER_ACTIONS, type Decision, type DriverAction, type StateInput, type StepResult } from './types.js';

const TICK_MAX_MS = 1000;
/**
 * Ticks at most this often. A tick scans every node's wake time, and with quiet heartbeats (see
 * StateMachine.quietHeartbeat) some node's wake is always a few ms away at 10k nodes: unspaced,
 * that was hundreds of 10k-node scans a second. Time rules are seconds to minutes; 250 ms late is nothing.
 */
const TICK_MIN_MS = 250;

/**
 * The I/O around the pure state machine: feeds it agent messages, admin changes, driver results
 * and ticks; journals and publishes what it reports; keeps the retained node states and the store
 * in step; carries out its decisions through the actions port.
 */
export class StateManager implements Extension, StateView {
  readonly name = 'state';
  private ctx!: Context;
  private machine!: StateMachine;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private lastTickAt = -Infinity;
  private offs: Array<() => void> = [];
  private stopped = false;

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
    this.machine = new StateMachine(policies, (n) => ctx.nodes.get(n)?.groups ?? []);
    for (const node of Object.values(ctx.store.data.nodes)) {
      if (node.runtime === undefined) continue;
      try {
        this.machine.load([node.runtime]);
      } catch (err) {
        ctx.log.error({ node: node.name, err: (err as Error).message }, 'state record unreadable: node starts as unknown');
      }
    }
    for (const name of ctx.nodes.names()) {
      this.ensure(name);
      const faults = openIssueCount(ctx.store.data, name);
      if (faults !== this.machine.nodeState(name).faults) this.machine.apply({ type: 'faults', node: name, count: faults }, ctx.now());
    }
    ctx.state = this;
    this.apply({ type: 'controller-start' });
    // aedes keeps retained messages in memory only: publish every node's state again.
    this.publishAll();

    const { events } = ctx;
    this.offs.push(
      events.on('node:bound', ({ node, agentId, hello }) => {
        if (hello) this.apply({ type: 'hello', node, agentId, bootId: hello.bootId, phase: hello.phase });
      }),
      events.on('agent:state', ({ agentId, msg }) => this.fromAgent(agentId, (node) => ({ type: 'agent-state', node, agentId, bootId: msg.bootId, phase: msg.phase }))),
      events.on('agent:heartbeat', ({ agentId, msg }) => this.heartbeat(agentId, msg)),
      events.on('node:defined', ({ node }) => this.machine.nodeChanged(node)),
      events.on('hwlog:changed', ({ node }) => {
        if (this.machine.has(node)) this.apply({ type: 'faults', node, count: openIssueCount(ctx.store.data, node) });
      }),
      events.on('agent:status', ({ agentId, msg }) => {
        if (!msg.online) this.fromAgent(agentId, (node) => ({ type: 'will', node, agentId, bootId: msg.bootId }));
      }),
    );
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
    for (const off of this.offs) off();
    if (this.timer) clearTimeout(this.timer);
    this.persistAll();
  }

  // ---- StateView -------------------------------------------------------------------------------

  get(node: string): NodeState | null {
    return this.machine.has(node) ? this.machine.nodeState(node) : null;
  }

  setAdmin(nodes: readonly string[], admin: 'online' | 'offline', reason: string | null, by: string): void {
    if (admin === 'offline' && !reason) throw new Error('offline needs a reason');
    for (const node of nodes) {
      this.ensure(node);
      this.apply(admin === 'offline' ? { type: 'admin-offline', node, reason: reason!, who: by } : { type: 'admin-online', node, who: by });
    }
  }

  consolePattern(node: string, pattern: string, line: string): void {
    if (this.machine.has(node)) this.apply({ type: 'console-pattern', node, pattern, line: line.slice(0, 2048) });
  }

  powerReading(node: string, power: 'on' | 'off' | 'unknown'): void {
    if (this.machine.has(node)) this.apply({ type: 'power', node, power });
  }

  nodeDefined(node: string): void {
    if (this.ensure(node)) this.publishState(node);
  }

  nodeRemoved(node: string): void {
    this.machine.remove(node);
    // An empty retained message deletes the retained state.
    void this.ctx.bus.publish(this.ctx.topics.nodeState(node), '', { retain: true, qos: 1 });
  }

  /** `muster policy resume GROUP`. */
  /** `muster policy resume GROUP`; throws when the group is not frozen. */
  resume(group: string, who: string): void {
    this.step({ type: 'policy-resume', group, who });
  }

  frozenGroups() {
    return this.machine.frozenGroups();
  }

  // ---- inputs ----------------------------------------------------------------------------------

  private fromAgent(agentId: string, input: (node: string) => StateInput): void {
    const node = this.identification.nodeOf(agentId);
    if (node) this.apply(input(node));
  }

  /** The one input at message rate: no closure per message, and a quiet one needs no handling. */
  private heartbeat(agentId: string, msg: Heartbeat): void {
    const node = this.identification.nodeOf(agentId);
    if (node) this.apply({ type: 'heartbeat', node, agentId, bootId: msg.bootId, phase: msg.phase });
  }

  /** Make sure the machine tracks a defined node; true when it was new. */
  private ensure(node: string): boolean {
    if (this.machine.has(node)) return false;
    this.machine.apply({ type: 'faults', node, count: 0 }, this.ctx.now());
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
    const result: StepResult = this.machine.apply(input, this.ctx.now());
    if (result === StateMachine.QUIET) return; // changed nothing but a time last heard
    this.handle(result);
    // A node's message can only bring its own wake time forward: no scan of every node (a
    // heartbeat at 10k nodes would otherwise cost ~100 µs). Ticks and global inputs rescan.
    const nodeInput = 'node' in input;
    this.schedule(nodeInput ? this.machine.lastStepWake() : this.machine.nextDeadline());
  }

  private handle(r: StepResult): void {
    const { ctx } = this;
    for (const t of r.transitions) {
      ctx.journal.append(t);
      ctx.publishEvent({ kind: 'transition', node: t.node, agentId: null, at: t.at, message: `${t.node} ${t.axis} ${t.from ?? '-'} → ${t.to ?? '-'} (${t.cause})`, details: { ...t } });
      ctx.events.emit('node:transition', t);
    }
    for (const e of r.events) ctx.publishEvent(e);
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

  private publishState(node: string): void {
    const state = this.machine.nodeState(node);
    this.ctx.bus.publish(this.ctx.topics.nodeState(node), JSON.stringify(state), { retain: true, qos: 1 }).catch((err: Error) => this.ctx.log.error({ node, err: err.message }, 'node state publish failed'));
  }

  private publishAll(): void {
    for (const name of this.machine.nodeNames()) this.publishState(name);
  }

  /** The store keeps the machine's record of a node whose retained state changed (not every heartbeat). */
  private persist(node: string): void {
    if (!this.ctx.nodes.get(node)) return;
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
    const now = this.ctx.now();
    const at = Math.max(this.lastTickAt + TICK_MIN_MS, Math.min(now + TICK_MAX_MS, next ?? Infinity));
    // A steady stream of messages must not keep pushing the tick back.
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Infinity;
      this.lastTickAt = this.ctx.now();
      this.apply({ type: 'tick' });
    }, Math.max(0, at - now));
    this.timer.unref();
  }
}
