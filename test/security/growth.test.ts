/**
 * What a stranger with the bootstrap token, or a viewer, can make the controller keep: floods of
 * oversized hellos, retained publishes, new agent ids and journal lines against a real
 * controller, each checked against the store file, the broker's retained set and the disk.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Aedes } from 'aedes';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import type { Fingerprint } from '../../shared/protocol.js';
import { until } from '../helpers/wait.js';
import { rawConnect, startSecureController, type SecureController } from './secure-controller.js';

const KiB = 1024;
const MAX_DISCOVERED = 10;
const NEW_PER_MINUTE = 50;
const JOURNAL = { maxBytes: 4 * KiB, keepSegments: 2 };
let c: SecureController;
/** The controller's wall clock: the new-agent rate is per minute of it. */
let clock = Date.parse('2026-01-01T00:00:00Z');
const open: MqttClient[] = [];

beforeAll(async () => {
  c = await startSecureController(
    { limits: { maxDiscoveredAgents: MAX_DISCOVERED, newAgentsPerTokenPerMinute: NEW_PER_MINUTE }, journal: JOURNAL },
    { now: () => clock },
  );
  await c.addUser('vera', 'viewer');
});
afterAll(async () => {
  for (const m of open) m.end(true);
  await c?.stop();
});

const newToken = async () => (await c.admin.request('token-create', { note: 'flood' })).token;
const storeBytes = () => statSync(join(c.dataDir, 'store.json')).size;
/** A counter's value, summed over the series whose labels include `labels`. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await c.running.ctx.metrics.registry.getSingleMetric(name)!.get();
  return values.filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want)).reduce((sum, v) => sum + v.value, 0);
}
const rejected = (reason: string) => metric('muster_rejected_messages_total', { reason });
const hellos = () => metric('muster_messages_total', { kind: 'hello' });

/** Connects as agent `agentId` with `token`: the client, or the CONNACK code that refused it. */
async function agent(agentId: string, token: string): Promise<MqttClient | number> {
  try {
    const m = await rawConnect(c.running.mqttUrl, { clientId: agentId, username: agentId, password: token });
    open.push(m);
    return m;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

const helloOf = (agentId: string, fingerprint: Fingerprint) =>
  JSON.stringify({ v: 1, agentId, bootId: 'b0000001', agentVersion: 'flood', phase: 'run', at: clock, uptime: 1, fingerprint });

/** A fingerprint of about `bytes` as JSON, every field within the schema: NICs with long LLDP strings. */
function bigFingerprint(i: number, bytes: number): Fingerprint {
  const fp = simFingerprint(i);
  const long = 'x'.repeat(250);
  const nic = (k: number) => ({ name: `veth${k}`, mac: null, driver: 'veth', link: 'up' as const, speedMbps: null, virtual: true, lldp: { chassisId: long, portIdType: 'local', portId: long, portDescription: long, systemName: long } });
  const perNic = JSON.stringify(nic(100)).length + 1;
  return { ...fp, nics: [...fp.nics, ...Array.from({ length: Math.floor(bytes / perNic) }, (_, k) => nic(k))] };
}

async function hellosHandled(n: number, before: number): Promise<void> {
  await until(`${n} hellos handled`, async () => ((await hellos()) >= before + n ? true : undefined), 10_000, 20);
}

describe('a stranger holding the bootstrap token', () => {
  it('sends 40 hellos of 180 KiB: each is refused for its fingerprint size, and store.json does not grow', async () => {
    const token = await newToken();
    await c.running.ctx.store.flush();
    const storeBefore = storeBytes();
    const refusedBefore = await rejected('fingerprint');
    for (let i = 0; i < 40; i++) {
      const id = `mac-0a00000001${i.toString(16).padStart(2, '0')}`;
      const m = await agent(id, token);
      if (typeof m === 'number') throw new Error(`${id} refused with ${m}`);
      const payload = helloOf(id, bigFingerprint(1000 + i, 180 * KiB));
      expect(payload.length).toBeGreaterThan(175 * KiB);
      await m.publishAsync(`muster/agents/${id}/hello`, payload, { qos: 1 });
    }
    await until('40 hellos refused', async () => ((await rejected('fingerprint')) - refusedBefore === 40 ? true : undefined), 10_000, 20);
    await c.running.ctx.store.flush();
    expect(storeBytes() - storeBefore).toBeLessThan(4 * KiB);
    expect((await c.admin.request('discovered')).filter((d) => d.agentId.startsWith('mac-0a00000001'))).toEqual([]);
  });

  it(`introduces at most ${NEW_PER_MINUTE} new agent ids a minute; of those, the newest ${MAX_DISCOVERED} unbound stay, and store.json stays bounded`, async () => {
    const token = await newToken();
    const evictedBefore = await metric('muster_discovered_agents_evicted_total');
    const refusedBefore = await metric('muster_new_agents_refused_total');
    const helloBefore = await hellos();
    const ids = Array.from({ length: NEW_PER_MINUTE + 10 }, (_, i) => `mac-0b00000002${i.toString(16).padStart(2, '0')}`);
    const outcomes: Array<MqttClient | number> = [];
    for (const id of ids) {
      const m = await agent(id, token);
      outcomes.push(m);
      // 24 KiB fingerprints: under the cap, so each record is as big as one may be.
      if (typeof m !== 'number') await m.publishAsync(`muster/agents/${id}/hello`, helloOf(id, bigFingerprint(2000, 24 * KiB)), { qos: 1 });
    }
    // The token's minute is used up: the last 10 are refused with "server unavailable" (the agent retries).
    expect(outcomes.slice(NEW_PER_MINUTE)).toEqual(Array(10).fill(3));
    expect(outcomes.slice(0, NEW_PER_MINUTE).every((m) => typeof m !== 'number')).toBe(true);
    expect((await metric('muster_new_agents_refused_total')) - refusedBefore).toBe(10);
    await hellosHandled(NEW_PER_MINUTE, helloBefore);

    const discovered = (await c.admin.request('discovered')).map((d) => d.agentId).sort();
    expect(discovered).toEqual(ids.slice(NEW_PER_MINUTE - MAX_DISCOVERED, NEW_PER_MINUTE).sort());
    expect((await metric('muster_discovered_agents_evicted_total')) - evictedBefore).toBe(NEW_PER_MINUTE - MAX_DISCOVERED);
    await c.running.ctx.store.flush();
    expect(Object.keys(c.running.ctx.store.data.agents)).toHaveLength(MAX_DISCOVERED);
    expect(storeBytes()).toBeLessThan(MAX_DISCOVERED * 32 * KiB + 16 * KiB);

    // A known agent id is not new: it reconnects while the minute is used up.
    expect(typeof (await agent(ids[NEW_PER_MINUTE - 1]!, token))).not.toBe('number');
    // A minute later the token may introduce new ids again.
    clock += 60_000;
    expect(typeof (await agent(ids[NEW_PER_MINUTE]!, token))).not.toBe('number');
  });
});

describe('retained messages', () => {
  it("are the controller's alone: a viewer's and an agent's retain flags (its will's too) are dropped, so the retained set holds only node states", async () => {
    await c.admin.request('define', { range: 'n1', settings: [] });
    const viewer = await rawConnect(c.running.mqttUrl, { clientId: 'muster-cli-vera-flood', username: 'vera', password: 'vera-password' });
    open.push(viewer);
    // Not JSON: the API server refuses each, but the broker would have kept every one (3.8 MiB in the attack).
    for (let i = 0; i < 64; i++) await viewer.publishAsync(`muster/request/junk-${i}`, 'x'.repeat(60 * KiB), { qos: 1, retain: true });
    const id = 'mac-0c0000000301';
    const m = await agent(id, await newToken());
    if (typeof m === 'number') throw new Error(`${id} refused with ${m}`);
    await m.publishAsync(`muster/agents/${id}/heartbeat`, JSON.stringify({ v: 1, bootId: 'b0000001', seq: 1, phase: 'run', uptime: 1 }), { qos: 1, retain: true });
    // A will with the retain flag, sent by the broker when the agent's link breaks.
    const willer = 'mac-0c0000000302';
    const statusBefore = await metric('muster_messages_total', { kind: 'status' });
    const withWill = await rawConnect(c.running.mqttUrl, {
      clientId: willer,
      username: willer,
      password: await newToken(),
      will: { topic: `muster/agents/${willer}/status`, payload: Buffer.from(JSON.stringify({ v: 1, bootId: 'b0000001', online: false })), qos: 1, retain: true },
    });
    withWill.stream.destroy();
    await until('the will', async () => ((await metric('muster_messages_total', { kind: 'status' })) > statusBefore ? true : undefined), 10_000, 20);

    const retained = new Map<string, number>();
    const persistence = (c.running.broker!.aedes as Aedes & { persistence: { createRetainedStream(pattern: string): AsyncIterable<{ topic: string; payload: Buffer }> } }).persistence;
    for await (const packet of persistence.createRetainedStream('#')) retained.set(packet.topic, packet.payload.length);
    expect([...retained.keys()]).toEqual(['muster/nodes/n1/state']);
    expect(retained.get('muster/nodes/n1/state')).toBeLessThan(4 * KiB);
  });
});

describe('the journal', () => {
  it('rotates by size: the files stay within (keepSegments + 1) × maxBytes, and history still reads the rotated segments', async () => {
    await c.admin.request('define', { range: 'n2', settings: [] });
    // ~1 KiB a transition: 40 of them are more than the three files may hold.
    for (let i = 0; i < 20; i++) {
      await c.admin.request('offline', { range: 'n2', reason: `flood ${i} ${'y'.repeat(1000)}` });
      await c.admin.request('online', { range: 'n2' });
    }
    await c.running.ctx.journal.sync();
    const files = readdirSync(c.dataDir).filter((f) => f.startsWith('journal.jsonl')).sort();
    expect(files).toEqual(['journal.jsonl', 'journal.jsonl.1', 'journal.jsonl.2']);
    const bytes = files.reduce((sum, f) => sum + statSync(join(c.dataDir, f)).size, 0);
    expect(bytes).toBeLessThanOrEqual((JOURNAL.keepSegments + 1) * JOURNAL.maxBytes);

    const { transitions } = await c.admin.request('history', { node: 'n2', axis: 'admin' });
    const current = readFileSync(join(c.dataDir, 'journal.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"n2"')).length;
    expect(transitions.length).toBeGreaterThan(current);
    expect(transitions.at(-1)).toMatchObject({ from: 'offline', to: 'online' });
  });
});

it('leaves the data directory bounded after all the floods', () => {
  const sizes = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((sum, e) => sum + (e.isDirectory() ? sizes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
  // store.json and its last good copy (10 discovered records of < 32 KiB each), the journal's 3 files.
  expect(sizes(c.dataDir)).toBeLessThan(2 * (MAX_DISCOVERED * 32 * KiB + 16 * KiB) + 3 * JOURNAL.maxBytes + 16 * KiB);
});
