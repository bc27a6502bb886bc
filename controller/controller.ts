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
import { NO_NODE_STATES, makeEventPublisher, type Context, type Extension, type ServesNodeStates } from './context.js';
import { EventBus, type ListenerFailure } from './events.js';
import { HttpServer } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { NodeDirectory } from './nodes/directory.js';
import { secureDataDir } from './paths.js';
import { Journal } from './store/journal.js';
import { Store } from './store/store.js';
import { systemClock } from './clock.js';

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
  steady?: () => number;
  /**
   * The controller's features, in start order (see controller/extensions.ts), built before the
   * context: the one that serves node states (the state manager) gives the context its reader.
   */
  extensions: (ctx: Pick<Context, 'config'>) => Extension[];
  /** `--new-store`: start a new, empty cluster where the store is missing or unreadable (Store's `newStore`). */
  newStore?: boolean;
}

/** Opens the store, brings up the broker (embedded or external) and starts the extensions. */
export async function startController(config: ControllerConfig, opts: StartOptions): Promise<RunningController> {
  const log = opts.log ?? createLogger();
  const now = opts.now ?? systemClock.wall;
  const steady = opts.steady ?? systemClock.steady;
  const anonymous = anonymousAccessProblem(config);
  if (anonymous?.refuse) throw new Error(anonymous.problem);
  if (anonymous) log.warn({ host: config.host }, anonymous.problem);
  const topics = new Topics(config.prefix);
  const metrics = createMetrics();
  await secureDataDir(config.dataDir);
  const journalPath = join(config.dataDir, 'journal.jsonl');
  // A store that cannot be written (disk full) puts the controller in a degraded state until a
  // write succeeds: the gauge, and a `degraded` event each way once the context exists.
  let degraded = false;
  let tellDegraded: (message: string, state: 'degraded' | 'recovered') => void = () => {};
  const store = await Store.open(config.dataDir, {
    newStore: opts.newStore,
    journalPath,
    onBackupError: (err) => {
      metrics.writeErrors.inc({ file: 'store' });
      log.error({ err: err.message }, 'store backup failed');
    },
    debounceMs: config.storeDebounceMs,
    onWrite: (ms) => {
      metrics.storeWrite.observe(ms / 1000);
      if (!degraded) return;
      degraded = false;
      metrics.degraded.set(0);
      log.warn('store written again: changes are accepted');
      tellDegraded('store written again: changes are accepted', 'recovered');
    },
    onWriteError: (err) => {
      metrics.writeErrors.inc({ file: 'store' });
      log.error({ err: err.message }, 'store write failed; changes are refused until the write, retried, succeeds');
      if (degraded) return;
      degraded = true;
      metrics.degraded.set(1);
      tellDegraded(`store not writable: ${err.message}; changes are refused until a write succeeds`, 'degraded');
    },
  });
  if (store.setAside.length > 0) log.warn({ files: store.setAside }, '--new-store: a new, empty store; the old files are kept under these names');
  const journal = await Journal.open(journalPath, {
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
  const listenerFailed: ListenerFailure = (event, owner, err) => {
    metrics.listenerErrors.inc({ event });
    log.error({ event, owner, err: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined }, 'listener failed; the others still ran');
  };
  const subscriberFailed = (filter: string, err: unknown) => listenerFailed(filter, 'mqtt subscriber', err);

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
    bus = await MqttBus.connect(config.broker, { clientId: `muster-controller-${process.pid}`, onFailure: subscriberFailed });
    mqttUrl = config.broker;
  } else {
    broker = await startEmbeddedBroker({
      topics,
      log,
      host: config.host,
      mqttPort: config.mqttPort,
      wsPort: config.wsPort ?? undefined,
      authenticate: (clientId, username, password, source, sessionLive) => authenticator.authenticate(clientId, username, password, source, sessionLive),
      tls,
      onRefused: (_reason, what) => metrics.rejected.inc({ reason: what === 'connect' ? 'auth' : what }),
      limits: config.limits,
      originAllowed: (origin) => originAllowed(origin, httpListener(), config.dashboard.origins),
    });
    bus = new AedesBus(broker.aedes, subscriberFailed);
    mqttUrl = `${broker.mqttScheme}://${loopback(config.host)}:${broker.mqttPort}`;
    if (broker.wsPort !== null) wsUrl = `${broker.wsScheme}://${loopback(config.host)}:${broker.wsPort}`;
  }

  const httpServer = new HttpServer(log);
  const events = new EventBus(listenerFailed);
  const extensions = opts.extensions({ config });
  const stateServer = extensions.find((e): e is Extension & ServesNodeStates => 'nodeStates' in e);
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
    steady,
    nodes: new NodeDirectory(store, (names, change) => {
      for (const node of names) events.emit('node:changed', { node, change, at: now() });
    }),
    nodeStates: stateServer?.nodeStates ?? NO_NODE_STATES,
    http: httpServer,
    publishEvent: makeEventPublisher(bus, topics, now, log),
    auth: authView(config, broker, internalAgentToken),
  };

  tellDegraded = (message, state) => ctx.publishEvent({ kind: 'degraded', node: null, agentId: null, message, details: { state } });

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
    for (const ext of extensions) {
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
