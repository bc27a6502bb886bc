import { join } from 'node:path';
import { Topics } from '../shared/topics.js';
import { AedesBus } from './bus/aedes-bus.js';
import type { Bus } from './bus/bus.js';
import { MqttBus } from './bus/mqtt-bus.js';
import { ensureFirstAdmin } from './auth/first-admin.js';
import { anonymousAccessProblem, authView, createAuthenticator, loadTls } from './auth/setup.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import { listenerHosts, originAllowed } from './broker/origins.js';
import type { ControllerConfig } from './config.js';
import { makeEventPublisher, type Context, type Extension, type StateView } from './context.js';
import { EventBus } from './events.js';
import { HttpServer } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { NodeDirectory } from './nodes/directory.js';
import { secureDataDir } from './paths.js';
import { Journal } from './store/journal.js';
import { Store } from './store/store.js';

export interface RunningController {
  ctx: Context;
  broker: EmbeddedBroker | null;
  /** Where clients reach the broker (the embedded one's real port, or the external URL). */
  mqttUrl: string;
  wsUrl: string | null;
  httpUrl: string | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  now?: () => number;
  /** The controller's features, in start order (see controller/extensions.ts). */
  extensions: (ctx: Context) => Extension[];
}

const NO_STATE: StateView = {
  get: () => null,
  setAdmin: () => {
    throw new Error('the state manager is not running');
  },
  powerReading: () => {},
  frozenGroups: () => [],
  consolePattern: () => {},
  nodeDefined: () => {},
  nodeRemoved: () => {},
};

/** Opens the store, brings up the broker (embedded or external) and starts the extensions. */
export async function startController(config: ControllerConfig, opts: StartOptions): Promise<RunningController> {
  const log = opts.log ?? createLogger();
  const now = opts.now ?? Date.now;
  const anonymous = anonymousAccessProblem(config);
  if (anonymous?.refuse) throw new Error(anonymous.problem);
  if (anonymous) log.warn({ host: config.host }, anonymous.problem);
  const topics = new Topics(config.prefix);
  const metrics = createMetrics();
  await secureDataDir(config.dataDir);
  const store = await Store.open(config.dataDir, {
    debounceMs: config.storeDebounceMs,
    onWrite: (ms) => metrics.storeWrite.observe(ms / 1000),
    onWriteError: (err) => {
      metrics.writeErrors.inc({ file: 'store' });
      log.error({ err: err.message }, 'store write failed; changes are kept in memory and written again');
    },
  });
  const journal = await Journal.open(join(config.dataDir, 'journal.jsonl'), {
    onError: (err) => {
      metrics.writeErrors.inc({ file: 'journal' });
      log.error({ err: err.message }, 'journal append failed');
    },
  });
  // The config file's naming rule, when given, is the one in force.
  if (config.naming) store.change((d) => void (d.naming = config.naming!));
  const adminPasswordFile = await ensureFirstAdmin(store, now());
  if (adminPasswordFile) log.warn({ file: adminPasswordFile }, 'first start: created user admin; its password is in the file (mode 0600)');
  const { authenticator, internalAgentToken } = createAuthenticator(config, store, now);
  const tls = await loadTls(config.tls);

  let broker: EmbeddedBroker | null = null;
  let bus: Bus;
  let mqttUrl: string;
  let wsUrl: string | null = null;
  const ownHosts = listenerHosts(config.host);
  const httpListener = () => {
    if (!httpServer.url) return null;
    const url = new URL(httpServer.url);
    return { scheme: url.protocol.slice(0, -1), port: Number(url.port), hosts: ownHosts };
  };
  const loopback = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  if (config.broker) {
    bus = await MqttBus.connect(config.broker, { clientId: `muster-controller-${process.pid}` });
    mqttUrl = config.broker;
  } else {
    broker = await startEmbeddedBroker({
      topics,
      log,
      host: config.host,
      mqttPort: config.mqttPort,
      wsPort: config.wsPort ?? undefined,
      authenticate: (clientId, username, password, source) => authenticator.authenticate(clientId, username, password, source),
      tls,
      onRefused: (_reason, what) => metrics.rejected.inc({ reason: what === 'connect' ? 'auth' : 'acl' }),
      limits: config.limits,
      originAllowed: (origin) => originAllowed(origin, httpListener(), config.dashboard.origins),
    });
    bus = new AedesBus(broker.aedes);
    mqttUrl = `${broker.mqttScheme}://${loopback(config.host)}:${broker.mqttPort}`;
    if (broker.wsPort !== null) wsUrl = `${broker.wsScheme}://${loopback(config.host)}:${broker.wsPort}`;
  }

  const httpServer = new HttpServer(log);
  const events = new EventBus();
  const ctx: Context = {
    config,
    log,
    topics,
    bus,
    brokerUrl: mqttUrl,
    wsPort: broker?.wsPort ?? null,
    store,
    journal,
    events,
    metrics,
    now,
    nodes: new NodeDirectory(store, (names) => {
      for (const node of names) events.emit('node:defined', { node, at: now() });
    }),
    state: NO_STATE,
    http: httpServer,
    publishEvent: makeEventPublisher(bus, topics, now, log),
    auth: authView(config, broker, internalAgentToken),
  };

  const started: Extension[] = [];
  const stop = async () => {
    for (const ext of started.reverse()) {
      await ext.stop?.().catch((err: Error) => log.error({ ext: ext.name, err: err.message }, 'extension stop failed'));
    }
    await store.close().catch((err: Error) => log.error({ err: err.message }, 'final store write failed'));
    await journal.close();
    await httpServer.close();
    await bus.close();
    await broker?.close();
  };
  try {
    for (const ext of opts.extensions(ctx)) {
      await ext.start(ctx);
      started.push(ext);
    }
    // Listen last: every route is mounted by then.
    if (config.httpPort !== null) await httpServer.listen(config.host, config.httpPort, tls);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ctx, broker, mqttUrl, wsUrl, httpUrl: httpServer.url, stop };
}
