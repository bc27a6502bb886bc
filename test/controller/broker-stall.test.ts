/**
 * The embedded broker through a stall of its own process: the stall detector on a fake clock,
 * the will hold on fake timers, and aedes' deferred keepalive close on a real broker whose event
 * loop is blocked while a client's PINGREQ waits in the socket buffer.
 */
import type { Client, PublishPacket } from 'aedes';
import { generate } from 'mqtt-packet';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../controller/broker/embedded.js';
import { guardAgainstStalls } from '../../controller/broker/stall-guard.js';
import { STALL_AFTERMATH_MS, STALL_MIN_MS, STALL_SAMPLE_MS, STALL_WILL_HOLD_MS, StallWatch } from '../../controller/broker/stall-watch.js';
import { createLogger } from '../../controller/log.js';
import { Topics } from '../../shared/topics.js';

const log = createLogger({ level: 'silent' });

describe('StallWatch', () => {
  it('sees no stall while its sampler runs on time', () => {
    const w = new StallWatch(0);
    for (let t = STALL_SAMPLE_MS; t <= 10_000; t += STALL_SAMPLE_MS) expect(w.sample(t + 100)).toBe(0);
    expect(w.inStall(10_200)).toBe(false);
  });

  it('reports a sample late by the minimum stall and blames what happens in its aftermath', () => {
    const w = new StallWatch(0);
    const resumed = STALL_SAMPLE_MS + 12_000;
    expect(w.sample(resumed)).toBe(12_000);
    // The sampler runs on time again from here.
    for (let t = resumed + STALL_SAMPLE_MS; t < resumed + STALL_AFTERMATH_MS; t += STALL_SAMPLE_MS) {
      expect(w.sample(t)).toBe(0);
      expect(w.inStall(t)).toBe(true);
    }
    expect(w.inStall(resumed + STALL_AFTERMATH_MS)).toBe(false);
  });

  it('counts a stall before its overdue sampler has fired (I/O read first after a resume)', () => {
    const w = new StallWatch(0);
    expect(w.inStall(STALL_SAMPLE_MS + STALL_MIN_MS - 1)).toBe(false);
    expect(w.inStall(STALL_SAMPLE_MS + STALL_MIN_MS)).toBe(true);
  });

  it('does not take a late sample under the minimum for a stall', () => {
    const w = new StallWatch(0);
    expect(w.sample(STALL_SAMPLE_MS + STALL_MIN_MS - 1)).toBe(0);
    expect(w.inStall(STALL_SAMPLE_MS + STALL_MIN_MS)).toBe(false);
  });
});

describe('the will of a connection that ends after a stall', () => {
  afterEach(() => vi.useRealTimers());

  /** A closing aedes client as authorizePublish sees it: its will still set. */
  const closing = (id: string) => {
    const will = { topic: `muster/agent/${id}/status`, payload: Buffer.from('{}'), qos: 1, retain: false, cmd: 'publish' } as unknown as PublishPacket;
    return { client: { id, will } as unknown as Client, will };
  };

  /** A guard on fake timers whose steady clock is the fake `Date.now()`; `connected` lists reconnected client ids. */
  function guard(connected: Set<string>) {
    vi.useFakeTimers({ now: 0 });
    return guardAgainstStalls(log, (id) => connected.has(id), () => Date.now());
  }

  it('is sent at once when no stall preceded it', () => {
    const g = guard(new Set());
    vi.advanceTimersByTime(10_000);
    const { client, will } = closing('mac-1');
    expect(g.holdWill(client, will, () => {})).toBe(false);
    g.close();
  });

  it('is held, then dropped when its agent connected again, or sent when it did not', () => {
    const connected = new Set(['mac-alive']);
    const g = guard(connected);
    vi.advanceTimersByTime(STALL_SAMPLE_MS);
    // The process stops for 12 s: the clock jumps, then the overdue sampler fires.
    vi.setSystemTime(Date.now() + 12_000);
    vi.advanceTimersByTime(STALL_SAMPLE_MS);
    const outcomes: Record<string, Error | null | undefined | 'pending'> = { 'mac-alive': 'pending', 'mac-dead': 'pending' };
    for (const id of Object.keys(outcomes)) {
      const { client, will } = closing(id);
      expect(g.holdWill(client, will, (err) => (outcomes[id] = err)), id).toBe(true);
    }
    vi.advanceTimersByTime(STALL_WILL_HOLD_MS - 1);
    expect(outcomes).toEqual({ 'mac-alive': 'pending', 'mac-dead': 'pending' });
    vi.advanceTimersByTime(1);
    expect(outcomes['mac-alive']).toBeInstanceOf(Error);
    expect(outcomes['mac-dead']).toBeNull();
    g.close();
  });

  it('takes only the will, not an ordinary publish of the closing client', () => {
    const g = guard(new Set());
    vi.setSystemTime(STALL_SAMPLE_MS + STALL_MIN_MS);
    const { client } = closing('mac-1');
    const heartbeat = { topic: 'muster/agent/mac-1/heartbeat', payload: Buffer.from('{}'), qos: 0, retain: false, cmd: 'publish' } as unknown as PublishPacket;
    expect(g.holdWill(client, heartbeat, () => {})).toBe(false);
    g.close();
  });
});

describe("aedes' keepalive close after a blocked event loop", () => {
  const agentId = 'mac-020000000001';
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({
      topics: new Topics(),
      log,
      host: '127.0.0.1',
      mqttPort: 0,
      wsHost: '127.0.0.1',
      authenticate: async () => ({ ok: true, principal: { kind: 'agent', agentId, proof: 'none' } }),
      limits: { maxConnections: 10, maxConnectionsPerSource: 10, unlimitedSources: [] },
      originAllowed: () => false,
    });
  });
  afterAll(async () => broker?.close());

  /** A raw MQTT 3.1.1 client with a 1 s keepalive (aedes closes it 1.5 s after its last packet), connected. */
  async function connect(): Promise<net.Socket> {
    const s = net.connect({ host: '127.0.0.1', port: broker.mqttPort });
    await new Promise((r) => s.once('connect', r));
    s.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: agentId, clean: true, keepalive: 1 }));
    await new Promise((r) => s.once('data', r));
    return s;
  }
  /** This process does not run for `ms` (the broker's keepalive timer falls due meanwhile). */
  const block = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  const pingresp = (s: net.Socket) => new Promise<boolean>((resolve) => {
    s.once('data', (d: Buffer) => resolve(d[0] === 0xd0));
    s.once('close', () => resolve(false));
  });

  it('keeps a client whose PINGREQ arrived in time and waited in the socket buffer', async () => {
    const s = await connect();
    block(1000);
    s.write(generate({ cmd: 'pingreq' })); // reaches the kernel now: the broker reads it after the block
    block(1000);
    expect(await pingresp(s), 'PINGRESP, connection kept').toBe(true);
    s.destroy();
  });

  it('still closes a client that sent nothing within 1.5 × keepalive', async () => {
    const s = await connect();
    const t0 = performance.now();
    await new Promise((r) => s.once('close', r));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});
