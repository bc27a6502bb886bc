/**
 * The escalation ladder and its limits: console tail first, then the corrective steps in order,
 * then admin offline. One action at a time, at most K corrective actions per 24 h, and
 * exponential backoff between them.
 */
import type { NodePolicy } from './config.js';
import type { ActionRecord, DriverAction, NodeRuntime } from './types.js';

export const DAY_MS = 24 * 3_600_000;
type LadderPolicy = NodePolicy['ladder'];

export type LadderStep =
  | { kind: 'act'; action: DriverAction; attempt: number }
  | { kind: 'escalate'; attempts: number }
  /** Backoff: the next corrective action may start at `until`. */
  | { kind: 'backoff'; until: number; recent: number }
  /** The per-24 h cap is used up until `until`. */
  | { kind: 'capped'; until: number; recent: number };

/** A power action, muster's or an admin's: the node is expected to go down and boot after it. */
export function isCorrective(a: ActionRecord): boolean {
  return a.action !== 'console-tail';
}

/** A policy's corrective action: what the ladder's limits count (an admin's actions do not). */
function isAutomaticCorrective(a: ActionRecord): boolean {
  return isCorrective(a) && a.policy !== null;
}

export function inFlight(rt: Pick<NodeRuntime, 'actions'>): ActionRecord | null {
  const last = rt.actions.at(-1);
  return last && last.finishedAt === null ? last : null;
}

export function lastCorrective(rt: Pick<NodeRuntime, 'actions'>): ActionRecord | null {
  for (let i = rt.actions.length - 1; i >= 0; i--) if (isCorrective(rt.actions[i]!)) return rt.actions[i]!;
  return null;
}

/** A corrective action worked at the driver (or is still running) but the node has not booted since. */
export function unansweredCorrective(rt: Pick<NodeRuntime, 'actions' | 'bootSeenAt'>): ActionRecord | null {
  const last = lastCorrective(rt);
  if (!last || last.ok === false || (rt.bootSeenAt !== null && rt.bootSeenAt >= last.startedAt)) return null;
  return last;
}

/** When the node stops being given time to boot after our last corrective action; null if not waiting. */
export function awaitingBootUntil(rt: Pick<NodeRuntime, 'actions' | 'bootSeenAt'>, ladder: LadderPolicy, now: number): number | null {
  const last = unansweredCorrective(rt);
  if (!last) return null;
  const until = (last.finishedAt ?? last.startedAt) + ladder.awaitBoot;
  return now < until ? until : null;
}

/** A boot right after our own reset or power cycle is expected, not a sign of a boot loop. */
export function bootExpected(rt: Pick<NodeRuntime, 'actions' | 'bootSeenAt'>): boolean {
  return unansweredCorrective(rt) !== null;
}

/** Actions newer than 24 h: older ones no longer count against any limit. */
export function pruneActions(actions: readonly ActionRecord[], now: number): ActionRecord[] {
  return actions.filter((a) => a.finishedAt === null || a.startedAt > now - DAY_MS);
}

/**
 * The next rung for a node with a problem since `problemSince`. `consoleCaptured` lets dry-run
 * plan past the console step it never really takes.
 */
export function nextStep(
  rt: Pick<NodeRuntime, 'actions' | 'attempts'>,
  problemSince: number,
  ladder: LadderPolicy,
  now: number,
  consoleCaptured = !ladder.captureConsole || rt.actions.some((a) => a.action === 'console-tail' && a.startedAt >= problemSince),
): LadderStep {
  if (!consoleCaptured) return { kind: 'act', action: 'console-tail', attempt: Math.min(rt.attempts + 1, ladder.maxAttempts) };
  const rung = rungAfter(rt.attempts, ladder);
  if (rung === 'escalate') return { kind: 'escalate', attempts: rt.attempts };
  const recent = rt.actions.filter((a) => isAutomaticCorrective(a) && a.startedAt > now - DAY_MS);
  if (recent.length >= ladder.maxActionsPerDay) return { kind: 'capped', until: recent[0]!.startedAt + DAY_MS, recent: recent.length };
  const last = recent.at(-1);
  if (last) {
    const until = last.startedAt + ladder.backoff * ladder.backoffFactor ** (recent.length - 1);
    if (now < until) return { kind: 'backoff', until, recent: recent.length };
  }
  return { kind: 'act', action: rung, attempt: rt.attempts + 1 };
}

/** The corrective step after `attempts` attempts: the ladder's next action, or escalation once they are used up. */
export function rungAfter(attempts: number, ladder: LadderPolicy): DriverAction | 'escalate' {
  if (attempts >= ladder.maxAttempts) return 'escalate';
  return ladder.steps[Math.min(attempts, ladder.steps.length - 1)]!;
}
