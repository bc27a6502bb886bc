/**
 * Identification rules: which node an agent that said hello is. Pure: takes the hello and a
 * snapshot of what the site knows, returns one decision; the caller records it (binds the agent,
 * stores identifiersOf(fingerprint) or the fingerprint, publishes events).
 *
 * Precedence, first that applies wins:
 *   1. agent already bound to a defined node        → known (with drift, which never blocks)
 *   2. hardware identifiers against node definitions, strongest first:
 *      uuid > serial > mac > ib > switch-port        → match (`by` = the strongest that matched)
 *   3. sequential naming rule, next free name        → name
 *   4. otherwise                                     → discovered (listed for an admin)
 * Every identifier is looked up, not just the strongest: if they point at different nodes, or
 * one points at several, or the matched node is bound to another agent that is live, the answer
 * is a conflict. So is a match whose UUID or serial contradicts the node's record: a MAC is easy
 * to claim, a board's identity is what the record vouches for. Taking a node over from another
 * agent (a rebind) needs more: the record's UUID and serial must be reported, not just not
 * contradicted. Two machines are never silently merged into one node.
 */
import type { Fingerprint, Hello } from '../../shared/protocol.js';
import { expandNodeRange } from '../../shared/noderange.js';
import { driftOf, type Drift } from './drift.js';
import { identifiersOf, normalizeIdentifiers, normalizeSwitchPort, switchPortKey, type IdentifierInput, type Identifiers, type SwitchPort } from './identifiers.js';

export type MatchKind = 'uuid' | 'serial' | 'mac' | 'ib' | 'switch-port';

export type Decision =
  | { kind: 'known'; node: string; drift: Drift[] }
  /** `replaces`: the agent the node was bound to before (not live); null for a first binding. */
  | { kind: 'match'; node: string; by: MatchKind; drift: Drift[]; replaces: string | null }
  | { kind: 'name'; node: string }
  | { kind: 'discovered' }
  | { kind: 'conflict'; nodes: string[]; reason: string };

/** A node as the site defined it (the store's NodeDefinition fits). */
export interface NodeDefinition {
  ids: IdentifierInput;
  /** The agent bound to this node, if any. */
  agentId?: string | null;
  /** The fingerprint recorded when the agent was bound: the reference for drift. */
  fingerprint?: Fingerprint | null;
}

/** What the site knows, as a snapshot (fields shaped like the store's). */
export interface SiteKnowledge {
  nodes: Readonly<Record<string, NodeDefinition>>;
  /** Switch + port → node: a machine plugged in there becomes that node. */
  switchPorts?: readonly (SwitchPort & { node: string })[];
  /** Sequential naming (xCAT style): new machines take the next free name of `pattern`, in discovery order. */
  naming?: { enabled: boolean; pattern: string } | null;
  /** Agents seen before → the node each is bound to (null: discovered, not bound). */
  agents: Readonly<Record<string, { node: string | null }>>;
  /** Agents connected right now: a node bound to one of them is never taken over. */
  liveAgents: ReadonlySet<string>;
}

/**
 * A SiteKnowledge with its identifiers normalised and indexed: build it once per change of the
 * site, not per hello. Throws on a bad definition (`node n012: bad MAC "zz"`) or naming pattern.
 */
export class SiteIndex {
  /** Identifier value → the node, or the nodes when several define it. Nearly every value names one
   * node: a bare string instead of a one-element array saves ~100 bytes a node at 10k nodes. */
  private readonly byKind: ReadonlyMap<MatchKind, Map<string, string | string[]>>;
  /** Names of the naming rule, in order; null when the rule is off. */
  readonly namingNames: readonly string[] | null;
  /** Names bound to an agent: the naming rule skips them. */
  private readonly taken: Set<string>;
  /** namingNames before this index are all defined or taken (names are only ever used up). */
  private namingCursor = 0;

  constructor(readonly site: SiteKnowledge) {
    this.byKind = new Map(KINDS.map((k) => [k, new Map()]));
    for (const [node, def] of Object.entries(site.nodes)) this.indexNode(node, def);
    for (const entry of site.switchPorts ?? []) {
      const sp = normalizeSwitchPort(entry);
      if (!sp) throw new Error(`switch-port rule for node ${entry.node}: switch and port must not be empty`);
      this.add('switch-port', switchPortKey(sp), entry.node);
    }
    this.namingNames = site.naming?.enabled ? namingNames(site.naming.pattern) : null;
    this.taken = new Set(Object.values(site.agents).flatMap((a) => (a.node ? [a.node] : [])));
  }

  /**
   * Keep the index current after the caller recorded a binding (or a new definition) in the site
   * data it was built from: cheaper than a rebuild per hello in a discovery storm.
   */
  nodeChanged(node: string): void {
    const def = this.site.nodes[node];
    if (def) this.indexNode(node, def);
    if (def?.agentId) this.taken.add(node);
  }

  /** The first name of the naming rule neither defined nor bound, or null. */
  nextFreeName(): string | null {
    const names = this.namingNames;
    if (!names) return null;
    while (this.namingCursor < names.length) {
      const name = names[this.namingCursor]!;
      if (!Object.hasOwn(this.site.nodes, name) && !this.taken.has(name)) return name;
      this.namingCursor++;
    }
    return null;
  }

  private indexNode(node: string, def: NodeDefinition): void {
    const ids = normalizeIdentifiers(def.ids, `node ${node}`);
    for (const [kind, values] of identifierValues(ids)) for (const value of values) this.add(kind, value, node);
  }

  /** The nodes whose definition holds this identifier value. */
  nodesWith(kind: MatchKind, value: string): readonly string[] | undefined {
    const nodes = this.byKind.get(kind)!.get(value);
    return typeof nodes === 'string' ? [nodes] : nodes;
  }

  private add(kind: MatchKind, value: string, node: string): void {
    const index = this.byKind.get(kind)!;
    const nodes = index.get(value);
    if (nodes === undefined) index.set(value, node);
    else if (typeof nodes === 'string') {
      if (nodes !== node) index.set(value, [nodes, node]);
    } else if (!nodes.includes(node)) nodes.push(node);
  }
}

const KINDS: readonly MatchKind[] = ['uuid', 'serial', 'mac', 'ib', 'switch-port'];

/** Decide who the agent of `hello` is. Pass a SiteIndex to avoid re-indexing for every hello. */
export function identify(hello: Pick<Hello, 'agentId' | 'fingerprint'>, site: SiteKnowledge | SiteIndex): Decision {
  const index = site instanceof SiteIndex ? site : new SiteIndex(site);
  const { nodes, agents, liveAgents } = index.site;
  const ids = identifiersOf(hello.fingerprint);
  const drift = (node: string) => {
    const recorded = nodes[node]?.fingerprint;
    return recorded ? driftOf(identifiersOf(recorded), ids) : [];
  };

  // 1. Bound before: the binding stands while the node exists and does not name another agent.
  const bound = agents[hello.agentId]?.node;
  if (bound && Object.hasOwn(nodes, bound) && (nodes[bound]!.agentId ?? hello.agentId) === hello.agentId) {
    return { kind: 'known', node: bound, drift: drift(bound) };
  }

  // 2. Hardware identifiers, strongest first.
  const hits: { by: MatchKind; value: string; nodes: readonly string[] }[] = [];
  for (const [by, values] of identifierValues(ids)) {
    for (const value of values) {
      const matched = index.nodesWith(by, value);
      if (matched) hits.push({ by, value, nodes: matched });
    }
  }
  const ambiguous = hits.find((h) => h.nodes.length > 1);
  if (ambiguous) return conflict(ambiguous.nodes, `${ambiguous.by} ${ambiguous.value} is defined on several nodes: ${ambiguous.nodes.join(', ')}`);
  const matchedNodes = [...new Set(hits.map((h) => h.nodes[0]!))];
  if (matchedNodes.length > 1) {
    const evidence = matchedNodes.map((node) => hits.find((h) => h.nodes[0] === node)!).map((h) => `${h.by} ${h.value} → ${h.nodes[0]}`);
    return conflict(matchedNodes, `identifiers match different nodes: ${evidence.join(', ')}`);
  }
  const [node] = matchedNodes;
  if (node !== undefined) {
    const holder = nodes[node]?.agentId ?? null;
    const claim = `${hits[0]!.by} ${hits[0]!.value} matches ${node}`;
    if (holder && holder !== hello.agentId && liveAgents.has(holder)) return conflict([node], `${claim}, which is bound to live agent ${holder}`);
    const replaces = holder === hello.agentId ? null : holder;
    const contradiction = boardContradiction(node, nodes[node]!, ids, replaces);
    if (contradiction) return conflict([node], `${claim}, but ${contradiction}`);
    return { kind: 'match', node, by: hits[0]!.by, drift: drift(node), replaces };
  }

  // 3. Sequential naming: the first name neither defined nor bound.
  const free = index.nextFreeName();
  if (free) return { kind: 'name', node: free };

  // 4. Nobody knows this machine yet.
  return { kind: 'discovered' };
}

/**
 * Why the board reporting `ids` cannot be `node`, or null: a UUID or serial other than the node's
 * record (its definition, else the fingerprint recorded at binding). When the node is taken over
 * from agent `replaces`, the recorded ones must also be reported: claiming a MAC and leaving
 * out the rest is how one machine would pose as another.
 */
function boardContradiction(node: string, def: NodeDefinition, ids: Identifiers, replaces: string | null): string | null {
  const defined = normalizeIdentifiers(def.ids, `node ${node}`);
  const recorded = def.fingerprint ? identifiersOf(def.fingerprint) : null;
  for (const field of ['uuid', 'serial'] as const) {
    const was = defined[field] ?? recorded?.[field] ?? null;
    const now = ids[field];
    if (was === null) continue;
    if (now !== null && now !== was) return `its ${field} ${now} is not ${node}'s ${was}`;
    if (now === null && replaces !== null) return `it reports no ${field} and ${node} (bound to ${replaces}) has ${field} ${was}`;
  }
  return null;
}

function conflict(nodes: readonly string[], reason: string): Decision {
  return { kind: 'conflict', nodes: [...nodes], reason };
}

/** The identifier values of each kind, strongest kind first. */
function identifierValues(ids: Identifiers): [MatchKind, string[]][] {
  return [
    ['uuid', ids.uuid ? [ids.uuid] : []],
    ['serial', ids.serial ? [ids.serial] : []],
    ['mac', ids.macs],
    ['ib', ids.ibGuids],
    ['switch-port', ids.switchPort ? [switchPortKey(ids.switchPort)] : []],
  ];
}

function namingNames(pattern: string): string[] {
  try {
    return expandNodeRange(pattern, { nodes: [], groups: {} }, { allowUnknown: true });
  } catch (err) {
    throw new Error(`naming rule: ${(err as Error).message}`);
  }
}
