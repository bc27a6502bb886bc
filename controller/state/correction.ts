/**
 * Correction: what the policies see on one node and how its ladder answers (act, hold, escalate,
 * or plan in dry-run), and when the node must next be looked at.
 */
import { formatDuration, isoSeconds } from '../../shared/duration.js';
import { actionLine, setAdmin } from './axes.js';
import type { NodePolicy } from './config.js';
import { phaseDeadlineAt, recentBoots } from './deadlines.js';
import { adminActionEffect, blockingGuard, settledAt, standingGuard, type GuardName, type Hold, type TimeText } from './guards.js';
import { awaitingBootUntil, inFlight, nextStep, pruneActions, type LadderStep } from './ladder.js';
import { nextSilenceChange } from './liveness.js';
import { detectProblem, pendingProblem, type Detection, type Pending } from './policies.js';
import type { Step } from './step.js';
import type { Decision, NodeRuntime, Problem } from './types.js';

/** Who muster's own admin changes are attributed to. */
const MUSTER = 'muster';
/** Holds that are the ladder's normal course, not news: they are not published. */
const QUIET_HOLDS: ReadonlySet<string> = new Set<GuardName | 'backoff'>(['action-in-flight', 'awaiting-boot', 'backoff', 'settling']);

/** What correction needs from the machine beyond the node; the machine keeps its grace times here. */
export interface CorrectionEnv {
  /** End of the grace period after controller start or broker reconnect. */
  graceUntil: number;
  /** Silence counts from here at the earliest: messages before a restart or reconnect may have been missed. */
  silenceEpoch: number;
  /** The node's groups whose breaker holds actions now. */
  holding(node: string): readonly string[];
  /** Whether this controller acts for the node (federation: its partition); always, with one controller. */
  owns(node: string): boolean;
}

/**
 * What the policies and the ladder make of a node now: the one decision that correction carries
 * out and `explain` words for people.
 * - `quiet`: no problem; `hold` would stop muster anyway (admin offline, a conflict, an admin's
 *   action taking effect), `pending` is the policy that will find one unless the node progresses;
 * - `held`: a problem the ladder may not answer yet, and what holds it;
 * - `ladder`: a problem and the rung to take now.
 */
export type Verdict =
  | { kind: 'quiet'; hold: Hold | null; pending: Pending | null }
  /** `next`: the ladder's step once the hold lifts. */
  | { kind: 'held'; found: Detection; since: number; hold: Hold; next: LadderStep }
  | { kind: 'ladder'; found: Detection; since: number; next: Extract<LadderStep, { kind: 'act' | 'escalate' }> };

/** Decide about a node at `now` without changing it; `time` words the times in details. */
export function decide(rt: NodeRuntime, policy: NodePolicy, env: CorrectionEnv, now: number, time: TimeText = isoSeconds): Verdict {
  const effect = rt.problem ? null : adminActionEffect(rt, policy, now, time);
  if (effect) return { kind: 'quiet', hold: effect, pending: null };
  const found = detectProblem(rt, policy, now, time);
  if (!found) return { kind: 'quiet', hold: standingGuard(rt), pending: pendingProblem(rt, policy, env.silenceEpoch) };
  // A different policy while trouble goes on continues the episode (one console capture).
  const since = rt.problem?.since ?? now;
  const next = nextStep(rt, since, policy.ladder, now);
  const hold = blockingGuard({ rt, policy, now, graceUntil: env.graceUntil, frozenGroups: env.holding(rt.node), owned: env.owns(rt.node), time });
  if (hold) return { kind: 'held', found, since, hold, next };
  if (next.kind === 'backoff') return { kind: 'held', found, since, hold: { guard: 'backoff', detail: `backoff until ${time(next.until)}`, until: next.until }, next };
  if (next.kind === 'capped') {
    const detail = `${next.recent} automatic actions in 24 h (limit ${policy.ladder.maxActionsPerDay}); next allowed at ${time(next.until)}`;
    return { kind: 'held', found, since, hold: { guard: 'rate-limit', detail, until: next.until }, next };
  }
  return { kind: 'ladder', found, since, next };
}

/** Look at a node's policies and follow up what they find; returns when the node must next be looked at (null: no time rule pending). */
export function correct(step: Step, rt: NodeRuntime, policy: NodePolicy, env: CorrectionEnv): number | null {
  if (rt.actions.length) rt.actions = pruneActions(rt.actions, step.now);
  noteStability(step, rt, policy);
  const verdict = decide(rt, policy, env, step.now);
  let retryAt: number | null = null;
  if (verdict.kind !== 'quiet') retryAt = pursue(step, rt, policy, verdict);
  else if (rt.problem) {
    step.event('policy', rt, `${rt.node} ${rt.problem.policy} cleared after ${formatDuration(step.now - rt.problem.since)}`, {
      policy: rt.problem.policy,
      state: 'cleared',
      since: rt.problem.since,
    });
    rt.problem = null;
  }
  return wakeFor(rt, policy, step.now, retryAt, env.silenceEpoch, env.owns(rt.node));
}

/** Attempts count up until the node has been up in `run` for `stableAfter`. */
function noteStability(step: Step, rt: NodeRuntime, policy: NodePolicy): void {
  const upSince = stableFrom(rt);
  if (upSince === null || step.now - upSince < policy.ladder.stableAfter) return;
  step.event('policy', rt, `${rt.node} up in run for ${formatDuration(step.now - upSince)}: attempt count reset`, { state: 'recovered', attempts: rt.attempts });
  rt.attempts = 0;
}

function stableFrom(rt: NodeRuntime): number | null {
  return rt.attempts > 0 && rt.phase === 'run' && rt.liveness === 'alive' ? Math.max(rt.phaseSince, rt.livenessSince) : null;
}

/** Follow up a problem the verdict found; returns when the ladder may move next, if it is waiting. */
function pursue(step: Step, rt: NodeRuntime, policy: NodePolicy, verdict: Exclude<Verdict, { kind: 'quiet' }>): number | null {
  const { found } = verdict;
  if (rt.problem?.policy !== found.policy) {
    rt.problem = { policy: found.policy, since: verdict.since, summary: found.summary, evidence: found.evidence, heldBy: null, wouldDo: null };
    step.event('policy', rt, `${rt.node} ${found.summary} (policy ${found.policy})`, { policy: found.policy, state: 'detected', evidence: found.evidence });
  }
  const problem = rt.problem;
  if (verdict.kind === 'held') {
    const { hold } = verdict;
    reportHold(step, rt, problem, hold.guard, hold.detail);
    return hold.guard === 'backoff' || hold.guard === 'rate-limit' ? hold.until : null;
  }
  const { next } = verdict;
  problem.heldBy = null;
  if (policy.dryRun) planDryRun(step, rt, policy, problem, next);
  else if (next.kind === 'escalate') escalate(step, rt, policy, problem);
  else act(step, rt, policy, problem, next);
  return null;
}

/** Report what holds the ladder back, once per change. */
function reportHold(step: Step, rt: NodeRuntime, problem: Problem, name: string, detail: string): void {
  if (problem.heldBy === name) return;
  problem.heldBy = name;
  if (QUIET_HOLDS.has(name)) return;
  step.event('policy', rt, `${rt.node} ${problem.policy}: action held: ${detail}`, { policy: problem.policy, state: 'held', guard: name, detail });
}

function decisionsFor(rt: NodeRuntime, problem: Problem, next: LadderStep): Decision[] {
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

function act(step: Step, rt: NodeRuntime, policy: NodePolicy, problem: Problem, next: Extract<LadderStep, { kind: 'act' }>): void {
  const [decision] = decisionsFor(rt, problem, next);
  const record = { action: next.action, policy: problem.policy, by: null, attempt: next.attempt, startedAt: step.now, finishedAt: null, ok: null, detail: null };
  rt.actions.push(record);
  if (next.action !== 'console-tail') rt.attempts = next.attempt;
  step.decisions.push(decision!);
  step.event('action', rt, `${rt.node} ${next.action} (attempt ${next.attempt}/${policy.ladder.maxAttempts}, policy ${problem.policy})`, { state: 'started', ...decision });
  actionLine(step, rt, record, 'started', `attempt ${next.attempt}/${policy.ladder.maxAttempts}: ${decision!.reason}`);
}

/** After the last failed attempt: admin offline with the reason, and a hardware-log issue. */
function escalate(step: Step, rt: NodeRuntime, policy: NodePolicy, problem: Problem): void {
  const decisions = decisionsFor(rt, problem, { kind: 'escalate', attempts: rt.attempts });
  const reason = decisions[0]!.reason;
  setAdmin(step, rt, 'offline', reason, MUSTER);
  actionLine(step, rt, { action: 'offline', policy: problem.policy, by: null, attempt: rt.attempts }, 'done', `${reason}; hwlog issue requested`);
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
function planDryRun(step: Step, rt: NodeRuntime, policy: NodePolicy, problem: Problem, next: LadderStep): void {
  const plan = [next];
  if (next.kind === 'act' && next.action === 'console-tail') plan.push(nextStep(rt, problem.since, policy.ladder, step.now, true));
  const decisions = plan.flatMap((s) => decisionsFor(rt, problem, s));
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

function wakeFor(rt: NodeRuntime, policy: NodePolicy, now: number, retryAt: number | null, silenceEpoch: number, owned: boolean): number | null {
  const flight = inFlight(rt);
  const stable = stableFrom(rt);
  const loop = rt.problem?.policy === 'boot-loop' ? recentBoots(rt.bootTimes, now, policy.bootLoop)[0] : undefined;
  // A silence time stays even once passed: only the tick applies silence, and an evaluation
  // between that time and the tick (an admin change, a group's breaker) must not drop it, or the
  // node would stay alive until some later wake (the quiet-heartbeat test found this).
  // Silence is judged only by the node's owner (machine.ts, tick): no wake time for it elsewhere.
  const silence = rt.lastHeard === null || !owned ? null : nextSilenceChange(Math.max(rt.lastHeard, silenceEpoch), rt.liveness, policy.heartbeat);
  const candidates = [
    phaseDeadlineAt(rt.phase, rt.phaseSince, policy.phaseDeadlines),
    rt.phase === 'unknown' ? rt.phaseSince + policy.ladder.awaitBoot : null,
    flight ? flight.startedAt + policy.ladder.actionTimeout : null,
    awaitingBootUntil(rt, policy.ladder, now),
    rt.problem ? settledAt(rt, policy) : null,
    stable === null ? null : stable + policy.ladder.stableAfter,
    loop === undefined ? null : loop + policy.bootLoop.within,
    retryAt,
  ];
  let next = silence;
  for (const t of candidates) if (t !== null && t > now && (next === null || t < next)) next = t;
  return next;
}
