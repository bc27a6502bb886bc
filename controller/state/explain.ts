/**
 * A verdict (correction.ts `decide`, the decision muster acts on) worded for people: what muster
 * will do about the node next, and why or why not.
 */
import type { NodeNext } from '../../shared/protocol.js';
import type { NodePolicy } from './config.js';
import type { Verdict } from './correction.js';
import type { TimeText } from './guards.js';
import { inFlight, rungAfter, type LadderStep } from './ladder.js';
import type { NodeRuntime } from './types.js';

const none = { hold: null, policy: null, action: null, attempt: null, maxAttempts: null, since: null, at: null } as const;

export function explain(verdict: Verdict, rt: NodeRuntime, policy: NodePolicy, time: TimeText): NodeNext {
  const iso = (t: number | null) => (t === null ? null : time(t));
  const maxAttempts = policy.ladder.maxAttempts;
  /** The step after the one in flight or waited for (`step`: the ladder's own answer, when it has one). */
  const after = (step?: LadderStep) => {
    const rung = step?.kind === 'act' ? step.action : step?.kind === 'escalate' ? 'escalate' : rungAfter(rt.attempts, policy.ladder);
    return rung === 'escalate' ? 'offline + hwlog' : rung;
  };
  if (verdict.kind === 'quiet') {
    const { hold, pending } = verdict;
    if (hold) return { ...none, state: 'held', hold: hold.guard, at: iso(hold.until), summary: `held: ${hold.detail}` };
    if (rt.bootId === null) return { ...none, state: 'never-seen', summary: 'never seen: muster acts only on nodes that have booted once' };
    if (pending) {
      const when = pending.at === null ? 'once it is dead' : `at ${time(pending.at)}`;
      return { ...none, state: 'watching', policy: pending.policy, since: time(pending.since), at: iso(pending.at), summary: `${rt.liveness} in ${rt.phase} since ${time(pending.since)}; ${pending.policy} acts ${when} unless it ${pending.unless}` };
    }
    const healthy = rt.phase === 'run' && rt.liveness === 'alive';
    return { ...none, state: 'idle', summary: healthy ? 'nothing to do: healthy' : `nothing to do: ${rt.liveness} in ${rt.phase}, which no policy acts on` };
  }
  const { found } = verdict;
  const problem = { policy: found.policy, since: time(verdict.since), maxAttempts };
  const why = `${found.policy}: ${found.summary}`;
  if (verdict.kind === 'held') {
    const { hold } = verdict;
    const flight = inFlight(rt);
    if (hold.guard === 'action-in-flight' && flight && flight.by === null) {
      const attempt = flight.action === 'console-tail' ? `attempt ${flight.attempt}/${maxAttempts} (console capture first)` : `attempt ${flight.attempt}/${maxAttempts}`;
      return { ...none, ...problem, state: 'acting', hold: hold.guard, action: flight.action, attempt: flight.attempt, summary: `${attempt}: ${flight.action} in flight since ${time(flight.startedAt)}, next: ${after()} (${why})` };
    }
    return { ...none, ...problem, state: 'held', hold: hold.guard, attempt: rt.attempts, at: iso(hold.until), summary: `held: ${hold.detail}; next: ${after(flight ? undefined : verdict.next)} (${why})` };
  }
  const { next } = verdict;
  const action = next.kind === 'act' ? next.action : 'offline + hwlog';
  const attempt = next.kind === 'act' ? next.attempt : next.attempts;
  if (policy.dryRun) return { ...none, ...problem, state: 'held', hold: 'dry-run', action, attempt, summary: `dry-run: would ${action} (attempt ${attempt}/${maxAttempts}; ${why})` };
  return { ...none, ...problem, state: 'acting', action, attempt, summary: `attempt ${attempt}/${maxAttempts}: ${action} now (${why})` };
}
