import { randomBytes } from 'node:crypto';
import { AgentLink } from '../../agent/link.js';
import { parseControllerUrl } from '../../agent/controller-url.js';
import { AgentMessages } from '../../agent/messages.js';
import { ControllerClient } from '../../cli/client.js';
import { ControllerConfig } from '../../controller/config.js';
import type { Context, Extension } from '../../controller/context.js';
import { startController, type RunningController } from '../../controller/controller.js';
import { defaultExtensions } from '../../controller/extensions.js';
import { createLogger, type Logger } from '../../controller/log.js';
import type { AgentPhase, Fingerprint } from '../../shared/protocol.js';
import { tempDir } from './tmp.js';

export interface InProc {
  running: RunningController;
  client: ControllerClient;
  dataDir: string;
  stop(): Promise<void>;
}

/** Tests that are not about security run with anonymous agents and clients (test/security covers auth). */
const TRUSTED = { anonymousAgents: true, anonymousRole: 'admin' as const };

/**
 * A controller in this process (embedded broker on free ports, temp data dir) and a CLI client.
 * `prepare` writes into the data dir before the controller starts (a store file, say);
 * `extensions` replaces the default set (to keep a handle on one of them).
 */
export async function startInProc(
  config: Partial<ControllerConfig> = {},
  opts: { log?: Logger; prepare?: (dataDir: string) => void; extensions?: (ctx: Pick<Context, 'config'>) => Extension[] } = {},
): Promise<InProc> {
  const tmp = tempDir('muster-inproc-');
  opts.prepare?.(tmp.dir);
  const cfg = ControllerConfig.parse({ dataDir: tmp.dir, host: '127.0.0.1', mqttPort: 0, wsPort: null, httpPort: 0, admin: { host: '127.0.0.1', port: 0, tls: null }, storeDebounceMs: 20, auth: TRUSTED, ...config });
  const log = opts.log ?? createLogger({ level: process.env.MUSTER_LOG_LEVEL ?? 'silent', pretty: false });
  const running = await startController(cfg, { log, extensions: opts.extensions ?? defaultExtensions });
  const client = await ControllerClient.connect({ url: running.mqttUrl, timeoutMs: 10_000 });
  return {
    running,
    client,
    dataDir: tmp.dir,
    async stop() {
      await client.close();
      await running.stop();
      tmp.remove();
    },
  };
}

/** A simulated agent speaking the real protocol through the agent's own link code. */
export function simAgent(brokerUrl: string, fingerprint: Fingerprint, agentId: string, phase: AgentPhase = 'kernel', heartbeatMs = 1000) {
  // The machine boots when the agent starts: its uptime counts from here (the controller dates boots by it).
  const bootedAt = Date.now();
  const messages = new AgentMessages({ agentId, bootId: randomBytes(16).toString('hex'), agentVersion: 'test', fingerprint }, { now: Date.now, uptime: () => (Date.now() - bootedAt) / 1000 });
  const link = new AgentLink({ controllers: [parseControllerUrl(brokerUrl)], messages, phase, heartbeatMs, log: () => {} });
  link.start();
  return { link, messages };
}
