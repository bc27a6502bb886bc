/**
 * Persistent sessions: an admin leaves a `clean: false` session subscribed to requests under a
 * guessable client id, an admin's request then carries a BMC password, and a viewer connects with
 * that client id to collect what was queued. Users get clean sessions only, so there is nothing
 * to collect; agents keep theirs. Anonymous clients are not one principal: one cannot take over
 * another's client id (and with it the answers to that client's requests).
 */
import type { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { rawConnect, passwordOf, secureControllerForFile } from './secure-controller.js';

const SECRET = 'PLANTED-bmc-pw-1234';
const controller = secureControllerForFile([['vera', 'viewer']]);

/** Connects, or resolves the CONNACK refusal code. */
const connectTo = (url: string, opts: Parameters<typeof rawConnect>[1]): Promise<MqttClient | number> => rawConnect(url, opts).catch((err: { code?: number }) => err.code ?? -1);
const connectOrCode = (opts: Parameters<typeof rawConnect>[1]): Promise<MqttClient | number> => connectTo(controller().running.mqttUrl, opts);

it("refuses users a persistent session, so a viewer cannot resume an admin's and read its queued requests", async () => {
  const c = controller();
  const clientId = 'muster-cli-admin-1';
  const admin = await connectOrCode({ clientId, username: 'admin', password: c.adminPassword, clean: false });
  if (typeof admin !== 'number') {
    await admin.subscribeAsync('muster/request/#', { qos: 1 });
    await admin.endAsync();
  }
  expect(admin).toBe(5);

  await c.admin.request('define', { range: 'n1', settings: [`power=ipmi://root:${SECRET}@127.0.0.1:1`] });

  const received: string[] = [];
  const viewer = await connectOrCode({ clientId, username: 'vera', password: passwordOf('vera'), clean: false });
  if (typeof viewer !== 'number') {
    viewer.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    // What a resumed session holds arrives right after CONNACK; a round trip to the broker follows it.
    await viewer.subscribeAsync('muster/nodes/#', { qos: 1 });
    await viewer.endAsync();
  }
  expect(viewer).toBe(5);
  expect(received.filter((m) => m.includes(SECRET))).toEqual([]);
});

it('lets agents keep persistent sessions', async () => {
  const c = controller();
  const token = (await c.admin.request('token-create', {})).token;
  const agent = await rawConnect(c.running.mqttUrl, { clientId: 'mac-0200000000b1', username: 'mac-0200000000b1', password: token, clean: false });
  expect(agent.connected).toBe(true);
  await agent.endAsync();
});

describe('anonymous clients', () => {
  const anonymous = secureControllerForFile([], { auth: { anonymousAgents: false, anonymousRole: 'viewer', agentTokens: [], trustExternalBroker: false } });

  it("are each their own principal: one cannot take over another's client id and collect its answers", async () => {
    const c = anonymous();
    const clientId = 'muster-cli-wall-1';
    const first = await rawConnect(c.running.mqttUrl, { clientId });
    const answers: string[] = [];
    first.on('message', (topic) => answers.push(topic));
    await first.subscribeAsync(`muster/response/${clientId}`, { qos: 1 });

    const second = await connectTo(c.running.mqttUrl, { clientId });
    if (typeof second !== 'number') await second.endAsync();
    expect(second).toBe(5);
    // The first keeps its connection, and with it its answers.
    await first.publishAsync('muster/request/whoami', JSON.stringify({ v: 1, id: 'r1', replyTo: clientId, args: {} }), { qos: 1 });
    await until('the answer to the first client', () => answers.length > 0);
    expect(first.connected).toBe(true);
    await first.endAsync();
  });

  it('may still reconnect under a client id nobody holds', async () => {
    const c = anonymous();
    const one = await rawConnect(c.running.mqttUrl, { clientId: 'muster-cli-wall-2' });
    await one.endAsync();
    const again = await rawConnect(c.running.mqttUrl, { clientId: 'muster-cli-wall-2' });
    expect(again.connected).toBe(true);
    await again.endAsync();
  });
});
