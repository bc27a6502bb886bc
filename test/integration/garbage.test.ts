/**
 * Bad input on the wire: malformed JSON, wrong types, a 1 MB payload, unknown topics, spoofed
 * controller topics from an agent connection. The controller stays up, the store stays valid, and
 * each message is refused with a logged reason and counted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreData } from '../../controller/store/schema.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';

let controller: ControllerProc;
beforeAll(async () => {
  controller = await startControllerProc();
  await controller.cli(['define', 'n001', 'mac=52:54:00:00:00:01']);
});
afterAll(() => controller.stop());

const AGENT = 'mac-525400000099';
const topic = (kind: string) => `muster/agents/${AGENT}/${kind}`;

/** Connect as `clientId`, publish, and wait until the broker has taken it (or closed on us). */
async function publishAs(clientId: string, t: string, payload: string | Buffer): Promise<void> {
  const c = mqtt.connect(controller.mqttUrl, { clientId, reconnectPeriod: 0, protocolVersion: 4 });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  await new Promise<void>((resolve) => {
    c.once('close', () => resolve());
    // QoS 1: the broker acknowledges an accepted publish; a refused one closes the connection.
    c.publish(t, payload, { qos: 1 }, () => c.end(false, {}, () => resolve()));
  });
  c.end(true);
}

async function metric(name: string, label: string): Promise<number> {
  const text = await (await fetch(`${controller.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return line ? Number(line.split(' ').pop()) : 0;
}

const validHello = {
  v: 1,
  agentId: AGENT,
  bootId: 'ab'.repeat(16),
  agentVersion: 't',
  phase: 'kernel',
  at: 1,
  uptime: 1,
  fingerprint: { nics: [], dmi: { vendor: null, product: null, serial: null, uuid: null, biosVersion: null, boardSerial: null }, cpu: { model: null, count: 1 }, memoryBytes: 1, disks: [], ib: [], bootMac: null },
};

describe('garbage on the wire', () => {
  it('refuses each bad message with a reason, keeps running and keeps the store valid', async () => {
    await publishAs(AGENT, topic('hello'), '{"v":1,"agentId":');
    await publishAs(AGENT, topic('heartbeat'), JSON.stringify({ v: 1, bootId: 'ab'.repeat(16), seq: 'one', phase: 'run', uptime: 1 }));
    await publishAs(AGENT, topic('state'), JSON.stringify({ v: 2, bootId: 'ab'.repeat(16), phase: 'run', at: 1 }));
    await publishAs(AGENT, topic('hello'), JSON.stringify({ ...validHello, agentId: 'mac-525400000001' }));
    await publishAs(AGENT, topic('state'), JSON.stringify({ v: 1, bootId: 'ab'.repeat(16), phase: '../../etc', at: 1 }));
    await publishAs(AGENT, topic('hello'), Buffer.alloc(1024 * 1024, 0x7b));
    await publishAs(AGENT, 'muster/nodes/n001/state', JSON.stringify({ v: 1, node: 'n001', phase: 'run' }));
    await publishAs(AGENT, 'muster/agents/mac-525400000001/hello', JSON.stringify(validHello));
    await publishAs(AGENT, 'muster/unknown/topic', 'x');
    await publishAs('muster-cli-x', 'muster/events/transition', '{}');
    await publishAs('muster-cli-x', 'muster/request/nodes', 'not json');
    await publishAs('muster-cli-x', 'muster/request/+', '{}'); // refused by aedes itself

    for (const reason of [
      /not JSON/,
      /seq: Invalid input: expected number/,
      /protocol version 2 is not 1/,
      /hello claims agent mac-525400000001/,
      /phase: Invalid option/,
      /publish packet of \d+ bytes exceeds \d+/, // refused from its length header, before the broker buffers it
      /may publish only under muster\/agents\/mac-525400000099\/, not muster\/nodes\/n001\/state/,
      /not muster\/agents\/mac-525400000001\/hello/,
      /only the controller publishes muster\/events\/transition/,
      /request rejected: not JSON/,
      /\+ is not allowed in PUBLISH/,
    ]) {
      // Logs are written asynchronously: wait for each line rather than read once.
      await expect(controller.proc.waitFor(reason, 5000)).resolves.toBeTruthy();
    }
    expect(await metric('muster_rejected_messages_total', 'reason="schema"')).toBeGreaterThanOrEqual(2);
    expect(await metric('muster_rejected_messages_total', 'reason="json"')).toBeGreaterThanOrEqual(2);
    expect(await metric('muster_rejected_messages_total', 'reason="acl"')).toBeGreaterThanOrEqual(5);
    expect(await metric('muster_rejected_messages_total', 'reason="size"')).toBe(1);
    expect(await metric('muster_rejected_messages_total', 'reason="version"')).toBe(1);
    expect(await metric('muster_rejected_messages_total', 'reason="identity"')).toBe(1);

    // Still up and serving; nothing from the garbage reached the node or the agent list.
    const rows = expectCliJson('nodes', (await controller.cli(['nodes', '--json'])).stdout);
    expect(rows).toEqual([expect.objectContaining({ node: 'n001', agentId: null, state: expect.objectContaining({ phase: 'unknown' }) })]);
    expect(JSON.parse((await controller.cli(['discovered', '--json'])).stdout)).toEqual([]);
    const onDisk = StoreData.parse(JSON.parse(readFileSync(join(controller.dataDir, 'store.json'), 'utf8')));
    expect(Object.keys(onDisk.nodes)).toEqual(['n001']);
    expect(onDisk.agents).toEqual({});
    expect(controller.proc.child.exitCode).toBeNull();
  });
});
