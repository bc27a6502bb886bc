import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { ControllerClient } from '../../cli/client.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { DashboardRoute } from '../../controller/http/dashboard/route.js';
import { createLogger } from '../../controller/log.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { launchChromium, type Browser } from './browser.js';

export interface DashboardController {
  running: RunningController;
  client: ControllerClient;
  /** The admin listener: the page and its config.json. */
  adminUrl: string;
  mqttUrl: string;
  wsPort: number;
  stop(): Promise<void>;
}

/**
 * A controller in this process with the default extensions plus the dashboard route (the page
 * built first when dist/dashboard is older than its sources), its admin listener and a WebSocket port
 * the page can be told about (a chosen free port: with port 0 the controller's context does not
 * know which one the broker got).
 */
export async function startDashboardController(config: Partial<ControllerConfig> = {}): Promise<DashboardController> {
  ensureBuilt('dashboard');
  const tmp = tempDir('muster-dashboard-');
  const wsPort = await freePort();
  const cfg = ControllerConfig.parse({ dataDir: tmp.dir, host: '127.0.0.1', mqttPort: 0, wsPort, httpPort: 0, admin: { host: '127.0.0.1', port: 0, tls: null }, storeDebounceMs: 20, heartbeatIntervalS: 1, auth: { anonymousAgents: true, anonymousRole: 'admin' }, ...config });
  const running = await startController(cfg, {
    log: createLogger({ level: process.env.MUSTER_LOG_LEVEL ?? 'silent', pretty: false }),
    extensions: (ctx) => [...defaultExtensions(ctx), new DashboardRoute()],
  });
  const client = await ControllerClient.connect({ url: running.mqttUrl, timeoutMs: 30_000 });
  return {
    running,
    client,
    adminUrl: running.adminUrl!,
    mqttUrl: running.mqttUrl,
    wsPort,
    async stop() {
      await client.close();
      await running.stop();
      tmp.remove();
    },
  };
}

export interface ViewerLoginController {
  running: RunningController;
  /** The first admin's connection (its password from the data directory). */
  admin: ControllerClient;
  browser: Browser;
}

/**
 * Chromium and a controller with anonymous users off (the default) whose page hands out the
 * viewer login `wall` (config `dashboard.viewer`, the password in a file under `dir`); the user
 * itself is the test's to add. The page comes from the default extensions.
 */
export async function startWithViewerLogin(dir: string, viewerPassword: string, config: Partial<z.input<typeof ControllerConfig>>): Promise<ViewerLoginController> {
  ensureBuilt('dashboard');
  const passwordFile = join(dir, 'wall.password');
  writeFileSync(passwordFile, `${viewerPassword}\n`, { mode: 0o600 });
  const dataDir = join(dir, 'data');
  const cfg = ControllerConfig.parse({ dataDir, host: '127.0.0.1', mqttPort: 0, wsPort: await freePort(), httpPort: 0, admin: { host: '127.0.0.1', port: 0, tls: null }, storeDebounceMs: 20, heartbeatIntervalS: 1, dashboard: { viewer: { user: 'wall', passwordFile } }, ...config });
  const [browser, running] = await Promise.all([launchChromium(), startController(cfg, { log: createLogger({ level: process.env.MUSTER_LOG_LEVEL ?? 'silent', pretty: false }), extensions: defaultExtensions })]);
  const admin = await ControllerClient.connect({ url: running.mqttUrl, username: 'admin', password: readFileSync(join(dataDir, 'admin-password'), 'utf8').trim(), timeoutMs: 10_000 });
  return { running, admin, browser };
}
