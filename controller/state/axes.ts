/** Changes on a node's axes: each one a transition in the step, and the node marked changed. */
import type { Admin, Axis, Liveness, Phase, Power } from '../../shared/protocol.js';
import { actionTransition, type ActionResult } from '../store/action-journal.js';
import type { Step } from './step.js';
import type { ActionRecord, NodeRuntime } from './types.js';

export function transition(step: Step, rt: NodeRuntime, axis: Axis, from: string | null, to: string | null, cause: string): void {
  step.transitions.push({ node: rt.node, axis, from, to, cause: cause.slice(0, 1024), at: step.now });
  rt.since = step.now;
  step.markChanged(rt.node);
}

export function setPhase(step: Step, rt: NodeRuntime, phase: Phase, cause: string): void {
  if (rt.phase === phase) return;
  transition(step, rt, 'phase', rt.phase, phase, cause);
  rt.phase = phase;
  rt.phaseSince = step.now;
}

export function setLiveness(step: Step, rt: NodeRuntime, liveness: Liveness, cause: string): void {
  if (rt.liveness === liveness) return;
  transition(step, rt, 'liveness', rt.liveness, liveness, cause);
  rt.liveness = liveness;
  rt.livenessSince = step.now;
  rt.silentSince = liveness === 'alive' ? null : (rt.silentSince ?? step.now);
}

export function setPower(step: Step, rt: NodeRuntime, power: Power): void {
  if (rt.power === power) return;
  transition(step, rt, 'power', rt.power, power, 'power driver reading');
  rt.power = power;
  rt.powerSince = step.now;
  if (power === 'off') setPhase(step, rt, 'off', 'power reads off');
  else if (power === 'on' && rt.phase === 'off') setPhase(step, rt, 'unknown', 'power reads on');
}

/** True when the admin axis changed. */
export function setAdmin(step: Step, rt: NodeRuntime, admin: Admin, reason: string | null, who: string): boolean {
  if (rt.admin === admin && rt.reason === reason) return false;
  transition(step, rt, 'admin', rt.admin, admin, admin === 'offline' ? `admin ${who}: ${reason}` : `admin ${who}: back in service`);
  rt.admin = admin;
  rt.reason = reason;
  rt.adminBy = who;
  rt.adminSince = step.now;
  return true;
}

/**
 * A line on the `action` axis (muster's or an admin's action started, done or failed): journalled
 * like a transition, but no change of the node's state.
 */
export function actionLine(step: Step, rt: NodeRuntime, a: Pick<ActionRecord, 'policy' | 'by' | 'attempt'> & { action: string }, result: ActionResult, cause: string): void {
  step.transitions.push(actionTransition({ node: rt.node, action: a.action, result, by: a.by ?? `policy ${a.policy}`, cause, at: step.now, attempt: a.attempt }));
}
