/**
 * The hardware log (`muster hwlog`): issues about a machine's hardware, opened by an admin, by a
 * policy (after failed corrections) or by identification (fingerprint drift), closed by an admin
 * with a note. Pure functions over StoreData: callers run them inside `store.change()`.
 */
import type { HwlogSource } from '../../shared/verbs/args.js';
import type { HwlogIssue, StoreData } from '../store/schema.js';
import { RecordError } from './errors.js';

/** The store schema's limits (HwlogIssue). */
const MAX_TEXT = 4096;
const MAX_BY = 128;

export interface OpenIssueInput {
  node: string;
  text: string;
  source: HwlogSource;
  evidence?: Record<string, unknown>;
  /** Who opened it: an admin's name, or the component (`policy`, `identify`). */
  by: string;
}

/**
 * Open an issue, or return the open one with the same node, source and text: a policy or drift
 * check that fires on every boot must not pile up copies of one fault. `created` says which.
 */
export function openIssue(data: StoreData, input: OpenIssueInput, now: number): { issue: HwlogIssue; created: boolean } {
  // Clipped to what the store's schema takes: a long policy message must not make the store unloadable.
  const text = clip(input.text.trim(), MAX_TEXT);
  if (text === '') throw new RecordError(`hwlog: node ${input.node}: the issue text must not be empty`);
  const same = data.hwlog.issues.find((i) => i.closedAt === null && i.node === input.node && i.source === input.source && i.text === text);
  if (same) return { issue: same, created: false };
  const issue: HwlogIssue = {
    id: data.hwlog.nextId,
    node: input.node,
    text,
    source: input.source,
    evidence: input.evidence ?? {},
    openedAt: now,
    openedBy: clip(input.by, MAX_BY),
    closedAt: null,
    closedBy: null,
    note: null,
  };
  data.hwlog.nextId++;
  data.hwlog.issues.push(issue);
  return { issue, created: true };
}

export function closeIssue(data: StoreData, node: string, id: number, note: string, by: string, now: number): HwlogIssue {
  const issue = data.hwlog.issues.find((i) => i.id === id);
  if (!issue) throw new RecordError(`hwlog: there is no issue #${id}`);
  if (issue.node !== node) throw new RecordError(`hwlog: issue #${id} belongs to node ${issue.node}, not ${node}`);
  if (issue.closedAt !== null) throw new RecordError(`hwlog: issue #${id} of node ${node} was already closed by ${issue.closedBy}`);
  issue.closedAt = now;
  issue.closedBy = clip(by, MAX_BY);
  issue.note = note.trim() === '' ? null : clip(note.trim(), MAX_TEXT);
  return issue;
}

/** Issues of the given nodes (all nodes when null), oldest first; open ones only unless `all`. */
export function listIssues(data: StoreData, nodes: readonly string[] | null, all: boolean): HwlogIssue[] {
  const wanted = nodes ? new Set(nodes) : null;
  return data.hwlog.issues.filter((i) => (all || i.closedAt === null) && (!wanted || wanted.has(i.node)));
}

/** The node state's `faults` axis: how many issues of the node are open. */
export function openIssueCount(data: StoreData, node: string): number {
  let n = 0;
  for (const i of data.hwlog.issues) if (i.node === node && i.closedAt === null) n++;
  return n;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
