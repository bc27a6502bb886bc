/**
 * The viewer login handed to the provisioning network: `/dashboard/config.json` gives every
 * visitor the page's viewer credentials, and those read every console on the MQTT port. A rogue
 * node asks for it on the port it boots from; the dashboard, its config and the metrics live on
 * the admin listener only, and that listener may not hand the login out where nodes reach it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewerExposureProblem } from '../../controller/auth/setup.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { createLogger } from '../../controller/log.js';
import { tempDir } from '../helpers/tmp.js';
import { passwordOf, startSecureController, type SecureController } from './secure-controller.js';

const tmp = tempDir('muster-admin-listener-');
const passwordFile = join(tmp.dir, 'wall-password');
writeFileSync(passwordFile, `${passwordOf('wall')}\n`, { mode: 0o600 });
const viewer = { user: 'wall', passwordFile };

describe('provisioning and admin listeners of a real controller', () => {
  let c: SecureController;
  beforeAll(async () => {
    c = await startSecureController({ httpPort: 0, wsPort: 0, admin: { host: '127.0.0.1', port: 0, tls: null }, dashboard: { viewer, origins: [] } });
    await c.addUser('wall', 'viewer');
  });
  afterAll(async () => {
    await c?.stop();
    tmp.remove();
  });

  const get = (base: string, path: string) => fetch(`${base}${path}`, { redirect: 'manual' });

  it('serves nodes nothing of the dashboard or the metrics on the provisioning port', async () => {
    const provisioning = c.running.httpUrl!;
    for (const path of ['/dashboard/config.json', '/dashboard', '/dashboard/', '/dashboard/app.js', '/metrics', '/']) {
      const res = await get(provisioning, path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(await res.text()).not.toContain(passwordOf('wall'));
    }
    // What nodes need is still there.
    const script = await get(provisioning, '/boot/52:54:00:00:00:99.ipxe');
    expect(script.status).toBe(200);
    expect(await script.text()).toMatch(/^#!ipxe/);
  });

  it('serves the dashboard, its config with the viewer login and the metrics on the admin port', async () => {
    const admin = c.running.adminUrl!;
    expect(admin).not.toBe(c.running.httpUrl);
    const config = (await (await get(admin, '/dashboard/config.json')).json()) as { credentials: unknown; wsPort: number | null };
    expect(config).toMatchObject({ credentials: { username: 'wall', password: passwordOf('wall') }, wsPort: c.running.broker!.wsPort });
    expect((await get(admin, '/dashboard')).headers.get('location')).toBe('/dashboard/');
    const metrics = await get(admin, '/metrics');
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('muster_messages_total');
    // And nothing of the nodes': a boot script is the provisioning port's.
    expect((await get(admin, '/boot/52:54:00:00:00:99.ipxe')).status).toBe(404);
  });
});

describe('where the viewer login may be handed out', () => {
  it('refuses to start with a viewer login on an admin listener nodes reach', async () => {
    const dir = tempDir('muster-admin-exposed-');
    try {
      for (const admin of [
        { host: '0.0.0.0', port: 0, tls: null },
        { host: '::', port: 0, tls: null },
      ]) {
        const cfg = ControllerConfig.parse({ dataDir: dir.dir, host: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: null, admin, dashboard: { viewer } });
        await expect(startController(cfg, { log: createLogger({ level: 'silent', pretty: false }), extensions: defaultExtensions })).rejects.toThrow(
          `dashboard.viewer: the admin listener hands this login to every visitor, and on ${admin.host} nodes reach it too`,
        );
      }
    } finally {
      dir.remove();
    }
  });

  it('refuses it on the provisioning address, and allows loopback, another address or no viewer login', () => {
    const problem = (host: string, adminHost: string, withViewer = true) => viewerExposureProblem(ControllerConfig.parse({ host, admin: { host: adminHost }, dashboard: { viewer: withViewer ? viewer : null } }));
    expect(problem('10.1.0.5', '10.1.0.5')).toContain('on 10.1.0.5 nodes reach it too');
    expect(problem('0.0.0.0', '127.0.0.1')).toBeNull();
    expect(problem('10.1.0.5', '10.9.0.5')).toBeNull();
    expect(problem('10.1.0.5', '0.0.0.0', false)).toBeNull();
  });
});
