/**
 * Topic builders and the one parser for every muster topic. Only these functions spell topics,
 * so the prefix is configurable in one place and a malformed topic is refused in one place.
 */

export type AgentTopicKind = 'hello' | 'state' | 'heartbeat' | 'status';
const AGENT_KINDS: ReadonlySet<string> = new Set(['hello', 'state', 'heartbeat', 'status']);

export type ParsedTopic =
  | { area: 'agent'; agentId: string; kind: AgentTopicKind }
  | { area: 'node'; node: string }
  | { area: 'event'; kind: string }
  | { area: 'console'; node: string; stream: 'out' | 'in' }
  | { area: 'request'; verb: string }
  | { area: 'response'; clientId: string };

/** A single topic level that may carry an id: no wildcards, no separators, not empty. */
const SAFE_LEVEL = /^[A-Za-z0-9_.-]{1,128}$/;

export class Topics {
  constructor(readonly prefix = 'muster') {
    if (!SAFE_LEVEL.test(prefix)) throw new Error(`topic prefix "${prefix}" must be one topic level of letters, digits, "_", "." or "-"`);
  }
  agent(agentId: string, kind: AgentTopicKind): string {
    return `${this.prefix}/agents/${level(agentId, 'agent id')}/${kind}`;
  }
  nodeState(node: string): string {
    return `${this.prefix}/nodes/${level(node, 'node name')}/state`;
  }
  event(kind: string): string {
    return `${this.prefix}/events/${level(kind, 'event kind')}`;
  }
  consoleOut(node: string): string {
    return `${this.prefix}/consoles/${level(node, 'node name')}/out`;
  }
  /** Keystrokes for a console from the one attached writer (ConMan style). */
  consoleIn(node: string): string {
    return `${this.prefix}/consoles/${level(node, 'node name')}/in`;
  }
  request(verb: string): string {
    return `${this.prefix}/request/${level(verb, 'verb')}`;
  }
  response(clientId: string): string {
    return `${this.prefix}/response/${level(clientId, 'client id')}`;
  }

  /** Subscription filters the controller uses. */
  get allAgents(): string {
    return `${this.prefix}/agents/+/+`;
  }
  get allNodeStates(): string {
    return `${this.prefix}/nodes/+/state`;
  }
  get allEvents(): string {
    return `${this.prefix}/events/+`;
  }
  get allRequests(): string {
    return `${this.prefix}/request/+`;
  }
  get allConsoleInput(): string {
    return `${this.prefix}/consoles/+/in`;
  }

  /** The topic's meaning, or null for anything that is not exactly a muster topic. */
  parse(topic: string): ParsedTopic | null {
    const parts = topic.split('/');
    if (parts[0] !== this.prefix || parts.some((p) => !SAFE_LEVEL.test(p))) return null;
    const [, area, a, b] = parts;
    if (parts.length === 4 && area === 'agents' && AGENT_KINDS.has(b!)) return { area: 'agent', agentId: a!, kind: b as AgentTopicKind };
    if (parts.length === 4 && area === 'nodes' && b === 'state') return { area: 'node', node: a! };
    if (parts.length === 4 && area === 'consoles' && (b === 'out' || b === 'in')) return { area: 'console', node: a!, stream: b };
    if (parts.length === 3 && area === 'events') return { area: 'event', kind: a! };
    if (parts.length === 3 && area === 'request') return { area: 'request', verb: a! };
    if (parts.length === 3 && area === 'response') return { area: 'response', clientId: a! };
    return null;
  }
}

function level(value: string, what: string): string {
  if (!SAFE_LEVEL.test(value)) throw new Error(`${what} "${value}" cannot be a topic level (letters, digits, "_", "." or "-" only)`);
  return value;
}
