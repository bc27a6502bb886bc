import { EventEmitter } from 'node:events';
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

export class EventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(100);
  }
  on<K extends keyof ControllerEvents>(kind: K, fn: (e: ControllerEvents[K]) => void): () => void {
    this.emitter.on(kind, fn);
    return () => this.emitter.off(kind, fn);
  }
  emit<K extends keyof ControllerEvents>(kind: K, e: ControllerEvents[K]): void {
    this.emitter.emit(kind, e);
  }
}
