/**
 * Bus over several external brokers (`brokers:`), one MqttBus each, none bridged to another: each
 * message enters at one broker, so a subscription made on every broker delivers it once. Agents
 * are on one broker at a time (their list, failing over); AgentRoutes remembers which, so that a
 * message for an agent goes there and a stale will from the broker it left is dropped.
 *
 * Publishing: to a message for one agent (its credential), the agent's broker, or every broker
 * while it was never heard; everything else (node states, retained; events; console output;
 * responses) to every broker, since clients may be on any. Brokers that are down are skipped
 * while one is up (a broker that returns gets the retained states again: the 'up' below); with
 * none up, mqtt.js keeps the message for the next connect, as it does with one broker.
 */
import type { Topics } from '../../shared/topics.js';
import { AgentRoutes } from './agent-routes.js';
import type { Bus, FilterGroup, MessageHandler, PublishOptions } from './bus.js';
import { MqttBus, type MqttBusOptions } from './mqtt-bus.js';

export interface BrokerSetOptions extends MqttBusOptions {
  topics: Topics;
  /**
   * Told when one broker's connection goes down or comes up, by its URL without credentials (the
   * bus's own listeners are told less: see onConnectionChange).
   */
  onBrokerChange?: (broker: string, state: 'up' | 'down') => void;
}

export class BrokerSetBus implements Bus {
  private readonly routes = new AgentRoutes();
  private readonly listeners: Array<(s: 'up' | 'down') => void> = [];
  private anyUp = true;

  private constructor(
    private readonly buses: readonly MqttBus[],
    private readonly topics: Topics,
    onBrokerChange: BrokerSetOptions['onBrokerChange'],
  ) {
    for (const bus of buses) {
      bus.onConnectionChange((state) => {
        onBrokerChange?.(bus.name, state);
        const anyUp = buses.some((b) => b.connected);
        // A broker (back) up: it may have lost the retained states, and its agents were unheard.
        if (state === 'up') for (const l of this.listeners) l('up');
        else if (this.anyUp && !anyUp) for (const l of this.listeners) l('down');
        this.anyUp = anyUp;
      });
    }
  }

  /**
   * Connects to every broker; resolves once one is connected (the others keep trying in the
   * background and are used once up), rejects when none can be reached, naming each one's failure.
   */
  static async connect(urls: readonly string[], opts: BrokerSetOptions): Promise<BrokerSetBus> {
    if (urls.length === 0) throw new Error('brokers: no broker URL given');
    const buses = await Promise.all(urls.map((url) => MqttBus.open(url, opts)));
    try {
      await Promise.any(buses.map((b) => b.firstConnect()));
    } catch (err) {
      await Promise.all(buses.map((b) => b.close()));
      throw new Error((err as AggregateError).errors.map((e: Error) => e.message).join('; '));
    }
    for (const b of buses) b.started();
    return new BrokerSetBus(buses, opts.topics, opts.onBrokerChange);
  }

  /** The brokers (URLs without credentials) and whether each is connected now. */
  brokers(): Array<{ broker: string; connected: boolean }> {
    return this.buses.map((b) => ({ broker: b.name, connected: b.connected }));
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<() => Promise<void>> {
    const group = this.filterGroup(filter, handler);
    await group.add([filter]);
    return () => group.remove([filter]);
  }

  /** One group on every broker. */
  filterGroup(name: string, handler: MessageHandler): FilterGroup {
    const groups = this.buses.map((bus, i) =>
      bus.filterGroup(name, (topic, payload) => {
        if (this.accepts(i, topic)) handler(topic, payload);
      }),
    );
    return {
      add: async (filters) => void (await Promise.all(groups.map((g) => g.add(filters)))),
      remove: async (filters) => void (await Promise.all(groups.map((g) => g.remove(filters)))),
    };
  }

  async publish(topic: string, payload: string | Buffer, opts?: PublishOptions): Promise<void> {
    await Promise.all(this.targets(topic).map((bus) => bus.publish(topic, payload, opts)));
  }

  /** 'up' when any broker comes (back) up after the start; 'down' when the last one is lost. */
  onConnectionChange(listener: (state: 'up' | 'down') => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await Promise.all(this.buses.map((b) => b.close()));
  }

  /** Whether a message that came through broker `i` goes to the handlers (AgentRoutes; with one broker, always). */
  private accepts(i: number, topic: string): boolean {
    if (this.buses.length === 1) return true;
    const parsed = this.topics.parse(topic);
    return parsed?.area !== 'agent' || this.routes.heard(parsed.agentId, parsed.kind, i);
  }

  private targets(topic: string): readonly MqttBus[] {
    if (this.buses.length === 1) return this.buses;
    const parsed = this.topics.parse(topic);
    const known = parsed?.area === 'credential' ? this.routes.brokerFor(parsed.agentId) : undefined;
    const candidates = known === undefined ? this.buses : [this.buses[known]!];
    const up = candidates.filter((b) => b.connected);
    return up.length > 0 ? up : candidates;
  }
}
