/**
 * Which broker each agent was last heard through, when the controller is on several (pure: the
 * bus does the I/O). An agent is on one broker at a time: a message for it goes there, and a
 * `status` from another broker is stale: the will its old broker sends when it notices the lost
 * connection, after the agent has moved on (a half-open connection is noticed only after 1.5
 * keepalives), carries the same boot id and would make a node dead that is alive on the new one.
 */
import type { AgentTopicKind } from '../../shared/topics.js';

export class AgentRoutes {
  private readonly brokerOf = new Map<string, number>();

  /**
   * A message of `kind` from `agentId` came through `broker`: whether to deliver it. Any other
   * kind than `status` says the agent is on that broker now; a `status` delivered (its will or
   * goodbye) says it is on none, so an agent is remembered only while it is connected.
   */
  heard(agentId: string, kind: AgentTopicKind, broker: number): boolean {
    const known = this.brokerOf.get(agentId);
    if (kind !== 'status') {
      if (known !== broker) this.brokerOf.set(agentId, broker);
      return true;
    }
    if (known !== undefined && known !== broker) return false;
    this.brokerOf.delete(agentId);
    return true;
  }

  /** The broker the agent was last heard through; undefined when never heard. */
  brokerFor(agentId: string): number | undefined {
    return this.brokerOf.get(agentId);
  }
}
