import { ControllerClient } from '../../cli/client.js';
import { ControllerConfig } from '../../controller/config.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { DashboardRoute } from '../../controller/http/dashboard/route.js';
import { createLogger } from '../../controller/log.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';

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
