/**
 * What an unauthenticated peer can make the embedded broker hold: an MQTT packet is refused from
 * its length header, a WebSocket frame from its header, and connections are capped per source
 * address and in total. Driven against a real controller over real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConnectionCounter, MAX_PACKET_BYTES } from '../../controller/broker/limits.js';
import { until } from '../helpers/wait.js';
import { closed, connackCode, rawSocket, startSecureController, type SecureController } from './secure-controller.js';

const PER_SOURCE = 4;
let c: SecureController;
let port: number;

beforeAll(async () => {
  // The per-source cap applies to 127.0.0.1 here: no unlimited sources.
  c = await startSecureController({ wsPort: 0, limits: { maxConnections: 1000, maxConnectionsPerSource: PER_SOURCE, unlimitedSources: [] } });
  port = c.running.broker!.mqttPort;
});
afterAll(async () => {
  await c?.stop();
});

const MiB = 1024 * 1024;

/** MQTT's variable-length integer. */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const openSocket = () => rawSocket(port);

describe('packet sizes', () => {
  it('closes a CONNECT announcing 256 MiB after its header, and the controller does not grow', async () => {
    const before = process.memoryUsage().rss;
    const s = await openSocket();
    s.on('error', () => {}); // the broker resets the connection mid-write
    const chunk = Buffer.alloc(MiB, 0x41);
    let sent = 0;
    let isClosed = false;
    const done = closed(s).then(() => (isClosed = true));
    s.write(Buffer.concat([Buffer.from([0x10]), remainingLength(268_435_455)]));
    // 150 MiB of "CONNECT body", written as fast as the socket takes it, until the broker hangs up.
    while (sent < 150 * MiB && !isClosed) {
      sent += chunk.length;
      if (!s.write(chunk)) await Promise.race([new Promise((r) => s.once('drain', r)), done]);
    }
    await done;
    expect(sent).toBeLessThan(150 * MiB);
    expect((process.memoryUsage().rss - before) / MiB).toBeLessThan(20);
  });

  it('closes a WebSocket whose frame is larger than the largest MQTT packet', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${c.running.broker!.wsPort}`, 'mqtt');
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const code = new Promise<number>((resolve) => ws.once('close', (n) => resolve(n)));
    ws.on('error', () => {});
    ws.send(Buffer.alloc(MAX_PACKET_BYTES + 1));
    expect(await code).toBe(1009); // message too big
  });
});

describe('connections', () => {
  it(`admits ${PER_SOURCE} connections from one address, closes the next at once, and admits again when one ends`, async () => {
    // The admin's own CLI connection from startSecureController holds one.
    const idle = await Promise.all(Array.from({ length: PER_SOURCE - 1 }, () => openSocket()));
    await closed(await openSocket());
    idle.pop()!.destroy();
    // The broker counts the closed one off when it sees the close: then a login gets in.
    const code = await until('a login once a connection closed', async () => {
      const s = await openSocket();
      s.on('error', () => {});
      const answer = await Promise.race([connackCode(s, 'admin', c.adminPassword), closed(s).then(() => null)]);
      s.destroy();
      return answer === null ? null : { answer };
    }, 5000);
    expect(code.answer).toBe(0);
    for (const s of idle) s.destroy();
  });

  it('counts per source and in total; unlimited sources skip only the per-source cap', () => {
    const n = new ConnectionCounter({ maxConnections: 3, maxConnectionsPerSource: 1, unlimitedSources: ['127.0.0.1'] });
    expect(n.admit('10.0.0.1')).toBeNull();
    expect(n.admit('10.0.0.1')).toMatch(/1 connections open from that address/);
    expect(n.admit('127.0.0.1')).toBeNull();
    expect(n.admit('127.0.0.1')).toBeNull();
    expect(n.admit('10.0.0.2')).toMatch(/3 connections open, the limit/);
    n.release('10.0.0.1');
    expect(n.admit('10.0.0.2')).toBeNull();
    expect(n.admit('10.0.0.1')).toMatch(/connections open, the limit/);
  });
});
