import type { PowerAction } from '../shared/verbs/args.js';
import type { AgentState, AgentStatus, CredentialStored, Heartbeat, Hello, Power, Transition } from '../shared/protocol.js';

/** A power action that changes the node (not a status read). */
export type AdminPowerRequest = Exclude<PowerAction, 'status'>;

/** How a node's definition changed. */
export type NodeChange = 'defined' | 'set' | 'removed' | 'assigned' | 'imported';

/**
 * What the controller's parts tell each other, in-process (zigbee2mqtt's event bus). The state
 * manager is told things only through these: definitions, power readings, console patterns,
 * hwlog changes and admin requests.
 */
export interface ControllerEvents {
  /** A validated hello; `at` is the controller's receive time. */
  'agent:hello': { agentId: string; msg: Hello; at: number };
  'agent:state': { agentId: string; msg: AgentState; at: number };
  'agent:heartbeat': { agentId: string; msg: Heartbeat; at: number };
  'agent:status': { agentId: string; msg: AgentStatus; at: number };
  /** The agent stored the secret it was sent (controller/auth/agent-credentials.ts). */
  'agent:credential': { agentId: string; msg: CredentialStored; at: number };
  /**
   * A connect as a node's agent id was refused (controller/auth/reintroduction.ts): the token
   * without a boot muster saw, or a replaced secret (`hold`: two machines claim the id).
   */
  'agent:claim-refused': { agentId: string; node: string; hold: boolean; reason: string; at: number };
  /**
   * An agent is known as a node: `newBinding` when it was bound just now (by a rule or an admin),
   * false for a hello of the agent already bound (a reconnect or a reboot).
   */
  'node:bound': { node: string; agentId: string; hello: Hello | null; at: number; newBinding: boolean };
  /** A node changed on one axis (after it was journalled). */
  'node:transition': Transition;
  /** A node definition was created, changed, bound to an agent, imported or removed (after the store change). */
  'node:changed': { node: string; change: NodeChange; at: number };
  /**
   * Muster started the node's machine or saw it boot: a power on, cycle or reset it ran, its
   * network boot exchange for one of the node's MACs, its installer's report before it reboots.
   */
  'node:booting': { node: string; what: string; at: number };
  /** A build system that runs no muster agent on the node (FAI) says it is installing it: `detail` is its step. */
  'build:installing': { node: string; system: string; detail: string; at: number };
  /** What a power driver just read (or what a successful action implies). */
  'power:reading': { node: string; power: Power; at: number };
  /** An admin's power action on the node starts (the driver is called next): the state manager expects its effect. */
  'power:admin-started': { node: string; action: AdminPowerRequest; by: string; at: number };
  /** …and its result. */
  'power:admin-finished': { node: string; action: AdminPowerRequest; ok: boolean; detail: string | null; at: number };
  /** A console pattern (panic, …) was seen: evidence for the policies. */
  'console:pattern': { node: string; pattern: string; line: string; at: number };
  /** A hardware-log issue of the node was opened or closed. */
  'hwlog:changed': { node: string };
  /** An admin took nodes out of service (with a reason) or returned them. */
  'admin:requested': { nodes: readonly string[]; by: string; at: number } & ({ admin: 'offline'; reason: string } | { admin: 'online' });
  /** An admin resumed a group the mass-silence breaker froze. */
  'policy:resume': { group: string; by: string; at: number };
  /** A claim on the node contradicts it (identification): its automatic actions wait for an admin. */
  'conflict:raised': { node: string; agentId: string | null; reason: string; at: number };
  /** An admin decided a node's identity conflict (`muster conflict clear`, `muster assign`). */
  'conflict:cleared': { node: string; by: string; at: number };
  /**
   * What this controller acts for changed (federation): the nodes of `gained` partitions start
   * their timers afresh, in-flight actions on those of `lost` were aborted. `from` and `to` name
   * the previous and next owners where known (lease-keeper.ts `OwnershipChange`).
   */
  'ownership:changed': { gained: readonly number[]; lost: readonly number[]; from: ReadonlyMap<number, string>; to: ReadonlyMap<number, string>; at: number };
  /** A message was refused; `source` is the topic or client. */
  rejected: { source: string; reason: string; at: number };
}

export type EventKind = keyof ControllerEvents;
type Listener<K extends EventKind> = (e: ControllerEvents[K]) => void;
/** Built once per registration, so an emit allocates nothing. */
interface Entry<K extends EventKind> {
  readonly fn: Listener<K>;
  readonly owner: EventOwner;
}

/** Told of every listener that threw (`event`: its kind, or an MQTT filter); the others still run. */
export type ListenerFailure = (event: string, owner: string, err: unknown) => void;

/**
 * Listeners per kind, called in order and synchronously: when `emit` returns, every listener has
 * run, so an emitter may read the outcome at once (the API's admin verbs do). A listener that
 * throws is reported to `onFailure` and the others still run; the emitter never sees the error.
 * Not node:events' EventEmitter: its emit() allocates per call, and `agent:heartbeat` is emitted
 * 2,000 times a second at 10k nodes. A listener list is replaced, never changed in place, so
 * (un)subscribing during an emit does not disturb it.
 */
export class EventBus {
  private readonly listeners: { [K in EventKind]?: ReadonlyArray<Entry<K>> } = {};

  constructor(private readonly onFailure: ListenerFailure) {}

  /** A handle to register listeners under one owner's name (an extension's) and drop them all at once. */
  owner(name: string): EventOwner {
    const owner: EventOwner = {
      name,
      on: (kind, fn) => this.set(kind, [...this.list(kind), { fn, owner }]),
      off: () => {
        for (const kind of Object.keys(this.listeners) as EventKind[]) {
          const list = this.list(kind);
          if (list.some((entry) => entry.owner === owner)) this.set(kind, list.filter((entry) => entry.owner !== owner));
        }
      },
    };
    return owner;
  }

  emit<K extends EventKind>(kind: K, e: ControllerEvents[K]): void {
    const list = this.list(kind);
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      try {
        entry.fn(e);
      } catch (err) {
        this.onFailure(kind, entry.owner.name, err);
      }
    }
  }

  private list<K extends EventKind>(kind: K): ReadonlyArray<Entry<K>> {
    return (this.listeners[kind] as ReadonlyArray<Entry<K>> | undefined) ?? [];
  }

  private set<K extends EventKind>(kind: K, list: ReadonlyArray<Entry<K>>): void {
    (this.listeners as Record<K, ReadonlyArray<Entry<K>>>)[kind] = list;
  }
}

/** One owner's listeners: `off()` in the owner's stop() drops all of them. */
export interface EventOwner {
  readonly name: string;
  on<K extends EventKind>(kind: K, fn: Listener<K>): void;
  off(): void;
}
