/**
 * BrokerSetBus on real Mosquitto brokers, in process: it starts with one broker down and uses it
 * once it is up, refuses to start with none, delivers a message from either broker, drops a will
 * from the broker an agent left, and sends an agent's credential to its broker only; a filter
 * group of thousands of filters delivers each message once and lets go of removed filters.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerSetBus } from '../../controller/bus/broker-set-bus.js';
import { Topics } from '../../shared/topics.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import type { Proc } from '../helpers/proc.js';
import { until } from '../helpers/wait.js';

const topics = new Topics();
const failures: unknown[] = [];
const options = (name: string) => ({ topics, clientId: `test-${name}`, onFailure: (_f: string, err: unknown) => void failures.push(err) });

let live: { url: string; port: number; proc: Proc };
const closing: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  live = await startMosquitto();
});
afterEach(async () => {
  for (const c of closing.splice(0).reverse()) await c();
  expect(failures).toEqual([]);
});
afterAll(async () => {
  await live?.proc.stop();
});

async function client(url: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0 });
  closing.push(() => c.endAsync(true));
  return c;
}

async function brokerSet(urls: string[], name: string): Promise<BrokerSetBus> {
  const bus = await BrokerSetBus.connect(urls, options(name));
  closing.push(() => bus.close());
  return bus;
}

describe('BrokerSetBus', () => {
  it('starts with one broker down, subscribes there once it is up, and says so', async () => {
    const port = await freePort();
    const downUrl = `mqtt://127.0.0.1:${port}`;
    const bus = await brokerSet([downUrl, live.url], 'late');
    expect(bus.brokers()).toEqual([
      { broker: downUrl, connected: false },
      { broker: live.url, connected: true },
    ]);
    const changes: string[] = [];
    bus.onConnectionChange((s) => changes.push(s));
    const got: string[] = [];
    await bus.subscribe(topics.allAgents, (topic) => got.push(topic));

    const late = await startMosquitto(port);
    closing.push(() => late.proc.stop());
    await until('the late broker connected', () => bus.brokers()[0]!.connected, 10_000, 50);
    expect(changes).toEqual(['up']);
    // The subscription made while it was down is there now (mqtt.js subscribes on connect).
    const agent = await client(downUrl);
    await until('a heartbeat through the late broker', async () => {
      await agent.publishAsync(topics.agent('a1', 'heartbeat'), '{}', { qos: 1 });
      return got.length > 0;
    }, 10_000, 200);
    expect(got[0]).toBe(topics.agent('a1', 'heartbeat'));
  });

  it('refuses to start when no broker answers, naming each', async () => {
    const [p1, p2] = [await freePort(), await freePort()];
    await expect(BrokerSetBus.connect([`mqtt://127.0.0.1:${p1}`, `mqtt://u:secret@127.0.0.1:${p2}`], options('none'))).rejects.toThrow(
      new RegExp(`^cannot connect to broker mqtt://127.0.0.1:${p1}: .*; cannot connect to broker mqtt://\\*\\*\\*@127.0.0.1:${p2}: `),
    );
  });

  it('holds a group of thousands of filters: each delivers to its handler once, a removed one no more, one shared with a subscription until both let go', async () => {
    const bus = await brokerSet([live.url], 'group');
    const ids = Array.from({ length: 3000 }, (_, i) => `a${i}`);
    const got: string[] = [];
    const group = bus.filterGroup('agents', (topic) => got.push(topic));
    await group.add(ids.map((id) => topics.agent(id, 'heartbeat')));
    // Added again: nothing new; a wildcard filter in the group is matched as well.
    await group.add([topics.agent('a0', 'heartbeat'), topics.agentsOfKind('hello')]);
    const wide: string[] = [];
    const unsubscribe = await bus.subscribe(topics.agent('a1', 'heartbeat'), (topic) => wide.push(topic));
    const agent = await client(live.url);
    const beat = (id: string) => agent.publishAsync(topics.agent(id, 'heartbeat'), '{}', { qos: 1 });
    for (const id of ['a0', 'a1', 'a2999']) await beat(id);
    await agent.publishAsync(topics.agent('z', 'hello'), '{}', { qos: 1 });
    await until('4 messages heard', () => got.length === 4, 5000);
    expect(got).toEqual([topics.agent('a0', 'heartbeat'), topics.agent('a1', 'heartbeat'), topics.agent('a2999', 'heartbeat'), topics.agent('z', 'hello')]);
    expect(wide).toEqual([topics.agent('a1', 'heartbeat')]);

    await group.remove(ids.slice(0, 2000).map((id) => topics.agent(id, 'heartbeat')));
    got.length = 0;
    for (const id of ['a0', 'a1', 'a2999']) await beat(id);
    await until('a2999 heard again', () => got.length === 1, 5000);
    // a1's filter stays on the broker for the subscription: the group's handler no longer hears it.
    await until('a1 heard by the subscription', () => wide.length === 2, 5000);
    expect(got).toEqual([topics.agent('a2999', 'heartbeat')]);
    await unsubscribe();
  });

  describe('on two brokers', () => {
    let other: { url: string; port: number; proc: Proc };
    beforeAll(async () => {
      other = await startMosquitto();
    });
    afterAll(async () => {
      await other?.proc.stop();
    });

    it('delivers from either broker once, drops a will from the broker the agent left, keeps one from its own', async () => {
      const bus = await brokerSet([live.url, other.url], 'routes');
      const got: string[] = [];
      await bus.subscribe(topics.allAgents, (topic, payload) => got.push(`${topic.split('/').slice(2).join('/')} ${payload.toString()}`));
      const [onA, onB] = [await client(live.url), await client(other.url)];
      const send = (c: MqttClient, kind: 'hello' | 'status', body: string, agent = 'a1') => c.publishAsync(topics.agent(agent, kind), body, { qos: 1 });
      await send(onA, 'hello', 'A');
      await until('the hello through A', () => got.length === 1, 5000);
      await send(onB, 'hello', 'B');
      await until('the hello through B', () => got.length === 2, 5000);
      await send(onA, 'status', 'stale will');
      // Sent after the stale will over the same connections: once it is in, the will was dropped, not late.
      await send(onA, 'hello', 'marker', 'a9');
      await until('the marker through A', () => got.length === 3, 5000);
      await send(onB, 'status', 'will');
      await until('the will through B', () => got.length === 4, 5000);
      expect(got).toEqual(['a1/hello A', 'a1/hello B', 'a9/hello marker', 'a1/status will']);
    });

    it("sends an agent's credential to its broker only, and everything else to both", async () => {
      const bus = await brokerSet([live.url, other.url], 'publish');
      const seen: string[] = [];
      for (const [name, url] of [['A', live.url], ['B', other.url]] as const) {
        const c = await client(url);
        c.on('message', (topic) => seen.push(`${name} ${topic}`));
        await c.subscribeAsync([topics.credential('a2'), topics.event('test')], { qos: 1 });
      }
      const heard: string[] = [];
      await bus.subscribe(topics.allAgents, (topic) => heard.push(topic));
      await (await client(other.url)).publishAsync(topics.agent('a2', 'hello'), '{}', { qos: 1 });
      await until('a2 heard through B', () => heard.length === 1, 5000);
      await bus.publish(topics.credential('a2'), '{}', { qos: 1 });
      // Published after the credential, over the same connections: a credential sent to A would be seen before A's event.
      await bus.publish(topics.event('test'), '{}', { qos: 1 });
      await until('the event on both brokers', () => seen.filter((s) => s.endsWith(topics.event('test'))).length === 2, 5000);
      expect(seen.sort()).toEqual([`A ${topics.event('test')}`, `B ${topics.credential('a2')}`, `B ${topics.event('test')}`]);
    });
  });
});
