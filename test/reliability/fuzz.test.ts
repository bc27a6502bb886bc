/**
 * Bad input (issue 9, item 5): 100,000 random and mutated messages over MQTT/TCP and MQTT over
 * WebSocket against a real `muster controller`: invalid JSON, wrong types, huge strings, deep
 * nesting, invalid UTF-8, topic injection, oversized payloads (three of 10 MB). The generator
 * labels each message with the fate it must meet, so the test checks that the controller stays
 * up, serves, keeps a valid store, stays within a memory bound, and counted every refusal:
 * muster_rejected_messages_total = sent − valid, muster_messages_total = valid.
 * Seeded: MUSTER_SEED=<printed seed> replays the exact messages.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { fuzzMessage, type Fate, type FuzzMessage } from './fuzz-gen.js';
import { metric, readStore, rssBytes, seeded, testSeed, until } from './lib.js';

const TOTAL = Number(process.env.FUZZ_TOTAL ?? 100_000);
const TCP_SENDERS = 6;
const WS_SENDERS = 2;
const BIG_PAYLOADS = 3;
/** Messages sent before the baseline RSS is taken (buffers, JIT and caches warmed). */
const WARM_UP = Math.floor(TOTAL / 20);
/** Unacknowledged QoS 1 messages per connection. */
const WINDOW = 64;
/** Growth of the controller's RSS allowed between warm-up and the end of the run. */
const RSS_BOUND = 96 * 2 ** 20;

const seed = testSeed();
let controller: ControllerProc;
let wsUrl: string;

beforeAll(async () => {
  controller = await startControllerProc([], { env: { MUSTER_LOG_LEVEL: process.env.MUSTER_LOG_LEVEL ?? 'warn' } });
  wsUrl = /ws=(\S+)/.exec(controller.proc.output())![1]!;
});
afterAll(() => controller?.stop());

/** One agent identity sending fuzz over one transport; reconnects after each refusal that closes it. */
class Sender {
  private client: MqttClient | null = null;
  private inflight = 0;
  private drained: (() => void) | null = null;
  readonly counts: Record<Fate, number> = { valid: 0, ingest: 0, acl: 0 };
  /** The first message that went wrong on this connection: the run stops there. */
  failure: Error | null = null;
  /** The last few messages sent, for the failure message. */
  private readonly recent: string[] = [];

  constructor(
    private readonly url: string,
    readonly agentId: string,
    /** The id its broker-refused messages are sent under. */
    private readonly aclId: string,
  ) {}

  private async connect(clientId = this.agentId): Promise<MqttClient> {
    const c = mqtt.connect(this.url, { clientId, protocolVersion: 4, reconnectPeriod: 0, clean: true, writeCache: false });
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
    });
    c.on('error', () => {});
    return c;
  }

  private async pipeline(): Promise<MqttClient> {
    if (this.client) return this.client;
    const c = await this.connect();
    let lastError = '';
    c.on('error', (err) => (lastError = err.message));
    c.on('close', () => (this.failure ??= new Error(`${this.agentId}: the connection closed (${lastError || 'by the broker'}) after ${this.recent.join(' | ')}`)));
    this.client = c;
    return c;
  }

  private async drain(): Promise<void> {
    while (this.inflight > 0) await new Promise<void>((r) => (this.drained = r));
  }

  async send(m: FuzzMessage): Promise<void> {
    if (this.failure) throw this.failure;
    this.counts[m.fate]++;
    this.recent.push(`${m.what} (${m.payload.length} B)`);
    if (this.recent.length > 3) this.recent.shift();
    if (m.fate === 'acl') {
      // On a connection of its own, under a second agent id (the refusal closes the connection,
      // and a reconnect under the same id would take over the pipelined session).
      const c = await this.connect(this.aclId);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${this.aclId}: the broker kept the connection after ${m.what}`)), 15_000);
        c.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        c.publish(m.topic, m.payload, { qos: 1 }, () => {});
      });
      c.end(true);
      return;
    }
    if (this.inflight >= WINDOW) await new Promise<void>((r) => (this.drained = r));
    const c = await this.pipeline();
    this.inflight++;
    const lost = setTimeout(() => {
      this.failure ??= new Error(`${this.agentId}: ${m.what} on ${m.topic} got no acknowledgement (connected: ${c.connected})`);
      this.release();
    }, 15_000);
    c.publish(m.topic, m.payload, { qos: 1 }, (err) => {
      clearTimeout(lost);
      if (err) this.failure ??= new Error(`${this.agentId}: ${m.what} on ${m.topic} was not acknowledged: ${err.message}`);
      this.release();
    });
  }

  private release(): void {
    this.inflight--;
    const d = this.drained;
    this.drained = null;
    d?.();
  }

  async close(): Promise<void> {
    await this.drain();
    if (this.failure) throw this.failure;
    const c = this.client;
    this.client = null;
    c?.removeAllListeners('close');
    await c?.endAsync();
  }
}

describe('fuzzing the controller', () => {
  it(`refuses and counts ${TOTAL} random and mutated messages over TCP and WebSocket (seed ${seed})`, { timeout: 360_000 }, async () => {
    const rnd = seeded(seed);
    const senders = [
      ...Array.from({ length: TCP_SENDERS }, (_, i) => new Sender(controller.mqttUrl, `mac-0200000f00${String(i).padStart(2, '0')}`, `mac-0200000f10${String(i).padStart(2, '0')}`)),
      ...Array.from({ length: WS_SENDERS }, (_, i) => new Sender(wsUrl, `mac-0200000f01${String(i).padStart(2, '0')}`, `mac-0200000f11${String(i).padStart(2, '0')}`)),
    ];
    // Messages are made up front in one seeded sequence, so a seed replays them exactly.
    let big = 0;
    const plan = Array.from({ length: TOTAL }, (_, i) => {
      const s = i % senders.length;
      const m = fuzzMessage(rnd, senders[s]!.agentId, 0xf00 + s, { big: big < BIG_PAYLOADS && s < TCP_SENDERS });
      if (m.payload.length > 8 * 2 ** 20) big++;
      return m;
    });
    expect(big).toBe(BIG_PAYLOADS);

    const pid = controller.proc.child.pid!;
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 250);
    onTestFinished(() => clearInterval(sampler));
    const startedAt = performance.now();
    let warmRss = 0;
    await Promise.all(
      senders.map(async (sender, s) => {
        try {
        for (let i = s; i < TOTAL; i += senders.length) {
          if (i === WARM_UP) warmRss = rssBytes(pid);
          await sender.send(plan[i]!);
        }
        await sender.close();
        } catch (err) {
          const log = controller.proc.output().split('\n').filter((l) => l.includes(sender.agentId.slice(0, 14))).slice(-8).join('\n');
          throw new Error(`${(err as Error).message}\ncontroller log:\n${log}`);
        }
      }),
    );
    const seconds = (performance.now() - startedAt) / 1000;
    const sent = { valid: 0, ingest: 0, acl: 0 };
    for (const s of senders) for (const f of ['valid', 'ingest', 'acl'] as const) sent[f] += s.counts[f];
    expect(sent.valid + sent.ingest + sent.acl).toBe(TOTAL);

    // Every refusal counted, every valid message counted as ingested.
    const adminUrl = controller.adminUrl!;
    await until('the counters to catch up', async () => ((await metric(adminUrl, 'muster_rejected_messages_total')) >= sent.ingest + sent.acl ? true : undefined), 20_000);
    const rejected = await metric(adminUrl, 'muster_rejected_messages_total');
    const ingested = await metric(adminUrl, 'muster_messages_total');
    expect(rejected).toBe(TOTAL - sent.valid);
    expect(ingested).toBe(sent.valid);
    // Refused by the broker: by its topic rules, or (over the packet limit) from the length header.
    const broker = (await metric(adminUrl, 'muster_rejected_messages_total', 'reason="acl"')) + (await metric(adminUrl, 'muster_rejected_messages_total', 'reason="size"'));
    expect(broker).toBe(sent.acl);
    expect(await metric(adminUrl, 'muster_rejected_messages_total', 'reason="size"')).toBeGreaterThanOrEqual(BIG_PAYLOADS);
    expect(await metric(adminUrl, 'muster_rejected_messages_total', 'reason="encoding"')).toBeGreaterThan(0);
    clearInterval(sampler);
    const endRss = rssBytes(pid);

    // Still up and serving, memory bounded, the store valid and holding only the senders.
    expect(controller.proc.child.exitCode).toBeNull();
    const discovered = JSON.parse((await controller.cli(['discovered', '--json'])).stdout) as Array<{ agentId: string }>;
    expect(discovered.map((a) => a.agentId).sort()).toEqual(senders.map((s) => s.agentId).sort());
    const store = await until('the store written', () => {
      const d = readStore(controller.dataDir);
      return Object.keys(d.agents).length === senders.length ? d : undefined;
    });
    expect(Object.keys(store.nodes)).toEqual([]);
    expect(endRss - warmRss).toBeLessThan(RSS_BOUND);

    const reasons = (await (await fetch(`${adminUrl}/metrics`)).text()).split('\n').filter((l) => l.startsWith('muster_rejected_messages_total{'));
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
    console.log(
      `fuzz (seed ${seed}): ${TOTAL} messages in ${seconds.toFixed(1)} s (${(TOTAL / seconds).toFixed(0)}/s): ${sent.valid} valid, ${sent.ingest} refused by ingest, ${sent.acl} by the broker\n` +
        `  controller RSS: ${mb(warmRss)} after warm-up, peak ${mb(peakRss)}, ${mb(endRss)} at the end (bound: +${mb(RSS_BOUND)})\n  ${reasons.join('\n  ')}`,
    );
  });
});
