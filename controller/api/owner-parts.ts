/**
 * Verbs carried out by their nodes' owners when several controllers share a site (federation on
 * shared brokers): which verbs, how a request splits into one part per owner, and how the parts'
 * answers merge into the verb's one answer. Pure: the API server resolves, sends and runs.
 *
 * A verb acts through its nodes' owner when it changes their runtime (which only the owner keeps)
 * or acts on their BMC or console (which only the owner may): power actions, offline/online,
 * build, conflict-clear and the console verbs. Reads (nodes, show, summary, history, power
 * status…) and definitions (define, set…, shared through the store) are answered where asked.
 */
import { compressNodeRange } from '../../shared/noderange-compress.js';
import type { AdminChange, BuildResult, PowerResult } from '../../shared/verbs/results.js';
import type { VerbName, VerbParsedArgs } from '../../shared/verbs/catalog.js';

/** One owner's share of a request's nodes, in the request's order. */
export interface Part {
  owner: string;
  nodes: string[];
}

/** How a part ended: its owner's answer, or why there is none (a refusal, a controller silent). */
export type PartOutcome = { part: Part; ok: true; data: unknown } | { part: Part; ok: false; error: string; code: string };

interface OwnerVerb<V extends VerbName> {
  /** The nodes the request acts on (`resolve` expands a range); null when this request is answered where asked. */
  nodes(args: VerbParsedArgs<V>, resolve: (range: string) => string[]): string[] | null;
  /** The arguments of the part for `nodes`; absent for one-node verbs (a part is the whole request). */
  partArgs?(args: VerbParsedArgs<V>, nodes: readonly string[]): VerbParsedArgs<V>;
  /** The answer of several parts, each node once, in `nodes`' order. */
  merge?(args: VerbParsedArgs<V>, nodes: readonly string[], outcomes: readonly PartOutcome[]): unknown;
}

type Failed = Extract<PartOutcome, { ok: false }>;

/** `node n012: …` for each node of a failed part (an owner's message naming its node stays as it is). */
const nodeError = (node: string, o: Failed): string => (o.error.startsWith(`node ${node}:`) ? o.error : `node ${node}: ${o.error}`);

/** Every outcome's rows: an answer's own, a failed part's one per node. */
function rows<R>(outcomes: readonly PartOutcome[], answered: (data: unknown) => R[], failed: (node: string, o: Failed) => R): R[] {
  return outcomes.flatMap((o) => (o.ok ? answered(o.data) : o.part.nodes.map((n) => failed(n, o))));
}

/** The rows in the order of the request's nodes. */
function inOrder<R extends { node: string }>(nodes: readonly string[], list: R[]): R[] {
  const at = new Map(nodes.map((n, i) => [n, i]));
  return list.sort((a, b) => (at.get(a.node) ?? 0) - (at.get(b.node) ?? 0));
}

const ranged = <V extends 'offline' | 'online' | 'build' | 'power'>() => ({
  partArgs: (args: VerbParsedArgs<V>, nodes: readonly string[]) => ({ ...args, range: compressNodeRange(nodes) }),
});

const adminChange = (_args: unknown, nodes: readonly string[], outcomes: readonly PartOutcome[]): AdminChange => {
  const changed = inOrder(nodes, outcomes.flatMap((o) => (o.ok ? (o.data as AdminChange).nodes.map((node) => ({ node })) : []))).map((r) => r.node);
  const failed = inOrder(nodes, rows(outcomes, (d) => (d as AdminChange).failed ?? [], (node, o) => ({ node, error: nodeError(node, o) })));
  return failed.length ? { nodes: changed, failed } : { nodes: changed };
};

const oneNode = { nodes: (args: { node: string }) => [args.node] };

const OWNER_VERBS: { [V in VerbName]?: OwnerVerb<V> } = {
  power: {
    // A status read is a read: answered where asked, from any controller's BMC connection.
    nodes: (args, resolve) => (args.action === 'status' ? null : resolve(args.range)),
    ...ranged<'power'>(),
    merge: (args, nodes, outcomes) => ({
      action: args.action,
      results: inOrder(
        nodes,
        rows<PowerResult>(outcomes, (d) => (d as { results: PowerResult[] }).results, (node, o) => ({ node, ok: false, error: nodeError(node, o), code: o.code, ms: 0 })),
      ),
    }),
  },
  offline: { nodes: (args, resolve) => resolve(args.range), ...ranged<'offline'>(), merge: adminChange },
  online: { nodes: (args, resolve) => resolve(args.range), ...ranged<'online'>(), merge: adminChange },
  build: {
    nodes: (args, resolve) => resolve(args.range),
    ...ranged<'build'>(),
    merge: (_args, nodes, outcomes) => ({
      results: inOrder(
        nodes,
        rows<BuildResult>(outcomes, (d) => (d as { results: BuildResult[] }).results, (node, o) => ({ node, ok: false, error: nodeError(node, o) })),
      ),
    }),
  },
  'conflict-clear': oneNode,
  'console-tail': oneNode,
  'console-attach': oneNode,
  'console-write': oneNode,
  'console-detach': oneNode,
};

/** How `verb` is carried out by its nodes' owners; undefined: answered where asked. */
export function ownerVerb(verb: VerbName): OwnerVerb<VerbName> | undefined {
  return OWNER_VERBS[verb] as OwnerVerb<VerbName> | undefined;
}

/**
 * The nodes by owner, each part in the request's order, parts in the order of their first node;
 * nodes whose partition has no owner now (being taken over) apart.
 */
export function splitByOwner(nodes: readonly string[], ownerOf: (node: string) => string | null): { parts: Part[]; unowned: string[] } {
  const byOwner = new Map<string, string[]>();
  const unowned: string[] = [];
  for (const node of nodes) {
    const owner = ownerOf(node);
    if (owner === null) unowned.push(node);
    else byOwner.get(owner)?.push(node) ?? byOwner.set(owner, [node]);
  }
  return { parts: [...byOwner].map(([owner, list]) => ({ owner, nodes: list })), unowned };
}
