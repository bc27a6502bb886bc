/**
 * Detection: which policy sees a problem on a node right now, and the evidence. Level-based:
 * evaluated again on every step, so a problem held back by a guard is acted on once the guard lifts.
 */
import type { NodePolicy } from './config.js';
import { bootLoop, overduePhase } from './deadlines.js';
import { formatDuration } from '../../shared/duration.js';
import type { NodeRuntime, PolicyName } from './types.js';

export interface Detection {
  policy: PolicyName;
  /** One line for people, without the node name. */
  summary: string;
  evidence: Record<string, unknown>;
}

/** The most specific problem first: a panic or a boot loop explains a missed deadline. */
export function detectProblem(rt: NodeRuntime, policy: NodePolicy, now: number): Detection | null {
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
      summary: `hung: in ${overdue.phase} for ${formatDuration(now - overdue.since)}, should ${overdue.expected} within ${formatDuration(overdue.limitMs)}`,
      evidence: { phase: overdue.phase, since: overdue.since, limit: overdue.limitMs, liveness: rt.liveness, lastHeard: rt.lastHeard },
    };
  }
  // A node in a boot phase may be legitimately silent (agents hand over at switch-root, builds
  // reboot): the phase deadline covers those. Silence in `run` means the node died; `unknown`
  // for `awaitBoot` (power came back on, no boot seen) of a node seen before: it did not come back.
  const deadPhase = rt.phase === 'run' || (rt.phase === 'unknown' && rt.bootId !== null && now - rt.phaseSince >= policy.ladder.awaitBoot);
  if (policy.deadWhileOnline && deadPhase && rt.liveness === 'dead' && rt.admin === 'online') {
    return {
      policy: 'dead-while-online',
      summary: `dead while admin-online (last heard ${rt.lastHeard === null ? 'never' : `${formatDuration(now - rt.lastHeard)} ago`})`,
      evidence: { deadSince: rt.livenessSince, lastHeard: rt.lastHeard, phase: rt.phase },
    };
  }
  return null;
}
