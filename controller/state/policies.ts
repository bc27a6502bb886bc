/**
 * Detection: which policy sees a problem on a node right now, and the evidence. Level-based:
 * evaluated again on every step, so a problem held back by a guard is acted on once the guard lifts.
 */
import type { NodePolicy } from './config.js';
import { EXPECTED_NEXT, bootLoop, overduePhase, phaseDeadlineAt } from './deadlines.js';
import { nextSilenceChange } from './liveness.js';
import { formatDuration } from '../../shared/duration.js';
import type { TimeText } from './guards.js';
import type { NodeRuntime, PolicyName } from './types.js';

export interface Detection {
  policy: PolicyName;
  /** One line for people, without the node name. */
  summary: string;
  evidence: Record<string, unknown>;
}

/** The most specific problem first: a panic or a boot loop explains a missed deadline. Summaries give times (`time`), never "… ago": they are kept in reasons. */
export function detectProblem(rt: NodeRuntime, policy: NodePolicy, now: number, time: TimeText): Detection | null {
  const alarm = rt.consoleAlarm;
  if (alarm && alarm.bootId === rt.bootId && rt.liveness !== 'alive') {
    return {
      policy: 'console-panic',
      summary: `console showed "${alarm.pattern}" and the node went ${rt.liveness}`,
      evidence: { pattern: alarm.pattern, line: alarm.line, seenAt: alarm.at, liveness: rt.liveness },
    };
  }
  const loop = bootLoop(rt.bootTimes, now, policy.bootLoop);
  if (loop) {
    return {
      policy: 'boot-loop',
      summary: `${loop.length} reboots within ${formatDuration(policy.bootLoop.within)} (limit ${policy.bootLoop.reboots})`,
      evidence: { boots: loop, window: policy.bootLoop.within, limit: policy.bootLoop.reboots, previousBootLastPhase: rt.previousBootLastPhase },
    };
  }
  const overdue = overduePhase(rt.phase, rt.phaseSince, now, policy.phaseDeadlines);
  if (overdue) {
    return {
      policy: 'phase-deadline',
      summary: `hung: in ${overdue.phase} since ${time(overdue.since)}, should ${overdue.expected} within ${formatDuration(overdue.limitMs)}`,
      evidence: { phase: overdue.phase, since: overdue.since, limit: overdue.limitMs, liveness: rt.liveness, lastHeard: rt.lastHeard },
    };
  }
  const from = deadWhileOnlineFrom(rt, policy);
  if (from !== null && now >= from && rt.liveness === 'dead') {
    return {
      policy: 'dead-while-online',
      summary: `dead while admin-online (last heard ${rt.lastHeard === null ? 'never' : `at ${time(rt.lastHeard)}`})`,
      evidence: { deadSince: rt.livenessSince, lastHeard: rt.lastHeard, phase: rt.phase },
    };
  }
  return null;
}

/**
 * From when `dead-while-online` acts on the node once it is dead; null when it never does. A node
 * in a boot phase may be legitimately silent (agents hand over at switch-root, builds reboot): the
 * phase deadline covers those. Silence in `run` means the node died; `unknown` for `awaitBoot`
 * (power came back on, no boot seen) of a node seen before: it did not come back.
 */
function deadWhileOnlineFrom(rt: NodeRuntime, policy: NodePolicy): number | null {
  if (!policy.deadWhileOnline || rt.admin !== 'online') return null;
  if (rt.phase === 'run') return rt.phaseSince;
  if (rt.phase === 'unknown' && rt.bootId !== null) return rt.phaseSince + policy.ladder.awaitBoot;
  return null;
}

/** A policy that will act on a node without a problem yet, unless the node makes progress first. */
export interface Pending {
  policy: PolicyName;
  since: number;
  /** When the policy acts; null when that depends on the node (it must go dead first). */
  at: number | null;
  /** What must happen first, for people: `reaches init`, `boots`, `heartbeats again`. */
  unless: string;
}

/** The time rule that will next find a problem on the node (the same rules as `detectProblem`); null when none is pending. */
export function pendingProblem(rt: NodeRuntime, policy: NodePolicy, silenceEpoch: number): Pending | null {
  const deadline = phaseDeadlineAt(rt.phase, rt.phaseSince, policy.phaseDeadlines);
  if (deadline !== null) return { policy: 'phase-deadline', since: rt.phaseSince, at: deadline, unless: EXPECTED_NEXT[rt.phase] ?? 'progresses' };
  const from = deadWhileOnlineFrom(rt, policy);
  if (from === null || rt.liveness === 'alive') return null;
  if (rt.liveness === 'dead') return { policy: 'dead-while-online', since: rt.phaseSince, at: from, unless: 'boots' };
  const dead = rt.lastHeard === null ? null : nextSilenceChange(Math.max(rt.lastHeard, silenceEpoch), rt.liveness, policy.heartbeat);
  return { policy: 'dead-while-online', since: rt.livenessSince, at: dead === null ? null : Math.max(dead, from), unless: 'heartbeats again' };
}
