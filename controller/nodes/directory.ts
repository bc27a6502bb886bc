import { expandNodeRange } from '../../shared/noderange.js';
import type { NodeChange } from '../events.js';
import type { RemoteChange, Store } from '../store/store.js';
import type { Fingerprint } from '../../shared/protocol.js';
import { NodeDefinition, type NodeIdentifiers, type StoreData } from '../store/schema.js';
import type { NodePatch } from './settings.js';

/** Node definitions in the store: lookup by range, group, agent; define and change. */
export class NodeDirectory {
  /** Bumped on every change to any definition, so derived indexes know when to rebuild. */
  version = 0;

  /**
   * `onChange` hears every created, changed, bound or removed node (after the change), whether
   * through this directory or by another controller sharing the store.
   */
  constructor(
    private readonly store: Store,
    private readonly onChange: (nodes: readonly string[], change: NodeChange) => void = () => {},
  ) {
    store.onRemoteChange((changes) => this.changedElsewhere(changes));
  }

  /** Node rows another controller wrote: told as the definitions they are (an agent bound there is a `set` here). */
  private changedElsewhere(changes: readonly RemoteChange[]): void {
    for (const [kind, change] of [['created', 'defined'], ['changed', 'set'], ['removed', 'removed']] as const) {
      const names = changes.filter((c) => c.table === 'nodes' && c.change === kind).map((c) => c.key);
      if (names.length > 0) this.changed(names, change);
    }
  }

  private get data(): StoreData {
    return this.store.data;
  }

  /**
   * Nodes were changed straight in the store (imported; or by another controller, `change` saying
   * how): re-index, tell the others ([]: re-index only, for the naming rule or the switch-port map).
   */
  changed(names: readonly string[], change: NodeChange = 'imported'): void {
    this.version++;
    this.onChange(names, change);
  }

  get(name: string): NodeDefinition | undefined {
    return Object.hasOwn(this.data.nodes, name) ? this.data.nodes[name] : undefined;
  }

  names(): string[] {
    return Object.keys(this.data.nodes).sort(naturalCompare);
  }

  groups(): Record<string, string[]> {
    const groups: Record<string, string[]> = {};
    for (const n of this.names()) for (const g of this.data.nodes[n]!.groups) (groups[g] ??= []).push(n);
    return groups;
  }

  /**
   * Expand an xCAT noderange against the defined nodes; unknown names, and a range that selects
   * none, are an error. No range at all (a listing's default) is every node, however many.
   */
  resolve(range: string | undefined): string[] {
    if (range === undefined) return this.names();
    return expandNodeRange(range, { nodes: this.names(), groups: this.groups() });
  }

  /** Like resolve, but names that are not defined yet are allowed (for `define`). */
  resolveNew(range: string): string[] {
    return expandNodeRange(range, { nodes: this.names(), groups: this.groups() }, { allowUnknown: true });
  }

  byAgent(agentId: string): NodeDefinition | undefined {
    for (const n of Object.values(this.data.nodes)) if (n.agentId === agentId) return n;
    return undefined;
  }

  /** Create the node if needed and apply the patch. Returns whether it was created. */
  define(name: string, patch: NodePatch, now: number): boolean {
    const created = !this.get(name);
    this.version++;
    this.store.change(
      (d) => {
        d.nodes[name] ??= NodeDefinition.parse({ name, ids: {}, createdAt: now, updatedAt: now });
        applyPatch(d.nodes[name]!, patch, now);
      },
      { nodes: [name] },
    );
    this.onChange([name], 'defined');
    return created;
  }

  set(names: readonly string[], patch: NodePatch, now: number): void {
    this.version++;
    this.store.change(
      (d) => {
        for (const n of names) applyPatch(d.nodes[n]!, patch, now);
      },
      { nodes: names },
    );
    this.onChange(names, 'set');
  }

  remove(name: string): void {
    this.version++;
    const agentId = this.get(name)?.agentId;
    this.store.change(
      (d) => {
        if (agentId && d.agents[agentId]) d.agents[agentId].node = null;
        delete d.nodes[name];
      },
      { nodes: [name], agents: [agentId] },
    );
    this.onChange([name], 'removed');
  }

  /**
   * Bind an agent to a node (creating the node if needed), recording the hardware identifiers
   * and fingerprint it has now; the node's previous agent, if any, is unbound. `replaceIds`: the
   * admin said this hardware is that node (e.g. a board swap), so the old identifiers go.
   */
  bind(name: string, agentId: string, fingerprint: Fingerprint, ids: Partial<NodeIdentifiers>, now: number, replaceIds = false): void {
    this.version++;
    // The agent's previous node, from the agent record (not a scan of every node), and the node's
    // previous agent: read before the change, to declare them.
    const before = this.data.agents[agentId]?.node;
    const previous = this.get(name)?.agentId;
    this.store.change(
      (d) => {
        if (before && before !== name && d.nodes[before]?.agentId === agentId) d.nodes[before]!.agentId = null;
        const node = (d.nodes[name] ??= NodeDefinition.parse({ name, ids: {}, createdAt: now, updatedAt: now }));
        if (previous && previous !== agentId && d.agents[previous]) d.agents[previous].node = null;
        node.agentId = agentId;
        node.fingerprint = fingerprint;
        node.ids = mergeIds(replaceIds ? NodeDefinition.shape.ids.parse({}) : node.ids, ids);
        node.updatedAt = now;
        if (d.agents[agentId]) d.agents[agentId].node = name;
      },
      { nodes: [name, before], agents: [agentId, previous] },
    );
    this.onChange([name], 'assigned');
  }
}

export function applyPatch(node: NodeDefinition, patch: NodePatch, now: number): void {
  if (patch.groups) node.groups = patch.groups;
  if (patch.ids) node.ids = { ...node.ids, ...patch.ids };
  if (patch.power !== undefined) node.power = patch.power;
  if (patch.console !== undefined) node.console = patch.console;
  if (patch.image !== undefined) node.image = patch.image;
  if (patch.tags) node.tags = patch.tags;
  if (patch.disk !== undefined) node.disk = patch.disk;
  if (patch.interfaces) node.interfaces = patch.interfaces;
  if (patch.interfacesByName) {
    for (const [name, spec] of Object.entries(patch.interfacesByName)) {
      const rest = node.interfaces.filter((i) => i.name !== name);
      node.interfaces = spec === null ? rest : [...rest, spec];
    }
  }
  if (patch.attrs) {
    for (const [k, v] of Object.entries(patch.attrs)) {
      if (v === null) delete node.attrs[k];
      else node.attrs[k] = v;
    }
  }
  node.updatedAt = now;
}

/** n2 < n10: compare digit runs as numbers, the rest as text. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Identifiers recorded at binding add to what the site defined; they never drop a defined one. */
function mergeIds(defined: NodeIdentifiers, seen: Partial<NodeIdentifiers>): NodeIdentifiers {
  return {
    macs: [...new Set([...defined.macs, ...(seen.macs ?? [])])],
    serial: defined.serial ?? seen.serial ?? null,
    uuid: defined.uuid ?? seen.uuid ?? null,
    ibGuids: [...new Set([...defined.ibGuids, ...(seen.ibGuids ?? [])])],
    switchPort: defined.switchPort ?? seen.switchPort ?? null,
  };
}
