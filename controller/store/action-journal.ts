/**
 * What muster or an admin did to a node (power, console capture, offline/online, assign,
 * define/set/undefine): one line on the journal's `action` axis, shown by `muster history`, and
 * logged at info.
 */
import type { Transition } from '../../shared/protocol.js';
import type { Context } from '../context.js';

export type ActionResult = 'started' | 'done' | 'failed';

export interface ActionEntry {
  node: string;
  /** `power-cycle`, `offline`, `define`, … */
  action: string;
  result: ActionResult;
  /** The user, or `policy NAME`. */
  by: string;
  /** Why, or what came of it. */
  cause: string;
  /** Wall time. */
  at: number;
  /** A policy's corrective attempt. */
  attempt?: number;
}

export function actionTransition(e: ActionEntry): Transition {
  return { node: e.node, axis: 'action', from: null, to: `${e.action} ${e.result}`, cause: e.cause.slice(0, 1024), at: e.at, by: e.by.slice(0, 128), ...(e.attempt ? { attempt: e.attempt } : {}) };
}

/** Journal an `action` line and log it at info. */
export function journalAction(ctx: Pick<Context, 'journal' | 'log'>, t: Transition): void {
  ctx.journal.append(t);
  ctx.log.info({ node: t.node, action: t.to, by: t.by, attempt: t.attempt, cause: t.cause }, `${t.node} ${t.to} (by ${t.by}): ${t.cause}`);
}

/** The same action by one user on each node, done. */
export function journalAdminActions(ctx: Pick<Context, 'journal' | 'log' | 'now'>, nodes: readonly string[], action: string, user: string, cause: string): void {
  const at = ctx.now();
  for (const node of nodes) journalAction(ctx, actionTransition({ node, action, result: 'done', by: user, cause, at }));
}
