/**
 * The agent subscriptions of a controller in a federation on shared brokers (`federation:` and
 * `brokers:`): every agent's hello, status and credential messages (one each per connection:
 * identification and discovery need every hello), and the heartbeats and states of the agents of
 * the nodes it owns (AgentSubscriptionPlan decides which; this applies its changes to the bus,
 * batched per loop turn). Without a shared message plane the controller keeps `agents/+/+`.
 */
import type { AgentTopicKind } from '../../shared/topics.js';
import type { FilterGroup, MessageHandler } from '../bus/bus.js';
import type { Context } from '../context.js';
import type { EventOwner } from '../events.js';
import { AgentSubscriptionPlan, type AgentChanges } from './agent-subscriptions.js';
import type { NodeOwnership } from './node-ownership.js';

/** Heard from every agent by every controller: rare (about one each per agent connection). */
const EVERY_AGENT: readonly AgentTopicKind[] = ['hello', 'status', 'credential'];
/** Heard from the agents of the nodes owned: the messages at rate. */
const OWNED_AGENT: readonly AgentTopicKind[] = ['heartbeat', 'state'];

/**
 * The ownership by which agents are heard, when the controller is in a federation on shared brokers:
 * then each agent is heard (and each hello acted on) by one controller. Null otherwise: every
 * controller hears every agent it is sent, as one controller alone does.
 */
export function partitionedPlane(ctx: Pick<Context, 'config' | 'ownership'>): NodeOwnership | null {
  return ctx.config.brokers && ctx.ownership ? ctx.ownership : null;
}

export class PartitionedAgentPlane {
  private readonly plan: AgentSubscriptionPlan;
  private readonly everyAgent: FilterGroup;
  private readonly ownedAgents: FilterGroup;
  private readonly events: EventOwner;
  /** Agent → subscribe (true) or unsubscribe, not yet applied: applied together at the next loop turn. */
  private readonly pending = new Map<string, boolean>();
  private flushing: NodeJS.Immediate | null = null;
  /** Applications of pending changes, one after another (a subscribe and a later unsubscribe stay in order). */
  private applied: Promise<void> = Promise.resolve();

  private constructor(
    private readonly ctx: Context,
    ownership: NodeOwnership,
    handler: MessageHandler,
  ) {
    const { bus, topics } = ctx;
    this.plan = new AgentSubscriptionPlan((node) => ownership.partitionOf(node));
    this.everyAgent = bus.filterGroup(`${topics.prefix}/agents/+/(${EVERY_AGENT.join('|')})`, handler);
    this.ownedAgents = bus.filterGroup(`${topics.prefix}/agents/(owned)/(${OWNED_AGENT.join('|')})`, handler);
    this.events = ctx.events.owner('agent-plane');
  }

  /** Subscribes every agent's rare messages and the owned nodes' agents; resolves once the brokers acknowledged them. */
  static async start(ctx: Context, ownership: NodeOwnership, handler: MessageHandler): Promise<PartitionedAgentPlane> {
    const plane = new PartitionedAgentPlane(ctx, ownership, handler);
    await plane.everyAgent.add(EVERY_AGENT.map((kind) => ctx.topics.agentsOfKind(kind)));
    for (const node of Object.values(ctx.store.data.nodes)) if (node.agentId) plane.plan.nodeBound(node.name, node.agentId);
    plane.queue(plane.plan.ownedChanged(ownership.ownedPartitions()));
    plane.events.on('ownership:changed', () => plane.queue(plane.plan.ownedChanged(ownership.ownedPartitions())));
    // Bound, rebound or undefined, here or by another controller (the store's change feed).
    plane.events.on('node:changed', ({ node, change }) => plane.queue(plane.plan.nodeBound(node, change === 'removed' ? null : (ctx.nodes.get(node)?.agentId ?? null))));
    await plane.flush();
    return plane;
  }

  /** Unsubscribes everything. */
  async stop(): Promise<void> {
    this.events.off();
    if (this.flushing) clearImmediate(this.flushing);
    await this.applied;
    await this.ownedAgents.remove(this.plan.agents().flatMap((a) => this.filtersOf(a)));
    await this.everyAgent.remove(EVERY_AGENT.map((kind) => this.ctx.topics.agentsOfKind(kind)));
    this.ctx.metrics.agentSubscriptions.set(0);
  }

  private queue({ subscribe, unsubscribe }: AgentChanges): void {
    for (const agent of unsubscribe) this.pending.set(agent, false);
    for (const agent of subscribe) this.pending.set(agent, true);
    if (this.pending.size > 0 && this.flushing === null) this.flushing = setImmediate(() => void this.flush());
  }

  /** Applies the pending changes; a failure is logged (mqtt.js subscribes again at the next connect). */
  private flush(): Promise<void> {
    if (this.flushing) clearImmediate(this.flushing);
    this.flushing = null;
    const changes = [...this.pending];
    this.pending.clear();
    const add = changes.filter(([, on]) => on).flatMap(([agent]) => this.filtersOf(agent));
    const remove = changes.filter(([, on]) => !on).flatMap(([agent]) => this.filtersOf(agent));
    const { ctx } = this;
    this.applied = this.applied.then(async () => {
      const started = ctx.steady();
      try {
        await Promise.all([this.ownedAgents.add(add), this.ownedAgents.remove(remove)]);
      } catch (err) {
        ctx.log.error({ err: (err as Error).message, subscribe: add.length, unsubscribe: remove.length }, 'agent subscriptions not changed');
      }
      ctx.metrics.agentSubscriptions.set(EVERY_AGENT.length + this.plan.agents().length * OWNED_AGENT.length);
      if (add.length + remove.length > 0) ctx.log.info({ subscribed: add.length, unsubscribed: remove.length, ms: Math.round(ctx.steady() - started) }, 'federation: agent subscriptions follow the partitions owned');
    });
    return this.applied;
  }

  private filtersOf(agentId: string): string[] {
    return OWNED_AGENT.map((kind) => this.ctx.topics.agent(agentId, kind));
  }
}
