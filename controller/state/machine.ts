/**
 * The node state machine: plain data and a clock in, new state, transitions, events and
 * decisions out. No I/O and no clock reads: the lead feeds MQTT messages, driver results and
 * ticks, and carries out the decisions.
 */
import { PROTOCOL_VERSION, describeZodError, type Admin, type Axis, type Event, type EventKind, type Liveness, type NodeState, type Phase, type Power, type Transition } from '../../shared/protocol.js';
import { evaluateBreaker, initialBreaker, isFrozen, notFrozen, resumedBreaker, type BreakerState, type Census, type Member } from './breaker.js';
import { UNGROUPED, resolvePolicy, type NodePolicy, type PolicyConfig } from './config.js';
import { phaseDeadlineAt, recentBoots } from './deadlines.js';
import { formatDuration } from './duration.js';
import { blockingGuard, settledAt, type GuardName } from './guards.js';
import { awaitingBootUntil, bootExpected, inFlight, lastCorrective, nextStep, pruneActions, type LadderStep } from './ladder.js';
import { livenessAfterSilence, nextSilenceChange, worse } from './liveness.js';
import { detectProblem, type Detection } from './policies.js';
import { NodeRuntimeRecord, StateInput, type Decision, type NodeRuntime, type Problem, type StepResult } from './types.js';
import { WakeIndex } from './wake-index.js';

const PAST_BOOTS_KEPT = 8;
const CONSOLE_LINE_MAX = 512;
/** Who muster's own admin changes are attributed to. */
const MUSTER = 'muster';
/** Holds that are the ladder's normal course, not news: they are not published. */
const QUIET_HOLDS: ReadonlySet<string> = new Set<GuardName | 'backoff'>(['action-in-flight', 'awaiting-boot', 'backoff', 'settling']);

type AgentInput = Extract<StateInput, { type: 'hello' | 'agent-state' | 'heartbeat' }>;
type NodeInput = Exclude<StateInput, { type: 'tick' | 'controller-start' | 'broker-reconnect' | 'policy-resume' }>;
const AGENT_CAUSE: Record<AgentInput['type'], string> = { hello: 'agent hello', 'agent-state': 'agent state', heartbeat: 'heartbeat' };

/** What one `apply` produces, collected as it goes; it is itself the result (one object per input). */
class Step implements StepResult {
  readonly transitions: Transition[] = [];
  readonly events: Event[] = [];
  readonly decisions: Decision[] = [];
  readonly wouldDo: Decision[] = [];
  readonly changed: string[] = [];
  constructor(readonly now: number) {}

  markChanged(node: string): void {
    if (!this.changed.includes(node)) this.changed.push(node);
  }

  event(kind: EventKind, rt: NodeRuntime | null, message: string, details: Record<string, unknown>): void {
    this.events.push({ v: PROTOCOL_VERSION, kind, at: this.now, node: rt?.node ?? null, agentId: rt?.agentId ?? null, message: message.slice(0, 2048), details });
  }
}

export class StateMachine {
  /** The result of an input that changed nothing but a node's time last heard (`quietHeartbeat`). */
  static readonly QUIET: StepResult = Object.freeze<StepResult>({ transitions: none(), events: none(), decisions: none(), wouldDo: none(), changed: none() });
  private readonly nodes = new Map<string, NodeRuntime>();
  private readonly breakers = new Map<string, BreakerState>();
  /** Per node, when its next time rule falls due; recomputed whenever the node is evaluated. */
  private readonly wake = new WakeIndex();
  private readonly policyCache = new Map<string, NodePolicy>();
  /** groupsOf() answers and each node's resolved policy, until `nodeChanged()` reports new groups: edited rarely, looked up per message. */
  private readonly groupCache = new Map<string, readonly string[]>();
  private readonly nodePolicyCache = new Map<string, NodePolicy>();
  private groupIndex: Map<string, NodeRuntime[]> | null = null;
  private graceUntil = 0;
  /** The previous tick's time: what fell due since then is looked at, not every node. */
  private lastTick = 0;
  /** Every node and breaker is looked at on the next tick (after a load, a restart, a reconnect, a group edit or a removal). */
  private sweepPending = true;
  /** Silence counts from here at the earliest: messages before a restart or reconnect may have been missed. */
  private silenceEpoch = 0;
  /** Time of the latest input. */
  private lastNow = 0;
  /** The earliest wake time set during the current `apply`. */
  private stepWake = Infinity;

  /**
   * `quietHeartbeats: false` evaluates every heartbeat in full, as before the shortcut (see
   * `quietHeartbeat`): the tests run both ways and compare.
   */
  constructor(
    private readonly config: PolicyConfig,
    private readonly groupsOf: (node: string) => readonly string[],
    private readonly opts: { quietHeartbeats?: boolean } = {},
  ) {}

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
    this.groupIndex = null;
    this.sweepPending = true;
  }

  /** A node's definition changed: if its groups did, the cached groups, policies and group index go. */
  nodeChanged(node: string): void {
    const cached = this.groupCache.get(node);
    if (cached === undefined) return;
    const groups = this.givenGroups(node);
    if (groups.length !== cached.length || groups.some((g, i) => g !== cached[i])) this.forgetGroups();
  }

  private forgetGroups(): void {
    this.groupCache.clear();
    this.nodePolicyCache.clear();
    this.groupIndex = null;
    this.sweepPending = true;
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
    const rt = this.get(node);
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
    this.groupCache.delete(node);
    this.nodePolicyCache.delete(node);
    this.groupIndex = null;
    this.sweepPending = true;
  }

  /** Groups whose automatic actions the breaker has frozen. */
  frozenGroups(): { group: string; since: number }[] {
    return [...this.breakers].filter(([, b]) => b.tripped).map(([group, b]) => ({ group, since: b.since }));
  }

  /** The resolved policy for a node (its groups' overrides applied). */
  policyFor(node: string): NodePolicy {
    let policy = this.nodePolicyCache.get(node);
    if (!policy) {
      policy = this.policyOf(this.groupsFor(node));
      this.nodePolicyCache.set(node, policy);
    }
    return policy;
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
    const settling = [...this.breakers.values()].map((b) => b.settleUntil);
    let next: number | null = null;
    for (const t of [this.graceUntil, ...settling]) if (t > this.lastNow && (next === null || t < next)) next = t;
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
      // A will from an earlier boot arrives after the new boot's hello: it is stale.
      if (!rt || rt.bootId !== input.bootId || rt.agentId !== input.agentId) return;
      this.afterNodeChange(step, rt, () => this.setLiveness(step, rt, 'dead', 'will (agent connection lost)'));
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
          return this.setAdmin(step, rt, 'offline', input.reason, input.who);
        case 'admin-online':
          // Return to service is explicit (Slurm): the ladder starts afresh.
          if (this.setAdmin(step, rt, 'online', null, input.who)) {
            rt.attempts = 0;
            rt.problem = null;
          }
          return;
        case 'power':
          return this.setPower(step, rt, input.power);
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
      }
    });
  }

  /** Apply a change, then re-check the breakers it may affect and the node's policies. */
  private afterNodeChange(step: Step, rt: NodeRuntime, change: () => void): void {
    const before = this.breakerView(rt);
    change();
    if (this.breakerView(rt) !== before) {
      for (const group of this.evaluateBreakers(step, this.groupsFor(rt.node))) this.evaluateGroup(step, group);
    }
    this.evaluate(step, rt);
  }

  private agentMessage(step: Step, rt: NodeRuntime, input: AgentInput): void {
    if (rt.pastBootIds.includes(input.bootId)) return; // a late message from an earlier boot
    const cause = AGENT_CAUSE[input.type];
    if (input.bootId !== rt.bootId || input.agentId !== rt.agentId) this.newBoot(step, rt, input, cause);
    else this.setPhase(step, rt, input.phase, cause);
    rt.lastHeard = step.now;
    this.setLiveness(step, rt, 'alive', cause);
  }

  /** A boot id not seen before: the node rebooted (one `agent` transition, whatever the message). */
  private newBoot(step: Step, rt: NodeRuntime, input: AgentInput, via: string): void {
    const now = step.now;
    const from = rt.bootId === null ? null : `${rt.agentId}/${rt.bootId}`;
    let cause = `first contact (${via})`;
    if (rt.bootId !== null) {
      const expected = bootExpected(rt) ? lastCorrective(rt) : null;
      cause = `reboot, previous boot's last phase ${rt.phase}${expected ? ` (after muster's ${expected.action})` : ''} (${via})`;
      if (rt.agentId !== input.agentId) cause += `; agent changed from ${rt.agentId}`;
      rt.previousBootLastPhase = rt.phase;
      if (rt.bootId !== input.bootId) rt.pastBootIds = [...rt.pastBootIds, rt.bootId].slice(-PAST_BOOTS_KEPT);
      // Reboots muster caused are expected, not a boot loop.
      if (!expected) rt.bootTimes = [...recentBoots(rt.bootTimes, now, this.policyFor(rt.node).bootLoop), now];
    }
    this.transition(step, rt, 'agent', from, `${input.agentId}/${input.bootId}`, cause);
    rt.agentId = input.agentId;
    rt.bootId = input.bootId;
    rt.bootSeenAt = now;
    rt.consoleAlarm = null;
    // A new boot restarts the phase clock, even when the phase has the same name.
    if (input.phase === rt.phase) rt.phaseSince = now;
    else this.setPhase(step, rt, input.phase, `new boot (${via})`);
  }

  private consolePattern(step: Step, rt: NodeRuntime, pattern: string, line: string): void {
    if (!this.policyFor(rt.node).consolePanic.patterns.includes(pattern)) return;
    if (rt.consoleAlarm && rt.consoleAlarm.bootId === rt.bootId) return; // the first sighting per boot is the evidence
    rt.consoleAlarm = { pattern, line: line.slice(0, CONSOLE_LINE_MAX), at: step.now, bootId: rt.bootId };
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
    step.event('action', rt, `${rt.node} ${flight.action} ${outcome} (attempt ${flight.attempt}, policy ${flight.policy})`, { state: ok ? 'done' : 'failed', ...flight });
  }

  /**
   * Time rules: only the nodes whose wake time has come are looked at (at 10k heartbeating nodes,
   * usually none), plus the groups whose breaker settled and, after a start or reconnect, all.
   */
  private tick(step: Step): void {
    const { now } = step;
    const graceEnded = this.lastTick < this.graceUntil && this.graceUntil <= now;
    const sweep = this.sweepPending || graceEnded;
    this.sweepPending = false;
    const due: NodeRuntime[] = sweep ? [...this.nodes.values()] : this.wake.due(now).map((node) => this.get(node));
    // Silence first for every due node, then the breakers once, then the policies: a rack going
    // dark in one tick trips its breaker before any of its nodes is judged.
    const touched = new Set<string>();
    for (const rt of due) {
      const view = this.breakerView(rt);
      const policy = this.policyFor(rt.node);
      const flight = inFlight(rt);
      if (flight && now >= flight.startedAt + policy.ladder.actionTimeout) {
        this.finishAction(step, rt, false, `no result within ${formatDuration(policy.ladder.actionTimeout)}`);
      }
      this.applySilence(step, rt, policy);
      if (this.breakerView(rt) !== view) for (const group of this.groupsFor(rt.node)) touched.add(group);
    }
    // A sweep re-checks every breaker: the grace period's end dates the silences that began in it,
    // and a removed node or a group edit changes who counts.
    const recovered = this.evaluateBreakers(step, sweep ? this.index().keys() : touched);
    const settled = [...this.breakers].filter(([, b]) => this.lastTick < b.settleUntil && b.settleUntil <= now).map(([group]) => group);
    this.lastTick = now;
    if (sweep) for (const rt of due) this.evaluate(step, rt);
    else {
      for (const rt of due) this.evaluate(step, rt);
      for (const group of new Set([...recovered, ...settled])) this.evaluateGroup(step, group);
    }
  }

  private applySilence(step: Step, rt: NodeRuntime, policy: NodePolicy): void {
    if (rt.lastHeard === null) return;
    const from = Math.max(rt.lastHeard, this.silenceEpoch);
    const target = worse(rt.liveness, livenessAfterSilence(from, step.now, policy.heartbeat));
    if (target === rt.liveness) return; // the usual case on a tick: no cause to spell out
    const missed = Math.floor((step.now - from) / policy.heartbeat.interval);
    this.setLiveness(step, rt, target, `no heartbeat for ${formatDuration(step.now - rt.lastHeard)} (${missed} intervals missed)`);
  }

  private beginGrace(step: Step, cause: string): void {
    this.graceUntil = step.now + this.config.graceMs;
    this.silenceEpoch = step.now;
    // Every node's silence clock restarts: all wake times move.
    this.sweepPending = true;
    step.event('policy', null, `${cause}: automatic actions held for ${formatDuration(this.config.graceMs)} so nodes can say hello`, {
      state: 'grace',
      cause,
      until: this.graceUntil,
    });
  }

  private resume(step: Step, group: string, who: string): void {
    if (!this.breakers.get(group)?.tripped) throw new Error(notFrozen(group, this.frozenGroups().map((f) => f.group)));
    this.breakers.set(group, resumedBreaker(step.now));
    step.event('incident', null, `group ${group} resumed by ${who}: automatic actions allowed again`, { group, state: 'resumed', by: who });
    this.evaluateGroup(step, group);
  }

  // ---- axes ------------------------------------------------------------------------------------

  private transition(step: Step, rt: NodeRuntime, axis: Axis, from: string | null, to: string | null, cause: string): void {
    step.transitions.push({ node: rt.node, axis, from, to, cause: cause.slice(0, 1024), at: step.now });
    rt.since = step.now;
    step.markChanged(rt.node);
  }

  private setPhase(step: Step, rt: NodeRuntime, phase: Phase, cause: string): void {
    if (rt.phase === phase) return;
    this.transition(step, rt, 'phase', rt.phase, phase, cause);
    rt.phase = phase;
    rt.phaseSince = step.now;
  }

  private setLiveness(step: Step, rt: NodeRuntime, liveness: Liveness, cause: string): void {
    if (rt.liveness === liveness) return;
    this.transition(step, rt, 'liveness', rt.liveness, liveness, cause);
    rt.liveness = liveness;
    rt.livenessSince = step.now;
    rt.silentSince = liveness === 'alive' ? null : (rt.silentSince ?? step.now);
  }

  private setPower(step: Step, rt: NodeRuntime, power: Power): void {
    if (rt.power === power) return;
    this.transition(step, rt, 'power', rt.power, power, 'power driver reading');
    rt.power = power;
    rt.powerSince = step.now;
    if (power === 'off') this.setPhase(step, rt, 'off', 'power reads off');
    else if (power === 'on' && rt.phase === 'off') this.setPhase(step, rt, 'unknown', 'power reads on');
  }

  /** True when the admin axis changed. */
  private setAdmin(step: Step, rt: NodeRuntime, admin: Admin, reason: string | null, who: string): boolean {
    if (rt.admin === admin && rt.reason === reason) return false;
    this.transition(step, rt, 'admin', rt.admin, admin, admin === 'offline' ? `admin ${who}: ${reason}` : `admin ${who}: back in service`);
    rt.admin = admin;
    rt.reason = reason;
    rt.adminBy = who;
    rt.adminSince = step.now;
    return true;
  }

  // ---- policies, guards, ladder ----------------------------------------------------------------

  private evaluate(step: Step, rt: NodeRuntime): void {
    const policy = this.policyFor(rt.node);
    if (rt.actions.length) rt.actions = pruneActions(rt.actions, step.now);
    this.noteStability(step, rt, policy);
    const found = detectProblem(rt, policy, step.now);
    let retryAt: number | null = null;
    if (found) retryAt = this.pursue(step, rt, policy, found);
    else if (rt.problem) {
      step.event('policy', rt, `${rt.node} ${rt.problem.policy} cleared after ${formatDuration(step.now - rt.problem.since)}`, {
        policy: rt.problem.policy,
        state: 'cleared',
        since: rt.problem.since,
      });
      rt.problem = null;
    }
    const wake = this.wakeFor(rt, policy, step.now, retryAt);
    if (wake === null) this.wake.delete(rt.node);
    else {
      this.wake.set(rt.node, wake);
      if (wake < this.stepWake) this.stepWake = wake;
    }
  }

  /** Attempts count up until the node has been up in `run` for `stableAfter`. */
  private noteStability(step: Step, rt: NodeRuntime, policy: NodePolicy): void {
    const upSince = this.stableFrom(rt);
    if (upSince === null || step.now - upSince < policy.ladder.stableAfter) return;
    step.event('policy', rt, `${rt.node} up in run for ${formatDuration(step.now - upSince)}: attempt count reset`, { state: 'recovered', attempts: rt.attempts });
    rt.attempts = 0;
  }

  private stableFrom(rt: NodeRuntime): number | null {
    return rt.attempts > 0 && rt.phase === 'run' && rt.liveness === 'alive' ? Math.max(rt.phaseSince, rt.livenessSince) : null;
  }

  /** Follow up a detected problem; returns when the ladder may move next, if it is waiting. */
  private pursue(step: Step, rt: NodeRuntime, policy: NodePolicy, found: Detection): number | null {
    if (rt.problem?.policy !== found.policy) {
      // A different policy while trouble goes on continues the episode (one console capture).
      rt.problem = { policy: found.policy, since: rt.problem?.since ?? step.now, summary: found.summary, evidence: found.evidence, heldBy: null, wouldDo: null };
      step.event('policy', rt, `${rt.node} ${found.summary} (policy ${found.policy})`, { policy: found.policy, state: 'detected', evidence: found.evidence });
    }
    const problem = rt.problem;
    const hold = blockingGuard({ rt, policy, now: step.now, graceUntil: this.graceUntil, frozenGroups: this.frozenGroupsOf(rt.node) });
    if (hold) {
      this.hold(step, rt, problem, hold.guard, hold.detail);
      return null;
    }
    const next = nextStep(rt, problem.since, policy.ladder, step.now);
    if (next.kind === 'backoff') {
      this.hold(step, rt, problem, 'backoff', `backoff until ${new Date(next.until).toISOString()}`);
      return next.until;
    }
    if (next.kind === 'capped') {
      const detail = `${next.recent} automatic actions in 24 h (limit ${policy.ladder.maxActionsPerDay}); next allowed at ${new Date(next.until).toISOString()}`;
      this.hold(step, rt, problem, 'rate-limit', detail);
      return next.until;
    }
    problem.heldBy = null;
    if (policy.dryRun) this.planDryRun(step, rt, policy, problem, next);
    else if (next.kind === 'escalate') this.escalate(step, rt, policy, problem);
    else this.act(step, rt, policy, problem, next);
    return null;
  }

  /** Report what holds the ladder back, once per change. */
  private hold(step: Step, rt: NodeRuntime, problem: Problem, name: string, detail: string): void {
    if (problem.heldBy === name) return;
    problem.heldBy = name;
    if (QUIET_HOLDS.has(name)) return;
    step.event('policy', rt, `${rt.node} ${problem.policy}: action held: ${detail}`, { policy: problem.policy, state: 'held', guard: name, detail });
  }

  private decisionsFor(rt: NodeRuntime, problem: Problem, next: LadderStep): Decision[] {
    const base = { node: rt.node, policy: problem.policy, reason: `${problem.policy}: ${problem.summary}` };
    if (next.kind === 'act') return [{ ...base, action: next.action, attempt: next.attempt }];
    if (next.kind === 'escalate') {
      const reason = `muster: ${next.attempts} corrective attempts failed (${base.reason})`;
      return [
        { ...base, action: 'offline', reason, attempt: next.attempts },
        { ...base, action: 'hwlog', reason, attempt: next.attempts },
      ];
    }
    return [];
  }

  private act(step: Step, rt: NodeRuntime, policy: NodePolicy, problem: Problem, next: Extract<LadderStep, { kind: 'act' }>): void {
    const [decision] = this.decisionsFor(rt, problem, next);
    rt.actions.push({ action: next.action, policy: problem.policy, attempt: next.attempt, startedAt: step.now, finishedAt: null, ok: null, detail: null });
    if (next.action !== 'console-tail') rt.attempts = next.attempt;
    step.decisions.push(decision!);
    step.event('action', rt, `${rt.node} ${next.action} (attempt ${next.attempt}/${policy.ladder.maxAttempts}, policy ${problem.policy})`, { state: 'started', ...decision });
  }

  /** After the last failed attempt: admin offline with the reason, and a hardware-log issue. */
  private escalate(step: Step, rt: NodeRuntime, policy: NodePolicy, problem: Problem): void {
    const decisions = this.decisionsFor(rt, problem, { kind: 'escalate', attempts: rt.attempts });
    const reason = decisions[0]!.reason;
    this.setAdmin(step, rt, 'offline', reason, MUSTER);
    problem.heldBy = 'admin-offline';
    step.decisions.push(...decisions);
    step.event('policy', rt, `${rt.node} set offline, hwlog requested: ${reason}`, {
      policy: problem.policy,
      state: 'escalated',
      attempts: rt.attempts,
      maxAttempts: policy.ladder.maxAttempts,
      evidence: problem.evidence,
    });
  }

  /** Dry-run: publish the plan (console step and the step after it) once per problem. */
  private planDryRun(step: Step, rt: NodeRuntime, policy: NodePolicy, problem: Problem, next: LadderStep): void {
    const plan = [next];
    if (next.kind === 'act' && next.action === 'console-tail') plan.push(nextStep(rt, problem.since, policy.ladder, step.now, true));
    const decisions = plan.flatMap((s) => this.decisionsFor(rt, problem, s));
    const key = decisions.map((d) => `${d.action}#${d.attempt}`).join(',');
    if (problem.wouldDo === key) return;
    problem.wouldDo = key;
    for (const d of decisions) {
      step.wouldDo.push(d);
      step.event('action', rt, `${rt.node} would ${d.action} (attempt ${d.attempt}/${policy.ladder.maxAttempts}, policy ${d.policy}) [dry-run]`, {
        state: 'would-do',
        dryRun: true,
        ...d,
      });
    }
  }

  private wakeFor(rt: NodeRuntime, policy: NodePolicy, now: number, retryAt: number | null): number | null {
    const flight = inFlight(rt);
    const stableFrom = this.stableFrom(rt);
    const loop = rt.problem?.policy === 'boot-loop' ? recentBoots(rt.bootTimes, now, policy.bootLoop)[0] : undefined;
    // A silence time stays even once passed: only the tick applies silence, and an evaluation
    // between that time and the tick (an admin change, a group's breaker) must not drop it, or the
    // node would stay alive until some later wake (the quiet-heartbeat test found this).
    const silence = rt.lastHeard === null ? null : nextSilenceChange(Math.max(rt.lastHeard, this.silenceEpoch), rt.liveness, policy.heartbeat);
    const candidates = [
      phaseDeadlineAt(rt.phase, rt.phaseSince, policy.phaseDeadlines),
      rt.phase === 'unknown' ? rt.phaseSince + policy.ladder.awaitBoot : null,
      flight ? flight.startedAt + policy.ladder.actionTimeout : null,
      awaitingBootUntil(rt, policy.ladder, now),
      rt.problem ? settledAt(rt, policy) : null,
      stableFrom === null ? null : stableFrom + policy.ladder.stableAfter,
      loop === undefined ? null : loop + policy.bootLoop.within,
      retryAt,
    ];
    let next = silence;
    for (const t of candidates) if (t !== null && t > now && (next === null || t < next)) next = t;
    return next;
  }

  // ---- breaker ---------------------------------------------------------------------------------

  /** What the breaker sees of a node: not counted, silent, or not silent. */
  private breakerView(rt: NodeRuntime): 'ignored' | 'silent' | 'up' {
    // Never-seen and admin-offline nodes say nothing about the group; nodes muster is
    // rebooting are silent because of muster.
    if (rt.admin === 'offline' || rt.bootId === null || bootExpected(rt)) return 'ignored';
    return rt.silentSince === null ? 'up' : 'silent';
  }

  /** Re-check the breakers of `groups`; returns the groups that recovered. */
  private evaluateBreakers(step: Step, groups: Iterable<string>): string[] {
    if (step.now < this.graceUntil) return [];
    const index = this.index();
    const recovered: string[] = [];
    for (const group of groups) {
      const policy = this.policyOf([group]).breaker;
      const { state, change } = evaluateBreaker(this.breakers.get(group) ?? initialBreaker(), this.census(index.get(group) ?? []), policy, step.now, this.graceUntil);
      this.breakers.set(group, state);
      if (change?.change === 'trip') {
        step.event('incident', null, `group ${group}: ${change.silent.length} of ${change.size} nodes went silent within ${formatDuration(policy.window)}; automatic actions frozen until it recovers or an admin runs \`muster policy resume ${group}\``, {
          group,
          state: 'frozen',
          silent: change.silent,
          size: change.size,
          threshold: policy.threshold,
          window: policy.window,
        });
      } else if (change?.change === 'recover') {
        step.event('incident', null, `group ${group} recovered (${change.silent.length} of ${change.size} silent): automatic actions resume in ${formatDuration(policy.window)}`, {
          group,
          state: 'recovered',
          silent: change.silent,
          size: change.size,
        });
        recovered.push(group);
      }
    }
    return recovered;
  }

  private census(members: readonly NodeRuntime[]): Census {
    let size = 0;
    const silent: Member[] = [];
    for (const rt of members) {
      const view = this.breakerView(rt);
      if (view === 'ignored') continue;
      size++;
      if (view === 'silent') silent.push({ node: rt.node, silentSince: rt.silentSince });
    }
    return { size, silent };
  }

  private evaluateGroup(step: Step, group: string): void {
    for (const rt of this.index().get(group) ?? []) this.evaluate(step, rt);
  }

  private frozenGroupsOf(node: string): string[] {
    return this.groupsFor(node).filter((g) => {
      const breaker = this.breakers.get(g);
      return breaker !== undefined && isFrozen(breaker, this.lastNow);
    });
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
      if (this.groupIndex) this.addToIndex(this.groupIndex, rt);
    }
    return rt;
  }

  /** The node's groups, or `ungrouped`: every node is watched by some breaker. */
  private groupsFor(node: string): readonly string[] {
    let groups = this.groupCache.get(node);
    if (!groups) {
      groups = this.givenGroups(node);
      this.groupCache.set(node, groups);
    }
    return groups;
  }

  private givenGroups(node: string): readonly string[] {
    const given = this.groupsOf(node);
    return given.length ? given : [UNGROUPED];
  }

  private policyOf(groups: readonly string[]): NodePolicy {
    const key = groups.join('\n');
    let policy = this.policyCache.get(key);
    if (!policy) {
      policy = resolvePolicy(this.config, groups);
      this.policyCache.set(key, policy);
    }
    return policy;
  }

  /** Group → member records. */
  private index(): Map<string, NodeRuntime[]> {
    if (this.groupIndex) return this.groupIndex;
    const index = new Map<string, NodeRuntime[]>();
    for (const rt of this.nodes.values()) this.addToIndex(index, rt);
    this.groupIndex = index;
    return index;
  }

  private addToIndex(index: Map<string, NodeRuntime[]>, rt: NodeRuntime): void {
    for (const group of new Set(this.groupsFor(rt.node))) {
      const members = index.get(group);
      if (members) members.push(rt);
      else index.set(group, [rt]);
    }
  }
}

/** A frozen empty list: QUIET is shared by every quiet heartbeat, so nobody may push into it. */
function none<T>(): T[] {
  return Object.freeze([]) as unknown as T[];
}

function parseInput(raw: StateInput): StateInput {
  const parsed = StateInput.safeParse(raw);
  if (parsed.success) return parsed.data;
  const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String(raw.type) : '(no type)';
  throw new Error(`state input ${type}: ${describeZodError(parsed.error)}`);
}

/** A node muster has not heard from yet: nothing known, admin-online. */
function newRuntime(node: string, now: number): NodeRuntime {
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
  };
}
