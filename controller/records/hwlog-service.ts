/**
 * Opening and closing hwlog issues on the live controller: change the store, publish a `hwlog`
 * event. The state manager (after failed corrections) and identification (fingerprint drift)
 * call `openHwlogIssue`; the CLI verbs call both.
 */
import type { Context } from '../context.js';
import type { HwlogSource } from '../../shared/verbs/args.js';
import type { HwlogIssue } from '../store/schema.js';
import { RecordError } from './errors.js';
import { closeIssue, openIssue } from './hwlog.js';

export interface OpenHwlogRequest {
  node: string;
  text: string;
  source: HwlogSource;
  evidence?: Record<string, unknown>;
  /** Who opens it; defaults to the source (`policy`, `drift`) or `admin`. */
  by?: string;
}

/**
 * Open an issue for a defined node and publish `muster/events/hwlog`. An open issue with the same
 * node, source and text is returned instead of a copy (no event then). The write to disk follows
 * coalesced; await `ctx.store.flush()` if you need it durable now.
 */
export function openHwlogIssue(ctx: Pick<Context, 'store' | 'nodes' | 'now' | 'publishEvent' | 'events'>, req: OpenHwlogRequest): { issue: HwlogIssue; created: boolean } {
  const node = ctx.nodes.get(req.node);
  if (!node) throw new RecordError(`hwlog: node ${req.node} is not defined`);
  const by = req.by ?? req.source;
  // Touches data.hwlog only, no record of nodes or agents: a drift seen in a hello storm must not
  // make the store's write in progress serialize all its rest at once.
  const result = ctx.store.change((d) => openIssue(d, { node: req.node, text: req.text, source: req.source, evidence: req.evidence, by }, ctx.now()), {});
  if (result.created) {
    const i = result.issue;
    ctx.publishEvent({
      kind: 'hwlog',
      node: i.node,
      agentId: node.agentId,
      at: i.openedAt,
      message: `${i.node} hwlog #${i.id} opened by ${i.openedBy} (${i.source}): ${oneLine(i.text)}`,
      details: { action: 'open', issue: i },
    });
    ctx.events.emit('hwlog:changed', { node: i.node });
  }
  return result;
}

export function closeHwlogIssue(ctx: Pick<Context, 'store' | 'nodes' | 'now' | 'publishEvent' | 'events'>, req: { node: string; id: number; note: string; by: string }): HwlogIssue {
  const issue = ctx.store.change((d) => closeIssue(d, req.node, req.id, req.note, req.by, ctx.now()), {}); // data.hwlog only
  ctx.publishEvent({
    kind: 'hwlog',
    node: issue.node,
    agentId: ctx.nodes.get(issue.node)?.agentId ?? null,
    at: issue.closedAt!,
    message: `${issue.node} hwlog #${issue.id} closed by ${issue.closedBy}${issue.note ? `: ${oneLine(issue.note)}` : ''}`,
    details: { action: 'close', issue },
  });
  ctx.events.emit('hwlog:changed', { node: issue.node });
  return issue;
}

/** Event messages are one line for people; the full text is in `details`. */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
