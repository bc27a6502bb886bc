import type { Event, NodeState } from '../shared/protocol.js';
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
import type { Journal } from './store/journal.js';
import type { Store } from './store/store.js';

/** Everything an extension may use, passed as one object (zigbee2mqtt style). */
export interface Context {
  config: ControllerConfig;
  log: Logger;
  topics: Topics;
  bus: Bus;
  /** Where clients on this machine reach the broker (embedded or external). */
  brokerUrl: string;
  /** The embedded broker's MQTT-over-WebSocket port as bound (null: none, or an external broker). */
  wsPort: number | null;
  store: Store;
  journal: Journal;
  events: EventBus;
  metrics: Metrics;
  /** The controller's clock (ms since epoch); tests may replace it. */
  now: () => number;
  nodes: NodeDirectory;
  /** Extensions mount their HTTP routes here before the port opens. */
  http: HttpServer;
  /** Filled in by the state manager when it starts. */
  state: StateView;
  /** Publish `muster/events/<kind>` (not retained). */
  publishEvent(e: Omit<Event, 'v' | 'at'> & { at?: number }): void;
  /** Who a connected client is (the API server's role check) and the demo agents' token. */
  auth: AuthView;
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

/** What the rest of the controller may ask of and tell the state manager. */
export interface StateView {
  /** The node's current state (the retained-topic payload), or null for an unknown node. */
  get(node: string): NodeState | null;
  /** Set admin offline/online for nodes; returns the transitions' nodes. */
  setAdmin(nodes: readonly string[], admin: 'online' | 'offline', reason: string | null, by: string): void;
  /** A console pattern (panic, …) was seen: evidence for the policies. */
  consolePattern(node: string, pattern: string, line: string): void;
  /** What a power driver just read (or what a successful action implies). */
  powerReading(node: string, power: 'on' | 'off' | 'unknown'): void;
  /** Groups whose automatic actions the mass-silence breaker holds. */
  frozenGroups(): Array<{ group: string; since: number }>;
  /** A node definition was created or removed. */
  nodeDefined(node: string): void;
  nodeRemoved(node: string): void;
}
