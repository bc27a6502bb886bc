import { expandNodeRange } from '../../shared/noderange.js';
import type { Store } from '../store/store.js';
import { NodeRecord, type StoreData } from '../store/schema.js';
import type { NodePatch } from './settings.js';

/** Node definitions in the store: lookup by range, group, agent; define and change. */
export class NodeDirectory {
  constructor(private readonly store: Store) {}

  private get data(): StoreData {
    return this.store.data;
  }

  get(name: string): NodeRecord | undefined {
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

  /** Expand an xCAT noderange against the defined nodes; unknown names are an error. */
  resolve(range: string | undefined): string[] {
    if (range === undefined || range === '' || range === 'all') return this.names();
    return expandNodeRange(range, { nodes: this.names(), groups: this.groups() });
  }

  /** Like resolve, but names that are not defined yet are allowed (for `define`). */
  resolveNew(range: string): string[] {
    return expandNodeRange(range, { nodes: this.names(), groups: this.groups() }, { allowUnknown: true });
  }

  byAgent(agentId: string): NodeRecord | undefined {
    for (const n of Object.values(this.data.nodes)) if (n.agentId === agentId) return n;
    return undefined;
  }

  /** Create the node if needed and apply the patch. Returns whether it was created. */
  define(name: string, patch: NodePatch, now: number): boolean {
    const created = !this.get(name);
    this.store.change((d) => {
      d.nodes[name] ??= NodeRecord.parse({ name, ids: {}, createdAt: now, updatedAt: now });
      applyPatch(d.nodes[name]!, patch, now);
    });
    return created;
  }

  set(names: readonly string[], patch: NodePatch, now: number): void {
    this.store.change((d) => {
      for (const n of names) applyPatch(d.nodes[n]!, patch, now);
    });
  }

  remove(name: string): void {
    this.store.change((d) => {
      delete d.nodes[name];
    });
  }
}

export function applyPatch(node: NodeRecord, patch: NodePatch, now: number): void {
  if (patch.groups) node.groups = patch.groups;
  if (patch.ids) node.ids = { ...node.ids, ...patch.ids };
  if (patch.power !== undefined) node.power = patch.power;
  if (patch.console !== undefined) node.console = patch.console;
  if (patch.image !== undefined) node.image = patch.image;
  if (patch.tags) node.tags = patch.tags;
  if (patch.interfaces) node.interfaces = patch.interfaces;
  if (patch.interfacesByName) {
    for (const [name, spec] of Object.entries(patch.interfacesByName)) {
      const rest = node.interfaces.filter((i) => (i as { name?: string }).name !== name);
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
