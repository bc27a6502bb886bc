import { PROTOCOL_VERSION, type Event, type EventKind, type Transition } from '../../shared/protocol.js';
import type { Decision, NodeRuntime, StepResult } from './types.js';

/** What one `apply` produces, collected as it goes; it is itself the result (one object per input). */
export class Step implements StepResult {
  readonly transitions: Transition[] = [];
  readonly events: Event[] = [];
  readonly decisions: Decision[] = [];
  readonly wouldDo: Decision[] = [];
  readonly changed: string[] = [];
  constructor(readonly now: number) {}

  markChanged(node: string): void {
    if (!this.changed.includes(node)) this.changed.push(node);
  }

  event(kind: EventKind, rt: NodeRuntime | null, message: string, details: Record<string, unknown>): void {
    this.events.push({ v: PROTOCOL_VERSION, kind, at: this.now, node: rt?.node ?? null, agentId: rt?.agentId ?? null, message: message.slice(0, 2048), details });
  }
}

/** The result of an input that changed nothing but a node's time last heard (`quietHeartbeat`). */
export const QUIET: StepResult = Object.freeze<StepResult>({ transitions: none(), events: none(), decisions: none(), wouldDo: none(), changed: none() });

/** A frozen empty list: QUIET is shared by every quiet heartbeat, so nobody may push into it. */
function none<T>(): T[] {
  return Object.freeze([]) as unknown as T[];
}
