/**
 * Persistent sessions: an admin leaves a `clean: false` session subscribed to requests under a
 * guessable client id, an admin's request then carries a BMC password, and a viewer connects with
 * that client id to collect what was queued. Users get clean sessions only, so there is nothing
 * to collect; agents keep theirs.
 */
import type { MqttClient } from 'mqtt';
import { expect, it } from 'vitest';
import { rawConnect, passwordOf, secureControllerForFile } from './secure-controller.js';

const SECRET = 'PLANTED-bmc-pw-1234';
const controller = secureControllerForFile([['vera', 'viewer']]);

/** Connects, or resolves the CONNACK refusal code. */
const connectOrCode = (opts: Parameters<typeof rawConnect>[1]): Promise<MqttClient | number> =>
  rawConnect(controller().running.mqttUrl, opts).catch((err: { code?: number }) => err.code ?? -1);

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
