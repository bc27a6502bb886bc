/**
 * Which agents a controller of a federation subscribes to (pure; agent-plane.ts applies the
 * changes to the brokers): the agents bound to the nodes of the partitions it owns. Told of the
 * partitions owned and of each node's binding, it answers with the agents to subscribe and to
 * unsubscribe, so a change of ownership or one binding costs a diff, not a new subscription list.
 */

export interface AgentChanges {
  subscribe: string[];
  unsubscribe: string[];
}

export class AgentSubscriptionPlan {
  private owned: ReadonlySet<number> = new Set();
  /** Node → the agent bound to it, for every bound node of the site. */
  private readonly agentOf = new Map<string, string>();
  /** Node → its partition: the hash is computed once per node, not at every change of ownership. */
  private readonly partitionOfNode = new Map<string, number>();
  /** Agent subscribed → how many owned nodes are bound to it (one, but while a binding moves). */
  private held = new Map<string, number>();

  constructor(private readonly partitionOf: (node: string) => number) {}

  /** The agents subscribed once the changes answered so far are applied. */
  agents(): string[] {
    return [...this.held.keys()];
  }

  /** This controller owns `owned` now (all of them: not a difference). */
  ownedChanged(owned: Iterable<number>): AgentChanges {
    this.owned = new Set(owned);
    const next = new Map<string, number>();
    for (const [node, agent] of this.agentOf) if (this.owns(node)) next.set(agent, (next.get(agent) ?? 0) + 1);
    const changes: AgentChanges = {
      subscribe: [...next.keys()].filter((a) => !this.held.has(a)),
      unsubscribe: [...this.held.keys()].filter((a) => !next.has(a)),
    };
    this.held = next;
    return changes;
  }

  /** `node` is bound to `agentId` now (null: to none, or the node is gone). */
  nodeBound(node: string, agentId: string | null): AgentChanges {
    const changes: AgentChanges = { subscribe: [], unsubscribe: [] };
    const before = this.agentOf.get(node) ?? null;
    if (before === agentId) return changes;
    const owned = this.owns(node);
    if (agentId === null) {
      this.agentOf.delete(node);
      this.partitionOfNode.delete(node);
    } else this.agentOf.set(node, agentId);
    if (!owned) return changes;
    if (before !== null) {
      const count = this.held.get(before)! - 1;
      if (count > 0) this.held.set(before, count);
      else {
        this.held.delete(before);
        changes.unsubscribe.push(before);
      }
    }
    if (agentId !== null) {
      const count = this.held.get(agentId) ?? 0;
      this.held.set(agentId, count + 1);
      if (count === 0) changes.subscribe.push(agentId);
    }
    return changes;
  }

  private owns(node: string): boolean {
    let partition = this.partitionOfNode.get(node);
    if (partition === undefined) this.partitionOfNode.set(node, (partition = this.partitionOf(node)));
    return this.owned.has(partition);
  }
}
