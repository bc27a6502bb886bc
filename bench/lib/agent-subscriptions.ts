// How long a controller in a federation takes to subscribe the agents of the partitions it gains:
// the bus's filter group (controller/bus/) on real Mosquitto brokers, two filters per agent
// (heartbeat, state) as controller/federation/agent-plane.ts holds them, in packets of 1,000,
// against the same filters subscribed one SUBSCRIBE each.
import { BrokerSetBus } from '../../controller/bus/broker-set-bus.js';
import { Topics } from '../../shared/topics.js';
import { startMosquitto } from '../../test/helpers/mosquitto.js';

export interface SubscribeFigures {
  agents: number;
  brokers: number;
  filters: number;
  /** Milliseconds until every broker acknowledged every filter, batched (the filter group). */
  subscribeMs: number;
  /** The controller process's CPU meanwhile (the rest is the brokers'). */
  subscribeCpuMs: number;
  /** And to unsubscribe them all again (a partition lost). */
  unsubscribeMs: number;
  /** Milliseconds for the same filters subscribed one per SUBSCRIBE packet (bus.subscribe each). */
  oneByOneMs: number;
  /** A heartbeat of the last agent reached the handler once subscribed. */
  delivered: boolean;
}

export async function measureAgentSubscriptions({ agents, brokers }: { agents: number; brokers: number }): Promise<SubscribeFigures> {
  const topics = new Topics();
  const started = await Promise.all(Array.from({ length: brokers }, () => startMosquitto()));
  const bus = await BrokerSetBus.connect(
    started.map((b) => b.url),
    { topics, clientId: `bench-subscribe-${process.pid}`, onFailure: (_f, err) => { throw err; } },
  );
  try {
    const ids = Array.from({ length: agents }, (_, i) => `mac-02${String(i).padStart(10, '0')}`);
    const filters = ids.flatMap((id) => [topics.agent(id, 'heartbeat'), topics.agent(id, 'state')]);
    let heard = 0;
    const group = bus.filterGroup('bench', () => heard++);
    let t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await group.add(filters);
    const subscribeMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await bus.publish(topics.agent(ids.at(-1)!, 'heartbeat'), '{}', { qos: 1 });
    const deadline = Date.now() + 5000;
    while (heard === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    t0 = performance.now();
    await group.remove(filters);
    const unsubscribeMs = performance.now() - t0;
    t0 = performance.now();
    const single = await Promise.all(filters.map((f) => bus.subscribe(f, () => {})));
    const oneByOneMs = performance.now() - t0;
    await Promise.all(single.map((u) => u()));
    return { agents, brokers, filters: filters.length, subscribeMs: Math.round(subscribeMs), subscribeCpuMs: Math.round((cpu.user + cpu.system) / 1000), unsubscribeMs: Math.round(unsubscribeMs), oneByOneMs: Math.round(oneByOneMs), delivered: heard === brokers || heard === 1 };
  } finally {
    await bus.close();
    await Promise.all(started.map((b) => b.proc.stop()));
  }
}
