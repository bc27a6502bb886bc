/**
 * The node state machine: plain data and a clock in, new state, transitions, events and
 * decisions out. No I/O and no clock reads: the lead feeds MQTT messages, driver results and
 * ticks, and carries out the decisions.
 */
import { describeZodError, type NodeNext, type NodeState } from '../../shared/protocol.js';
import { actionLine, setAdmin, setLiveness, setPhase, setPower, transition } from './axes.js';
import { BreakerBoard, breakerView } from './breaker-board.js';
import type { NodePolicy, PolicyConfig } from './config.js';
import { correct, decide, type CorrectionEnv } from './correction.js';
import { explain } from './explain.js';
import { recentBoots } from './deadlines.js';
import { formatDuration, isoSeconds } from '../../shared/duration.js';
import { GroupCache } from './group-cache.js';
import { bootExpected, inFlight, lastCorrective } from './ladder.js';
import { isEarlierConnection, livenessAfterSilence, worse } from './liveness.js';
import { QUIET, Step } from './step.js';
import { NodeRuntimeRecord, StateInput, newRuntime, nodeStateOf, type AdminPowerAction, type NodeRuntime, type StepResult } from './types.js';
import { WakeIndex } from './wake-index.js';

const PAST_BOOTS_KEPT = 8;
const CONSOLE_LINE_MAX = 512;

type AgentInput = Extract<StateInput, { type: 'hello' | 'agent-state' | 'heartbeat' }>;
type NodeInput = Exclude<StateInput, { type: 'tick' | 'controller-start' | 'controller-stall' | 'broker-reconnect' | 'policy-resume' }>;
const AGENT_CAUSE: Record<AgentInput['type'], string> = { hello: 'agent hello', 'agent-state': 'agent state', heartbeat: 'heartbeat' };

export class StateMachine {
  /** The result of an input that changed nothing but a node's time last heard (`quietHeartbeat`). */
  static readonly QUIET: StepResult = QUIET;
  private readonly nodes = new Map<string, NodeRuntime>();
  private readonly groups: GroupCache;
  private readonly breakers: BreakerBoard;
  /** Per node, when its next time rule falls due; recomputed whenever the node is evaluated. */
  private readonly wake = new WakeIndex();
  /** The grace period and silence epoch, and the breakers' holds: what correction reads of the machine. */
  private readonly env: CorrectionEnv;
  /** The previous tick's time: what fell due since then is looked at, not every node. */
  private lastTick = 0;
  /** Every node and breaker is looked at on the next tick (after a load, a restart, a reconnect, a group edit or a removal). */
  private sweepPending = true;
  /** Time of the latest input. */
  private lastNow = 0;
  /** The earliest wake time set during the current `apply`. */
  private stepWake = Infinity;

  /**
   * `quietHeartbeats: false` evaluates every heartbeat in full, without the shortcut (see
   * `quietHeartbeat`): the tests run both ways and compare.
   */
  constructor(
    private readonly config: PolicyConfig,
    groupsOf: (node: string) => readonly string[],
    private readonly opts: { quietHeartbeats?: boolean; owns?: (node: string) => boolean } = {},
  ) {
    this.groups = new GroupCache(config, groupsOf, this.nodes);
    this.breakers = new BreakerBoard(this.groups);
    const owns = opts.owns ?? (() => true);
    this.env = { graceUntil: 0, silenceEpoch: 0, holding: (node) => this.breakers.holding(node, this.lastNow), owns };
  }

  /** Restore persisted records (from `snapshot()`); follow with a `controller-start` input. */
  load(records: readonly unknown[]): void {
    for (const [i, raw] of records.entries()) {
      const r = NodeRuntimeRecord.safeParse(raw);
      if (!r.success) {
        const name = typeof raw === 'object' && raw !== null && 'node' in raw ? ` (${String(raw.node)})` : '';
        throw new Error(`state record ${i}${name}: ${describeZodError(r.error)}`);
      }
      this.nodes.set(r.data.node, r.data);
    }
    this.groups.reloaded();
    this.sweepPending = true;
  }

  /** A node's definition changed: if its groups did, the cached groups, policies and group index go. */
  nodeChanged(node: string): void {
    if (this.groups.nodeChanged(node)) this.sweepPending = true;
  }

  apply(raw: StateInput, now: number): StepResult {
    if (!Number.isSafeInteger(now) || now < 0) throw new Error(`state machine: time must be epoch milliseconds, got ${now}`);
    // A heartbeat is the one input at message rate (2,000/s at 10k nodes), built by the manager
    // from a message the ingest already checked against the Heartbeat schema: not parsed twice.
    const input = raw.type === 'heartbeat' ? raw : parseInput(raw);
    this.lastNow = now;
    this.stepWake = Infinity;
    if (input.type === 'heartbeat' && this.opts.quietHeartbeats !== false && this.quietHeartbeat(input, now)) return StateMachine.QUIET;
    const step = new Step(now);
    switch (input.type) {
      case 'tick':
        this.tick(step);
        break;
      case 'controller-start':
        this.beginGrace(step, 'controller start');
        break;
      case 'controller-stall':
        this.beginGrace(step, `controller not running for ${formatDuration(input.lateMs)}`, 'deferred');
        break;
      case 'broker-reconnect':
        this.beginGrace(step, 'broker reconnect');
        break;
      case 'policy-resume':
        this.resume(step, input.group, input.who);
        break;
      default:
        this.nodeInput(step, input);
    }
    return step;
  }

  /** The node's whole runtime record (a copy, plain JSON). */
  snapshot(node: string): NodeRuntime {
    return structuredClone(this.get(node));
  }

  /**
   * The node's live runtime record, for the store to serialise at its next write: a copy per node
   * would double this memory (~0.6 KiB a node). Read-only to everyone but the machine.
   */
  record(node: string): Readonly<NodeRuntime> {
    return this.get(node);
  }

  snapshotAll(): NodeRuntime[] {
    return [...this.nodes.values()].map((rt) => structuredClone(rt));
  }

  /** The retained `muster/nodes/<node>/state` payload. */
  nodeState(node: string): NodeState {
    return nodeStateOf(this.get(node));
  }

  has(node: string): boolean {
    return this.nodes.has(node);
  }

  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** Forget a node (undefined by an admin). */
  remove(node: string): void {
    this.nodes.delete(node);
    this.wake.delete(node);
    this.groups.removed(node);
    this.sweepPending = true;
  }

  /**
   * What muster will do about the node next and why, from the same decision the correction acts
   * on; `offset` turns the machine's steady times into wall times (controller/clock.ts).
   */
  next(node: string, now: number, offset = 0): NodeNext {
    const rt = this.get(node);
    const policy = this.groups.policyFor(node);
    const time = (t: number) => isoSeconds(t + offset);
    return explain(decide(rt, policy, this.env, now, time), rt, policy, time);
  }

  /** Groups whose automatic actions the breaker has frozen. */
  frozenGroups(): { group: string; since: number }[] {
    return this.breakers.frozen();
  }

  /** The resolved policy for a node (its groups' overrides applied). */
  policyFor(node: string): NodePolicy {
    return this.groups.policyFor(node);
  }

  /**
   * The earliest wake time set by the last `apply` (null: none), so a caller can keep its timer
   * without scanning every node after each heartbeat; `nextDeadline()` is the full answer.
   */
  lastStepWake(): number | null {
    return this.stepWake === Infinity ? null : this.stepWake;
  }

  /** When `tick` should next be applied; null when no time rule is pending. */
  nextDeadline(): number | null {
    const settling = this.breakers.settleTimes();
    let next: number | null = null;
    for (const t of [this.env.graceUntil, ...settling]) if (t > this.lastNow && (next === null || t < next)) next = t;
    const wake = this.wake.earliest();
    return wake !== null && (next === null || wake < next) ? wake : next;
  }

  // ---- inputs ----------------------------------------------------------------------------------

  /**
   * The common heartbeat: same agent, boot and phase from a node alive and untroubled (no problem,
   * no attempts, no actions, no console alarm) whose next time rule is not due yet. It changes only
   * `lastHeard`, so it is recorded and nothing else: no step, no evaluation. Skipping the
   * evaluation is safe because every rule that could newly fire for such a node is a time rule
   * (phase deadline, silence), and the node's wake time, computed at its last evaluation, is no
   * later than any of them (`lastHeard` only moves the silence time later): the tick evaluates the
   * node then, as it does for every node. (At 10k nodes, 2,000 heartbeats/s, the full path made
   * ~0.7 KB of garbage a heartbeat, a Step, closures and the policy checks: bench/probe.)
   */
  private quietHeartbeat(input: Extract<StateInput, { type: 'heartbeat' }>, now: number): boolean {
    const rt = this.nodes.get(input.node);
    if (!rt || rt.agentId !== input.agentId || rt.bootId !== input.bootId || rt.phase !== input.phase || rt.liveness !== 'alive') return false;
    if (rt.problem !== null || rt.attempts !== 0 || rt.actions.length !== 0 || rt.consoleAlarm !== null) return false;
    const wake = this.wake.get(rt.node);
    if (wake === undefined || wake <= now) return false;
    rt.lastHeard = now;
    return true;
  }

  private nodeInput(step: Step, input: NodeInput): void {
    if (input.type === 'will') {
      const rt = this.nodes.get(input.node);
      // A will from an earlier boot, or from a connection the agent has since replaced, can arrive
      // after the new one's hello: it is stale.
      if (!rt || rt.bootId !== input.bootId || rt.agentId !== input.agentId || isEarlierConnection(input.connection, rt.connection)) return;
      this.afterNodeChange(step, rt, () => setLiveness(step, rt, 'dead', 'will (agent connection lost)'));
      return;
    }
    const rt = this.node(input.node, step.now);
    this.afterNodeChange(step, rt, () => {
      switch (input.type) {
        case 'hello':
        case 'agent-state':
        case 'heartbeat':
          return this.agentMessage(step, rt, input);
        case 'admin-offline':
          return setAdmin(step, rt, 'offline', input.reason, input.who);
        case 'admin-online':
          // Return to service is explicit (Slurm): the ladder starts afresh.
          if (setAdmin(step, rt, 'online', null, input.who)) {
            rt.attempts = 0;
            rt.problem = null;
          }
          return;
        case 'power':
          return setPower(step, rt, input.power);
        case 'admin-action':
          return this.adminAction(step, rt, input.action, input.who);
        case 'action-result':
          return this.actionResult(step, rt, input);
        case 'faults':
          if (rt.faults === input.count) return;
          rt.faults = input.count;
          rt.since = step.now;
          step.markChanged(rt.node);
          return;
        case 'console-pattern':
          return this.consolePattern(step, rt, input.pattern, input.line);
        case 'build-report':
          // Its build deadline counts from the first report; silence is expected while no agent runs.
          return setPhase(step, rt, 'build', `${input.system}: ${input.detail}`);
        case 'adopted':
          return this.adopt(step, rt);
        case 'conflict':
          return this.holdForConflict(step, rt, input.agentId, input.reason);
        case 'conflict-cleared':
          return this.clearConflict(step, rt, input.who);
      }
    });
  }

  /** Apply a change, then re-check the breakers it may affect and the node's policies. */
  private afterNodeChange(step: Step, rt: NodeRuntime, change: () => void): void {
    const before = breakerView(rt);
    change();
    if (breakerView(rt) !== before) {
      for (const group of this.breakers.evaluate(step, this.groups.groupsFor(rt.node), this.env.graceUntil)) this.evaluateGroup(step, group);
    }
    this.evaluate(step, rt);
  }

  private agentMessage(step: Step, rt: NodeRuntime, input: AgentInput): void {
    if (rt.pastBootIds.includes(input.bootId)) return; // a late message from an earlier boot
    const cause = AGENT_CAUSE[input.type];
    if (input.bootId !== rt.bootId || input.agentId !== rt.agentId) this.newBoot(step, rt, input, cause);
    else setPhase(step, rt, input.phase, cause);
    if (input.type === 'hello') rt.connection = input.connection ?? null;
    rt.lastHeard = step.now;
    setLiveness(step, rt, 'alive', cause);
  }

  /**
   * A node taken over from another controller starts its clocks now: its silence and phase times
   * here may be stale (the previous owner heard it), so it is neither dead nor hung until it has
   * been so for the policies' times from now; the problem episode starts afresh.
   */
  private adopt(step: Step, rt: NodeRuntime): void {
    if (rt.lastHeard !== null) {
      rt.lastHeard = step.now;
      if (rt.liveness !== 'alive') setLiveness(step, rt, 'alive', 'adopted from another controller: silence counted from now');
    }
    rt.phaseSince = step.now;
    rt.problem = null;
    step.markChanged(rt.node);
  }

  /** A boot id not seen before: the node rebooted (one `agent` transition, whatever the message). */
  private newBoot(step: Step, rt: NodeRuntime, input: AgentInput, via: string): void {
    const now = step.now;
    const from = rt.bootId === null ? null : `${rt.agentId}/${rt.bootId}`;
    let cause = `first contact (${via})`;
    if (rt.bootId !== null) {
      const expected = bootExpected(rt) ? lastCorrective(rt) : null;
      cause = `reboot, previous boot's last phase ${rt.phase}${expected ? ` (after ${expected.by ?? 'muster'}'s ${expected.action})` : ''} (${via})`;
      if (rt.agentId !== input.agentId) cause += `; agent changed from ${rt.agentId}`;
      rt.previousBootLastPhase = rt.phase;
      if (rt.bootId !== input.bootId) rt.pastBootIds = [...rt.pastBootIds, rt.bootId].slice(-PAST_BOOTS_KEPT);
      // Reboots muster caused are expected, not a boot loop.
      if (!expected) rt.bootTimes = [...recentBoots(rt.bootTimes, now, this.groups.policyFor(rt.node).bootLoop), now];
    }
    transition(step, rt, 'agent', from, `${input.agentId}/${input.bootId}`, cause);
    rt.agentId = input.agentId;
    rt.bootId = input.bootId;
    rt.bootSeenAt = now;
    rt.consoleAlarm = null;
    rt.connection = null;
    // A new boot restarts the phase clock, even when the phase has the same name.
    if (input.phase === rt.phase) rt.phaseSince = now;
    else setPhase(step, rt, input.phase, `new boot (${via})`);
  }

  private consolePattern(step: Step, rt: NodeRuntime, pattern: string, line: string): void {
    if (!this.groups.policyFor(rt.node).consolePanic.patterns.includes(pattern)) return;
    if (rt.consoleAlarm && rt.consoleAlarm.bootId === rt.bootId) return; // the first sighting per boot is the evidence
    rt.consoleAlarm = { pattern, line: line.slice(0, CONSOLE_LINE_MAX), at: step.now, bootId: rt.bootId };
  }

  /** The first claim is the evidence; later ones while it stands change nothing. */
  private holdForConflict(step: Step, rt: NodeRuntime, agentId: string | null, reason: string): void {
    if (rt.conflict) return;
    rt.conflict = { agentId, reason, since: step.now };
    step.markChanged(rt.node);
    step.event('policy', rt, `${rt.node}: automatic actions held until an admin decides (identity conflict: ${reason})`, { state: 'conflict', agentId, reason });
  }

  private clearConflict(step: Step, rt: NodeRuntime, who: string): void {
    if (!rt.conflict) return;
    step.event('policy', rt, `${rt.node}: identity conflict cleared by ${who}`, { state: 'conflict-cleared', who, conflict: rt.conflict });
    rt.conflict = null;
    step.markChanged(rt.node);
  }

  /**
   * An admin's power action started: recorded like muster's own, so the policies wait for its
   * result and the boot after it instead of taking its effect for a failure. The power service
   * refuses it while a power action is in flight; a console capture still running is overtaken.
   */
  private adminAction(step: Step, rt: NodeRuntime, action: AdminPowerAction, who: string): void {
    if (inFlight(rt)) this.finishAction(step, rt, false, `overtaken by ${action} by ${who}`);
    const record = { action, policy: null, by: who, attempt: 0, startedAt: step.now, finishedAt: null, ok: null, detail: null };
    rt.actions.push(record);
    step.markChanged(rt.node);
    step.event('action', rt, `${rt.node} ${action} by ${who}`, { state: 'started', action, by: who });
    actionLine(step, rt, record, 'started', `admin ${who}`);
  }

  private actionResult(step: Step, rt: NodeRuntime, input: Extract<StateInput, { type: 'action-result' }>): void {
    const flight = inFlight(rt);
    if (!flight || flight.action !== input.action) {
      step.event('action', rt, `${rt.node} ${input.action} result ignored: no ${input.action} in flight (late after a timeout?)`, {
        state: 'ignored',
        action: input.action,
        ok: input.ok,
        detail: input.detail ?? null,
      });
      return;
    }
    this.finishAction(step, rt, input.ok, input.detail ?? null);
  }

  private finishAction(step: Step, rt: NodeRuntime, ok: boolean, detail: string | null): void {
    const flight = inFlight(rt)!;
    flight.finishedAt = step.now;
    flight.ok = ok;
    flight.detail = detail;
    const outcome = ok ? 'done' : `failed: ${detail ?? 'no detail'}`;
    const who = flight.by === null ? `attempt ${flight.attempt}, policy ${flight.policy}` : `by ${flight.by}`;
    step.event('action', rt, `${rt.node} ${flight.action} ${outcome} (${who})`, { state: ok ? 'done' : 'failed', ...flight });
    actionLine(step, rt, flight, ok ? 'done' : 'failed', ok ? (detail ?? who) : `${detail ?? 'no detail'} (${who})`);
    step.markChanged(rt.node);
  }

  /**
   * Time rules: only the nodes whose wake time has come are looked at (at 10k heartbeating nodes,
   * usually none), plus the groups whose breaker settled and, after a start or reconnect, all.
   */
  private tick(step: Step): void {
    const { now } = step;
    const graceEnded = this.lastTick < this.env.graceUntil && this.env.graceUntil <= now;
    const sweep = this.sweepPending || graceEnded;
    this.sweepPending = false;
    const due: NodeRuntime[] = sweep ? [...this.nodes.values()] : this.wake.due(now).map((node) => this.get(node));
    // Silence first for every due node, then the breakers once, then the policies: a rack going
    // dark in one tick trips its breaker before any of its nodes is judged.
    const touched = new Set<string>();
    for (const rt of due) {
      const view = breakerView(rt);
      const policy = this.groups.policyFor(rt.node);
      const flight = inFlight(rt);
      if (flight && now >= flight.startedAt + policy.ladder.actionTimeout) {
        this.finishAction(step, rt, false, `no result within ${formatDuration(policy.ladder.actionTimeout)}`);
      }
      // Another controller's node is judged by its owner, which hears its agent (this one may not).
      if (this.env.owns(rt.node)) this.applySilence(step, rt, policy);
      if (breakerView(rt) !== view) for (const group of this.groups.groupsFor(rt.node)) touched.add(group);
    }
    // A sweep re-checks every breaker: the grace period's end dates the silences that began in it,
    // and a removed node or a group edit changes who counts.
    const recovered = this.breakers.evaluate(step, sweep ? this.groups.all() : touched, this.env.graceUntil);
    const settled = this.breakers.settledBetween(this.lastTick, now);
    this.lastTick = now;
    if (sweep) for (const rt of due) this.evaluate(step, rt);
    else {
      for (const rt of due) this.evaluate(step, rt);
      for (const group of new Set([...recovered, ...settled])) this.evaluateGroup(step, group);
    }
  }

  private applySilence(step: Step, rt: NodeRuntime, policy: NodePolicy): void {
    if (rt.lastHeard === null) return;
    const from = Math.max(rt.lastHeard, this.env.silenceEpoch);
    const target = worse(rt.liveness, livenessAfterSilence(from, step.now, policy.heartbeat));
    if (target === rt.liveness) return; // the usual case on a tick: no cause to spell out
    const missed = Math.floor((step.now - from) / policy.heartbeat.interval);
    setLiveness(step, rt, target, `no heartbeat for ${formatDuration(step.now - rt.lastHeard)} (${missed} intervals missed)`);
  }

  /**
   * Hold automatic actions for the grace period and restart every silence clock: now, or, after
   * the controller itself did not run (`deferred`), at the grace period's end. Agents cut off by
   * the stall (their keepalive gave up on a broker that did not answer) need that long to
   * reconnect, and their silence was the controller's.
   */
  private beginGrace(step: Step, cause: string, silence: 'now' | 'deferred' = 'now'): void {
    this.env.graceUntil = step.now + this.config.graceMs;
    this.env.silenceEpoch = silence === 'now' ? step.now : this.env.graceUntil;
    // Every node's silence clock restarts: all wake times move.
    this.sweepPending = true;
    step.event('policy', null, `${cause}: automatic actions held for ${formatDuration(this.config.graceMs)} so nodes can say hello`, {
      state: 'grace',
      cause,
      until: this.env.graceUntil,
    });
  }

  private resume(step: Step, group: string, who: string): void {
    this.breakers.resume(step, group, who);
    this.evaluateGroup(step, group);
  }

  // ---- correction ------------------------------------------------------------------------------

  private evaluate(step: Step, rt: NodeRuntime): void {
    const wake = correct(step, rt, this.groups.policyFor(rt.node), this.env);
    if (wake === null) this.wake.delete(rt.node);
    else {
      this.wake.set(rt.node, wake);
      if (wake < this.stepWake) this.stepWake = wake;
    }
  }

  private evaluateGroup(step: Step, group: string): void {
    for (const rt of this.groups.members(group)) this.evaluate(step, rt);
  }

  // ---- lookups ---------------------------------------------------------------------------------

  private get(node: string): NodeRuntime {
    const rt = this.nodes.get(node);
    if (!rt) throw new Error(`state: unknown node "${node}"`);
    return rt;
  }

  private node(name: string, now: number): NodeRuntime {
    let rt = this.nodes.get(name);
    if (!rt) {
      rt = newRuntime(name, now);
      this.nodes.set(name, rt);
      this.groups.added(rt);
    }
    return rt;
  }
}

function parseInput(raw: StateInput): StateInput {
  const parsed = StateInput.safeParse(raw);
  if (parsed.success) return parsed.data;
  const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String(raw.type) : '(no type)';
  throw new Error(`state input ${type}: ${describeZodError(parsed.error)}`);
}
