/**
 * With an external broker (real Mosquitto) the controller cannot tell who asked: it answers
 * viewer verbs and refuses the others, unless told to trust the broker's own ACL.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ControllerClient } from '../../cli/client.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { createLogger } from '../../controller/log.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import type { Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';

let mosq: { url: string; proc: Proc };
const cleanups: Array<() => Promise<void> | void> = [];
beforeAll(async () => {
  mosq = await startMosquitto();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await mosq?.proc.stop();
});

async function controllerOn(trustExternalBroker: boolean): Promise<{ running: RunningController; client: ControllerClient }> {
  const tmp = tempDir('muster-external-');
  const prefix = trustExternalBroker ? 'trusted' : 'untrusted'; // two controllers, one broker
  const cfg = ControllerConfig.parse({ dataDir: tmp.dir, prefix, brokers: [mosq.url], wsPort: null, httpPort: null, admin: { host: '127.0.0.1', port: null, tls: null }, auth: { trustExternalBroker } });
  const running = await startController(cfg, { log: createLogger({ level: 'silent', pretty: false }), extensions: defaultExtensions });
  const client = await ControllerClient.connect({ url: mosq.url, prefix, timeoutMs: 10_000 });
  cleanups.push(async () => {
    await client.close();
    await running.stop();
    tmp.remove();
  });
  return { running, client };
}

it('refuses operator and admin verbs through an untrusted external broker', async () => {
  const { client } = await controllerOn(false);
  await expect(client.request('whoami')).resolves.toEqual({ user: 'anonymous', role: 'viewer' });
  await expect(client.request('nodes')).resolves.toEqual([]);
  await expect(client.request('define', { range: 'n1', settings: [] })).rejects.toThrow('define: needs the admin role; anonymous is viewer');
});

it('accepts them when the site trusts the external broker to authorise', async () => {
  const { client } = await controllerOn(true);
  await expect(client.request('define', { range: 'n1', settings: [] })).resolves.toMatchObject({ created: ['n1'] });
});
