import { Aedes, type AedesPublishPacket } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { AedesBus } from '../../controller/bus/aedes-bus.js';

describe('AedesBus on a real aedes broker', () => {
  let broker: Aedes | null = null;
  afterEach(async () => {
    await new Promise<void>((done) => broker?.close(() => done()) ?? done());
    broker = null;
  });

  it('a subscriber that throws is reported; the message still reaches the others and later messages flow', async () => {
    broker = await Aedes.createBroker();
    const failures: string[] = [];
    const bus = new AedesBus(broker, (filter, err) => failures.push(`${filter}: ${(err as Error).message}`));
    const others: string[] = [];
    const raw: string[] = [];
    await bus.subscribe('muster/agents/+/+', (topic) => {
      throw new Error(`cannot handle ${topic}`);
    });
    await bus.subscribe('muster/agents/#', (topic) => others.push(topic));
    // A subscriber outside the bus: aedes' own delivery to it must not be cut short either.
    await new Promise<void>((subscribed) => broker!.subscribe('muster/agents/+/+', (p: AedesPublishPacket, cb: () => void) => (raw.push(p.topic), cb()), subscribed));
    await bus.publish('muster/agents/a1/heartbeat', '{}');
    await bus.publish('muster/agents/a2/heartbeat', '{}', { qos: 1 });
    expect(failures).toEqual(['muster/agents/+/+: cannot handle muster/agents/a1/heartbeat', 'muster/agents/+/+: cannot handle muster/agents/a2/heartbeat']);
    expect(others).toEqual(['muster/agents/a1/heartbeat', 'muster/agents/a2/heartbeat']);
    expect(raw).toEqual(['muster/agents/a1/heartbeat', 'muster/agents/a2/heartbeat']);
  });

  it('drains a backlog of 50,000 held-back deliveries without recursing once per message', async () => {
    // aedes runs at most `concurrency` (100) deliveries at once and queues the rest; each finished
    // delivery starts the next queued one from inside its callback. A subscriber that always called
    // back synchronously would nest one stack frame set per queued message.
    broker = await Aedes.createBroker();
    const bus = new AedesBus(broker, (filter, err) => {
      throw new Error(`subscriber of ${filter} threw: ${String(err)}`);
    });
    let received = 0;
    await bus.subscribe('muster/agents/+/+', () => received++);
    // Another subscriber (a slow client, say) holds 100 deliveries on another topic: the broker is
    // saturated, and the agent messages published meanwhile queue up behind them.
    const held: (() => void)[] = [];
    await new Promise<void>((subscribed) => broker!.subscribe('muster/events/+', (_p: AedesPublishPacket, cb: () => void) => held.push(cb), subscribed));
    const publish = (topic: string) => broker!.publish({ cmd: 'publish', topic, payload: Buffer.from('{}'), qos: 0, retain: false, dup: false }, () => {});
    for (let i = 0; i < 100; i++) publish(`muster/events/e${i}`);
    const total = 50_000;
    for (let i = 0; i < total; i++) publish(`muster/agents/a${i}/heartbeat`);
    expect(held).toHaveLength(100);
    expect(received).toBe(0);
    // Each release starts the next queued delivery: ours, one after another.
    let thrown: unknown = null;
    try {
      for (const cb of held.splice(0)) cb();
    } catch (err) {
      thrown = err;
    }
    // Deferred callbacks finish the backlog in a few thousand turns at most.
    for (let turn = 0; turn < 100_000 && received < total; turn++) await new Promise((r) => setImmediate(r));
    expect(thrown).toBeNull();
    expect(received).toBe(total);
  });
});
