import type { Event, NodeNext, NodeState } from '../shared/protocol.js';
import { PROTOCOL_VERSION } from '../shared/protocol.js';
import type { Topics } from '../shared/topics.js';
import type { AuthView } from './auth/principal.js';
import type { Bus } from './bus/bus.js';
import type { ControllerConfig } from './config.js';
import type { EventBus } from './events.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { NodeDirectory } from './nodes/directory.js';
import type { HttpServer } from './http/server.js';
import type { TransitionLog } from './store/backend.js';
import type { NodeConflict } from '../shared/verbs/results.js';
import type { Store } from './store/store.js';
import type { NodeOwnership } from './federation/node-ownership.js';

/** Everything an extension may use, passed as one object (zigbee2mqtt style). */
export interface Context {
  config: ControllerConfig;
  log: Logger;
  topics: Topics;
  bus: Bus;
  /** Where clients on this machine reach the brokers: the embedded one, or the external ones (`brokers`). */
  brokerUrls: readonly string[];
  /** The embedded broker's MQTT-over-WebSocket port as bound (null: none, or an external broker). */
  wsPort: number | null;
  store: Store;
  journal: TransitionLog;
  events: EventBus;
  metrics: Metrics;
  /** Wall time (ms since epoch): for people, the journal and the store; tests may replace it. */
  now: () => number;
  /** Steady time (clock.ts): every duration is judged on it, never on `now`. */
  steady: () => number;
  nodes: NodeDirectory;
  /**
   * The provisioning listener, which every node reaches: only what nodes need (iPXE scripts, boot
   * loaders, images). Extensions mount their routes before the ports open.
   */
  provisioningHttp: HttpServer;
  /** The operators' listener: the dashboard and metrics. */
  adminHttp: HttpServer;
  /** Node states as the state manager keeps them, read-only: it is told things by `events`. */
  readonly nodeStates: StateReader;
  /** Publish `muster/events/<kind>` (not retained). */
  publishEvent(e: Omit<Event, 'v' | 'at'> & { at?: number }): void;
  /** Who a connected client is (the API server's role check) and the demo agents' token. */
  auth: AuthView;
  /**
   * Which nodes this controller acts for and the power gate, when several controllers share the
   * site (config `federation`); null: it acts for every node and power goes out ungated.
   */
  ownership: NodeOwnership | null;
  /** Whether the controller is degraded (its store cannot be written), kept by controller.ts. */
  readonly health: ControllerHealth;
}

/** The controller's own condition: `degraded` while the store cannot be written, since when and why. */
export interface ControllerHealth {
  degraded: { since: number; reason: string } | null;
}

/** One feature of the controller: started in order, stopped in reverse order. */
export interface Extension {
  readonly name: string;
  start(ctx: Context): Promise<void>;
  stop?(): Promise<void>;
}

export function makeEventPublisher(bus: Bus, topics: Topics, now: () => number, log: Logger): Context['publishEvent'] {
  return (e) => {
    const event: Event = { v: PROTOCOL_VERSION, at: e.at ?? now(), kind: e.kind, node: e.node, agentId: e.agentId, message: e.message, details: e.details };
    bus.publish(topics.event(e.kind), JSON.stringify(event), { qos: 1 }).catch((err: Error) => log.error({ err: err.message, kind: e.kind }, 'event publish failed'));
  };
}

/** What the rest of the controller may read of node state. */
export interface StateReader {
  /** The node's current state (the retained-topic payload), or null for an unknown node. */
  get(node: string): NodeState | null;
  /** Groups whose automatic actions the mass-silence breaker holds. */
  frozenGroups(): Array<{ group: string; since: number }>;
  /** The identity conflict holding the node's automatic actions, or null. */
  conflict(node: string): NodeConflict | null;
  /** What muster will do about the node next and why, or null for an unknown node. */
  next(node: string): NodeNext | null;
}

/** An extension that serves the node states (the state manager): the controller hands them to the others. */
export interface ServesNodeStates {
  readonly nodeStates: StateReader;
}

/** The node states of a controller without a state manager: no node has one. */
export const NO_NODE_STATES: StateReader = { get: () => null, frozenGroups: () => [], conflict: () => null, next: () => null };
