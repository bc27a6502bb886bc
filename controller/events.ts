import type { AgentState, AgentStatus, Heartbeat, Hello, Transition } from '../shared/protocol.js';

/** What the controller's parts tell each other, in-process (zigbee2mqtt's event bus). */
export interface ControllerEvents {
  /** A validated hello; `at` is the controller's receive time. */
  'agent:hello': { agentId: string; msg: Hello; at: number };
  'agent:state': { agentId: string; msg: AgentState; at: number };
  'agent:heartbeat': { agentId: string; msg: Heartbeat; at: number };
  'agent:status': { agentId: string; msg: AgentStatus; at: number };
  /** An agent is now known as a node (bound by rule, by definition or by an admin). */
  'node:bound': { node: string; agentId: string; hello: Hello | null; at: number };
  /** A node changed on one axis (after it was journalled). */
  'node:transition': Transition;
  /** A node definition was created, changed or removed. */
  'node:defined': { node: string; at: number };
  /** A hardware-log issue of the node was opened or closed. */
  'hwlog:changed': { node: string };
  /** A message was refused; `source` is the topic or client. */
  rejected: { source: string; reason: string; at: number };
}

type Listener<K extends keyof ControllerEvents> = (e: ControllerEvents[K]) => void;

/**
 * Listeners per kind, called in order. Not node:events' EventEmitter: its emit() allocates per
 * call, and `agent:heartbeat` is emitted 2,000 times a second at 10k nodes. A listener list is
 * replaced, never changed in place, so (un)subscribing during an emit does not disturb it.
 */
export class EventBus {
  private readonly listeners: { [K in keyof ControllerEvents]?: ReadonlyArray<Listener<K>> } = {};

  on<K extends keyof ControllerEvents>(kind: K, fn: Listener<K>): () => void {
    this.set(kind, [...this.list(kind), fn]);
    return () => {
      const list = [...this.list(kind)];
      const at = list.lastIndexOf(fn);
      if (at >= 0) list.splice(at, 1);
      this.set(kind, list);
    };
  }

  emit<K extends keyof ControllerEvents>(kind: K, e: ControllerEvents[K]): void {
    const list = this.list(kind);
    for (let i = 0; i < list.length; i++) list[i]!(e);
  }

  private list<K extends keyof ControllerEvents>(kind: K): ReadonlyArray<Listener<K>> {
    return (this.listeners[kind] as ReadonlyArray<Listener<K>> | undefined) ?? [];
  }

  private set<K extends keyof ControllerEvents>(kind: K, list: ReadonlyArray<Listener<K>>): void {
    (this.listeners as Record<K, ReadonlyArray<Listener<K>>>)[kind] = list;
  }
}
