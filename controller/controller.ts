import { hostname } from 'node:os';
import { join } from 'node:path';
import { Topics } from '../shared/topics.js';
import { AedesBus } from './bus/aedes-bus.js';
import type { Bus } from './bus/bus.js';
import { BrokerSetBus } from './bus/broker-set-bus.js';
import { ensureFirstAdmin } from './auth/first-admin.js';
import { anonymousAccessProblem, authView, createAuthenticator, loadTls, viewerExposureProblem } from './auth/setup.js';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
import { isAgentClient } from './broker/acl.js';
import { listenerHosts, originAllowed } from './broker/origins.js';
import type { ControllerConfig } from './config.js';
import { NO_NODE_STATES, makeEventPublisher, type Context, type ControllerHealth, type Extension, type ServesNodeStates } from './context.js';
import { EventBus, type ListenerFailure } from './events.js';
import { HttpServer } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { NodeDirectory } from './nodes/directory.js';
import { secureDataDir } from './paths.js';
import type { TransitionLog } from './store/backend.js';
import { Journal } from './store/journal.js';
import { PgJournal } from './store/postgres/journal.js';
import { Store } from './store/store.js';
import { systemClock } from './clock.js';

export interface RunningController {
  ctx: Context;
  broker: EmbeddedBroker | null;
  /** Where clients reach the broker (the embedded one's real port, or the first external one). */
  mqttUrl: string;
  wsUrl: string | null;
  /** The provisioning listener (nodes). */
  httpUrl: string | null;
  /** The admin listener (dashboard, metrics). */
  adminUrl: string | null;
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

/** Opens the store, brings up the broker (embedded, or connects to the external ones) and starts the extensions. */
export async function startController(config: ControllerConfig, opts: StartOptions): Promise<RunningController> {
  const log = opts.log ?? createLogger();
  const now = opts.now ?? systemClock.wall;
  const steady = opts.steady ?? systemClock.steady;
  const anonymous = anonymousAccessProblem(config);
  if (anonymous?.refuse) throw new Error(anonymous.problem);
  if (anonymous) log.warn({ host: config.host }, anonymous.problem);
  const viewerExposed = viewerExposureProblem(config);
  if (viewerExposed) throw new Error(viewerExposed);
  const topics = new Topics(config.prefix);
  const metrics = createMetrics();
  await secureDataDir(config.dataDir);
  const journalPath = join(config.dataDir, 'journal.jsonl');
  // A store that cannot be written (disk full) puts the controller in a degraded state until a
  // write succeeds: the gauge, `health` (doctor, the dashboard's banner), and a `degraded` event
  // each way once the context exists.
  const health: ControllerHealth = { degraded: null };
  let tellDegraded: (message: string, state: 'degraded' | 'recovered', since: number) => void = () => {};
  // With `store:` a database, the store and the journal are kept there (docs/federation.md).
  // The `pg` client loads only then (~0.3 s).
  const database = config.store ? await (await import('./store/postgres/database.js')).PgDatabase.connect(config.store) : null;
  // Several controllers share the site: leases and partition owners in the store's database.
  const federation =
    config.federation && config.store
      ? await (await import('./federation/member.js')).joinFederation(config.store, config.federation, { log, steady, wall: now }).catch(async (err: Error) => {
          await database?.close();
          throw err;
        })
      : null;
  const store = await Store.open(config.dataDir, {
    database: database ?? undefined,
    newStore: opts.newStore,
    journalPath,
    onBackupError: (err) => {
      metrics.writeErrors.inc({ file: 'store' });
      log.error({ err: err.message }, 'store backup failed');
    },
    debounceMs: config.storeDebounceMs,
    // With federation, a node's runtime is its owner's: this controller's is written only for its own.
    ownsRuntime: federation ? (node) => federation.ownership.owns(node) : undefined,
    onFeedError: (err) => log.warn({ err: err.message }, 'store change feed: other controllers\' changes are read again once it is back'),
    onRefusedRow: (problem) => log.error({ err: problem }, 'store change feed: a row another controller wrote does not fit; not applied'),
    onWrite: (ms) => {
      metrics.storeWrite.observe(ms / 1000);
      if (!health.degraded) return;
      const { since } = health.degraded;
      health.degraded = null;
      metrics.degraded.set(0);
      log.warn('store written again: changes are accepted');
      tellDegraded('store written again: changes are accepted', 'recovered', since);
    },
    onWriteError: (err) => {
      metrics.writeErrors.inc({ file: 'store' });
      log.error({ err: err.message }, 'store write failed; changes are refused until the write, retried, succeeds');
      if (health.degraded) return;
      health.degraded = { since: now(), reason: `store not writable: ${err.message}` };
      metrics.degraded.set(1);
      tellDegraded(`${health.degraded.reason}; changes are refused until a write succeeds`, 'degraded', health.degraded.since);
    },
  }).catch(async (err: unknown) => {
    await federation?.leave();
    await database?.close();
    throw err;
  });
  if (store.setAside.length > 0) log.warn({ files: store.setAside }, '--new-store: a new, empty store; the old files are kept under these names');
  const onJournalError = (err: Error) => {
    metrics.writeErrors.inc({ file: 'journal' });
    log.error({ err: err.message }, 'journal write failed');
  };
  const journal: TransitionLog = database ? new PgJournal(database, { onError: onJournalError }) : await Journal.open(journalPath, { ...config.journal, onError: onJournalError });
  // The config file's naming rule, when given, is the one in force.
  if (config.naming) store.change((d) => void (d.naming = config.naming!));
  const adminPasswordFile = await ensureFirstAdmin(store, now());
  if (adminPasswordFile) log.warn({ file: adminPasswordFile }, 'first start: created user admin; its password is in the file (mode 0600)');
  // The refusal itself is logged and counted by the broker as a refused connect.
  const { authenticator, internalAgentToken, reintroductions } = createAuthenticator(config, store, now, () => metrics.newAgentsRefused.inc());
  const tls = await loadTls(config.tls);
  const adminTls = config.admin.tls ? await loadTls(config.admin.tls, 'admin.tls') : tls;
  const listenerFailed: ListenerFailure = (event, owner, err) => {
    metrics.listenerErrors.inc({ event });
    log.error({ event, owner, err: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined }, 'listener failed; the others still ran');
  };
  const subscriberFailed = (filter: string, err: unknown) => listenerFailed(filter, 'mqtt subscriber', err);
  const events = new EventBus(listenerFailed);

  let broker: EmbeddedBroker | null = null;
  let bus: Bus;
  let mqttUrls: string[];
  let wsUrl: string | null = null;
  // The dashboard's page comes from the admin listener: only its origins may open the WebSocket.
  const adminHosts = listenerHosts(config.admin.host);
  const adminListener = () => {
    if (!adminHttp.url) return null;
    const url = new URL(adminHttp.url);
    return { scheme: url.protocol.slice(0, -1), port: Number(url.port), hosts: adminHosts };
  };
  const loopback = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  if (config.brokers) {
    const brokerSet = await BrokerSetBus.connect(config.brokers, {
      topics,
      clientId: controllerClientId(),
      onFailure: subscriberFailed,
      onError: (err) => log.debug({ err: err.message }, 'broker connection failed'),
      onBrokerChange: (broker, state) => {
        metrics.brokerConnected.set({ broker }, state === 'up' ? 1 : 0);
        if (state === 'up') log.warn({ broker }, 'broker connected');
        else log.warn({ broker }, 'broker connection lost; reconnecting every second');
      },
    });
    for (const { broker, connected } of brokerSet.brokers()) {
      metrics.brokerConnected.set({ broker }, connected ? 1 : 0);
      if (!connected) log.warn({ broker }, 'broker not reached yet; reconnecting every second');
    }
    bus = brokerSet;
    mqttUrls = config.brokers;
  } else {
    broker = await startEmbeddedBroker({
      topics,
      log,
      host: config.host,
      mqttPort: config.mqttPort,
      wsHost: config.admin.host,
      wsPort: config.wsPort ?? undefined,
      authenticate: async (clientId, username, password, source, sessionLive) => {
        const outcome = await authenticator.authenticate(clientId, username, password, source, sessionLive);
        // An agent refused for its token is a site problem (`muster doctor` lists them); one refused
        // as a node's agent is the node's admins' to decide (a `conflict` event).
        if (!outcome.ok && outcome.claim) events.emit('agent:claim-refused', { agentId: clientId, ...outcome.claim, reason: outcome.reason, at: now() });
        else if (!outcome.ok && isAgentClient(clientId)) events.emit('rejected', { source: clientId, reason: outcome.reason, at: now() });
        return outcome;
      },
      tls,
      onRefused: (_reason, what) => metrics.rejected.inc({ reason: what === 'connect' ? 'auth' : what }),
      limits: config.limits,
      originAllowed: (origin) => originAllowed(origin, adminListener(), config.dashboard.origins),
    });
    bus = new AedesBus(broker.aedes, subscriberFailed);
    mqttUrls = [`${broker.mqttScheme}://${loopback(config.host)}:${broker.mqttPort}`];
    if (broker.wsPort !== null) wsUrl = `${broker.wsScheme}://${loopback(config.admin.host)}:${broker.wsPort}`;
  }

  const provisioningHttp = new HttpServer(log);
  const adminHttp = new HttpServer(log);
  const extensions = opts.extensions({ config });
  const stateServer = extensions.find((e): e is Extension & ServesNodeStates => 'nodeStates' in e);
  const ctx: Context = {
    config,
    log,
    topics,
    bus,
    brokerUrls: mqttUrls,
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
    provisioningHttp,
    adminHttp,
    publishEvent: makeEventPublisher(bus, topics, now, log),
    auth: authView(config, broker, internalAgentToken, reintroductions),
    ownership: federation?.ownership ?? null,
    health,
  };
  federation?.keeper.onChange((change) => events.emit('ownership:changed', { ...change, at: now() }));

  tellDegraded = (message, state, since) => ctx.publishEvent({ kind: 'degraded', node: null, agentId: null, message, details: { state, since } });

  const started: Extension[] = [];
  const stop = async () => {
    for (const ext of started.reverse()) {
      await ext.stop?.().catch((err: Error) => log.error({ ext: ext.name, err: err.message }, 'extension stop failed'));
    }
    // Its partitions are claimed by the others at once: its actions stopped with the extensions.
    await federation?.leave();
    await store.close().catch((err: Error) => log.error({ err: err.message }, 'final store write failed'));
    await journal.close();
    await database?.close();
    await Promise.all([provisioningHttp.close(), adminHttp.close()]);
    await bus.close();
    await broker?.close();
  };
  try {
    for (const ext of extensions) {
      await ext.start(ctx);
      started.push(ext);
    }
    // Listen last: every route is mounted by then.
    if (config.httpPort !== null) await provisioningHttp.listen(config.host, config.httpPort, tls);
    if (config.admin.port !== null) await adminHttp.listen(config.admin.host, config.admin.port, adminTls);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ctx, broker, mqttUrl: mqttUrls[0]!, wsUrl, httpUrl: provisioningHttp.url, adminUrl: adminHttp.url, stop };
}

let clientSerial = 0;

/**
 * The controller's MQTT client id on the external brokers: unique per host, process and start
 * (a broker drops the older of two connections with one id, and each would take it back every second).
 */
function controllerClientId(): string {
  return `muster-controller-${hostname()}-${process.pid}-${++clientSerial}`;
}
