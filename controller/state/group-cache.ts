import { UNGROUPED, resolvePolicy, type NodePolicy, type PolicyConfig } from './config.js';
import type { NodeRuntime } from './types.js';

/**
 * Each node's groups and resolved policy, and the group → members index: looked up per message,
 * changed by rare definition edits, so kept until `nodeChanged()` reports new groups.
 */
export class GroupCache {
  /** Resolved policies by group list. */
  private readonly policies = new Map<string, NodePolicy>();
  private readonly groups = new Map<string, readonly string[]>();
  private readonly nodePolicies = new Map<string, NodePolicy>();
  private index: Map<string, NodeRuntime[]> | null = null;

  constructor(
    private readonly config: PolicyConfig,
    private readonly groupsOf: (node: string) => readonly string[],
    private readonly nodes: ReadonlyMap<string, NodeRuntime>,
  ) {}

  /** A node's definition changed; true when its groups did (then every cached answer goes). */
  nodeChanged(node: string): boolean {
    const cached = this.groups.get(node);
    if (cached === undefined) return false;
    const groups = this.givenGroups(node);
    if (groups.length === cached.length && groups.every((g, i) => g === cached[i])) return false;
    this.groups.clear();
    this.nodePolicies.clear();
    this.index = null;
    return true;
  }

  /** Node records were loaded: the index is rebuilt when next asked. */
  reloaded(): void {
    this.index = null;
  }

  added(rt: NodeRuntime): void {
    if (this.index) this.addToIndex(this.index, rt);
  }

  removed(node: string): void {
    this.groups.delete(node);
    this.nodePolicies.delete(node);
    this.index = null;
  }

  /** The node's groups, or `ungrouped`: every node is watched by some breaker. */
  groupsFor(node: string): readonly string[] {
    let groups = this.groups.get(node);
    if (!groups) {
      groups = this.givenGroups(node);
      this.groups.set(node, groups);
    }
    return groups;
  }

  /** The resolved policy for a node (its groups' overrides applied). */
  policyFor(node: string): NodePolicy {
    let policy = this.nodePolicies.get(node);
    if (!policy) {
      policy = this.policyOf(this.groupsFor(node));
      this.nodePolicies.set(node, policy);
    }
    return policy;
  }

  policyOf(groups: readonly string[]): NodePolicy {
    const key = groups.join('\n');
    let policy = this.policies.get(key);
    if (!policy) {
      policy = resolvePolicy(this.config, groups);
      this.policies.set(key, policy);
    }
    return policy;
  }

  members(group: string): readonly NodeRuntime[] {
    return this.built().get(group) ?? [];
  }

  /** Every group some node is in. */
  all(): Iterable<string> {
    return this.built().keys();
  }

  private givenGroups(node: string): readonly string[] {
    const given = this.groupsOf(node);
    return given.length ? given : [UNGROUPED];
  }

  private built(): Map<string, NodeRuntime[]> {
    if (this.index) return this.index;
    const index = new Map<string, NodeRuntime[]>();
    for (const rt of this.nodes.values()) this.addToIndex(index, rt);
    this.index = index;
    return index;
  }

  private addToIndex(index: Map<string, NodeRuntime[]>, rt: NodeRuntime): void {
    for (const group of new Set(this.groupsFor(rt.node))) {
      const members = index.get(group);
      if (members) members.push(rt);
      else index.set(group, [rt]);
    }
  }
}
