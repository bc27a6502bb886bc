/**
 * Topic builders and the one parser for every muster topic. Only these functions spell topics,
 * so the prefix is configurable in one place and a malformed topic is refused in one place.
 */

export type AgentTopicKind = 'hello' | 'state' | 'heartbeat' | 'status' | 'credential';
const AGENT_KINDS: readonly AgentTopicKind[] = ['heartbeat', 'state', 'hello', 'status', 'credential'];
const CONSOLE_STREAMS = ['out', 'in'] as const;
/** Between controllers of one site (federation): parts of requests forwarded to their owner, and the answers. */
const CONTROLLER_KINDS = ['request', 'response'] as const;
/** The shared-subscription group every controller's request subscription joins: the broker hands each request to one. */
const CONTROLLERS_GROUP = 'muster-controllers';

/** Readonly: `parse` hands the same object to every caller of one topic (the broker's ACL, then ingest). */
export type ParsedTopic =
  | { readonly area: 'agent'; readonly agentId: string; readonly kind: AgentTopicKind }
  | { readonly area: 'node'; readonly node: string }
  | { readonly area: 'event'; readonly kind: string }
  | { readonly area: 'console'; readonly node: string; readonly stream: 'out' | 'in' }
  | { readonly area: 'request'; readonly verb: string }
  | { readonly area: 'response'; readonly clientId: string }
  | { readonly area: 'credential'; readonly agentId: string }
  | { readonly area: 'controller'; readonly controller: string; readonly kind: 'request' | 'response' };

const SLASH = 47;
/** The characters of a topic level that may carry an id: no wildcards, no separators. */
const LEVEL_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-') LEVEL_CHAR[c.charCodeAt(0)] = 1;
const LEVEL_RULE = 'letters, digits, "_", "." or "-"';

/** Whether topic[from, to) is one safe level: 1-128 of LEVEL_CHAR. */
function isLevel(s: string, from: number, to: number): boolean {
  if (to <= from || to - from > 128) return false;
  for (let i = from; i < to; i++) if (LEVEL_CHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Whether topic[from, to) is exactly `word`. */
const levelIs = (s: string, from: number, to: number, word: string): boolean => to - from === word.length && s.startsWith(word, from);

/** The constant among `words` that topic[from, to) spells (so callers get an interned string), or null. */
function oneOf<T extends string>(s: string, from: number, to: number, words: readonly T[]): T | null {
  for (const w of words) if (levelIs(s, from, to, w)) return w;
  return null;
}

export class Topics {
  /** The last topic parsed and its meaning: the broker's ACL and ingest parse each message's topic in turn. */
  private lastTopic: string | null = null;
  private lastParsed: ParsedTopic | null = null;

  constructor(readonly prefix = 'muster') {
    if (!isLevel(prefix, 0, prefix.length)) throw new Error(`topic prefix "${prefix}" must be one topic level of ${LEVEL_RULE}`);
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
  /** An agent's own secret, from the controller: delivered to that agent's client id only. */
  credential(agentId: string): string {
    return `${this.prefix}/credentials/${level(agentId, 'agent id')}`;
  }

  /** A part of a request forwarded to controller `id`, which owns its nodes (federation). */
  controllerRequest(id: string): string {
    return `${this.prefix}/controllers/${level(id, 'controller id')}/request`;
  }
  /** Answers to the parts controller `id` forwarded. */
  controllerResponse(id: string): string {
    return `${this.prefix}/controllers/${level(id, 'controller id')}/response`;
  }

  /** Subscription filters the controller uses. */
  get allAgents(): string {
    return `${this.prefix}/agents/+/+`;
  }
  /** Every agent's messages of one kind. */
  agentsOfKind(kind: AgentTopicKind): string {
    return `${this.prefix}/agents/+/${kind}`;
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
  /**
   * The requests as an MQTT shared subscription (Mosquitto 2, EMQX): each request goes to one of
   * the controllers subscribed, not to all (federation on shared brokers).
   */
  get sharedRequests(): string {
    return `$share/${CONTROLLERS_GROUP}/${this.allRequests}`;
  }
  get allConsoleInput(): string {
    return `${this.prefix}/consoles/+/in`;
  }

  /** The topic's meaning, or null for anything that is not exactly a muster topic. */
  parse(topic: string): ParsedTopic | null {
    if (topic !== this.lastTopic) {
      this.lastParsed = this.parseLevels(topic);
      this.lastTopic = topic;
    }
    return this.lastParsed;
  }

  /**
   * `prefix/area/id[/tail]`, every level safe. By index, not split and a pattern per level: this
   * runs for every message the broker takes (split and patterns, twice a message, were ~4 % of the
   * controller's CPU at 2,000 heartbeats/s).
   */
  private parseLevels(topic: string): ParsedTopic | null {
    const start = this.prefix.length + 1;
    if (!topic.startsWith(this.prefix) || topic.charCodeAt(start - 1) !== SLASH) return null;
    const areaEnd = topic.indexOf('/', start);
    if (areaEnd < 0) return null;
    const idEnd = topic.indexOf('/', areaEnd + 1);
    const end = topic.length;
    const idTo = idEnd < 0 ? end : idEnd;
    if (idEnd >= 0 && (topic.indexOf('/', idEnd + 1) >= 0 || !isLevel(topic, idEnd + 1, end))) return null;
    if (!isLevel(topic, start, areaEnd) || !isLevel(topic, areaEnd + 1, idTo)) return null;
    const id = topic.slice(areaEnd + 1, idTo);
    if (idEnd < 0) {
      if (levelIs(topic, start, areaEnd, 'events')) return { area: 'event', kind: id };
      if (levelIs(topic, start, areaEnd, 'request')) return { area: 'request', verb: id };
      if (levelIs(topic, start, areaEnd, 'response')) return { area: 'response', clientId: id };
      if (levelIs(topic, start, areaEnd, 'credentials')) return { area: 'credential', agentId: id };
      return null;
    }
    if (levelIs(topic, start, areaEnd, 'agents')) {
      const kind = oneOf(topic, idEnd + 1, end, AGENT_KINDS);
      return kind && { area: 'agent', agentId: id, kind };
    }
    if (levelIs(topic, start, areaEnd, 'nodes')) return levelIs(topic, idEnd + 1, end, 'state') ? { area: 'node', node: id } : null;
    if (levelIs(topic, start, areaEnd, 'controllers')) {
      const kind = oneOf(topic, idEnd + 1, end, CONTROLLER_KINDS);
      return kind && { area: 'controller', controller: id, kind };
    }
    if (levelIs(topic, start, areaEnd, 'consoles')) {
      const stream = oneOf(topic, idEnd + 1, end, CONSOLE_STREAMS);
      return stream && { area: 'console', node: id, stream };
    }
    return null;
  }
}

function level(value: string, what: string): string {
  if (!isLevel(value, 0, value.length)) throw new Error(`${what} "${value}" cannot be a topic level (${LEVEL_RULE} only)`);
  return value;
}
