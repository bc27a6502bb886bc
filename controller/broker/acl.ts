/**
 * Who may publish and subscribe where, as pure functions of the authenticated principal, its
 * client id and the topic, so the rules are tested without a broker. Agents speak only under their
 * own hardware id and read nothing but their own secret; only the controller (in-process, never through these checks)
 * writes node state, events, responses and console output; wildcards and `$SYS` are by role.
 */
import { AgentId, MAX_PAYLOAD_BYTES } from '../../shared/protocol.js';
import { filterCovers } from '../../shared/topic-filter.js';
import type { Topics } from '../../shared/topics.js';
import type { Principal } from '../auth/principal.js';
import { roleAtLeast } from '../../shared/auth.js';

export function isAgentClient(clientId: string): boolean {
  return AgentId.safeParse(clientId).success;
}

const describe = (p: Principal, clientId: string) => (p.kind === 'agent' ? `agent ${p.agentId}` : `user ${p.name} (${p.role}, client ${clientId})`);

/** Null when allowed, else the reason for the refusal (logged and counted). */
export function publishRefusal(topics: Topics, principal: Principal, clientId: string, topic: string, payloadBytes: number): string | null {
  // Who is named only on a refusal: this runs for every message (heartbeats included).
  const problem = publishProblem(topics, principal, clientId, topic, payloadBytes);
  return problem === null ? null : `${describe(principal, clientId)}: ${problem}`;
}

function publishProblem(topics: Topics, principal: Principal, clientId: string, topic: string, payloadBytes: number): string | null {
  if (topic.startsWith('$')) return `publishing to ${topic} is reserved for the broker`;
  if (payloadBytes > MAX_PAYLOAD_BYTES) return `payload of ${payloadBytes} bytes on ${topic} exceeds ${MAX_PAYLOAD_BYTES}`;
  const t = topics.parse(topic);
  if (!t) return `${topic} is not a muster topic`;
  if (principal.kind === 'agent') {
    if (t.area === 'agent' && t.agentId === principal.agentId && clientId === principal.agentId) return null;
    return `may publish only under ${topics.prefix}/agents/${principal.agentId}/, not ${topic}`;
  }
  // Every user may ask; the API server checks the verb's role and answers with the refusal.
  if (t.area === 'request') return null;
  if (t.area === 'console' && t.stream === 'in') return roleAtLeast(principal.role, 'operator') ? null : 'typing on a console needs the operator role';
  if (t.area === 'agent') return `only agents publish ${topic}`;
  return `only the controller publishes ${topic}`;
}

/**
 * Users get clean sessions only: a persistent session is kept by client id, and a client id is
 * not a secret, so another user could resume it and receive what was queued for its owner (a
 * request carrying a BMC password, say). An agent's client id is its principal, so its session
 * can only be resumed by itself. Null when allowed.
 */
export function sessionRefusal(principal: Principal, clientId: string, clean: boolean): string | null {
  if (clean || principal.kind === 'agent') return null;
  return `${describe(principal, clientId)}: persistent sessions (clean: false) are for agents only; connect with clean: true`;
}

/**
 * A request must name its publisher as `replyTo`: the API server takes the requester's identity
 * from it, and nobody may direct answers at another client. Null when it does.
 */
export function requestRefusal(clientId: string, payload: Buffer): string | null {
  let replyTo: unknown;
  try {
    replyTo = (JSON.parse(payload.toString('utf8')) as { replyTo?: unknown } | null)?.replyTo;
  } catch {
    return null; // not JSON: the API server refuses and counts it
  }
  return replyTo === clientId ? null : `client ${clientId}: a request's replyTo must be its own client id, not ${JSON.stringify(replyTo)?.slice(0, 80)}`;
}

/** What viewers and operators may read: node states, events, console output, their own answers. */
function readableFilters(topics: Topics, clientId: string): string[] {
  const p = topics.prefix;
  return [`${p}/nodes/#`, `${p}/events/#`, `${p}/consoles/+/out`, `${p}/response/${clientId}`];
}

/** Null when allowed, else the reason. */
export function subscribeRefusal(topics: Topics, principal: Principal, clientId: string, filter: string): string | null {
  const who = describe(principal, clientId);
  if (principal.kind === 'agent') {
    return filter === topics.credential(principal.agentId) && clientId === principal.agentId ? null : `${who}: agents may subscribe only to their own ${topics.credential(principal.agentId)} (${filter})`;
  }
  if (!validFilter(filter)) return `${who}: ${filter} is not a valid filter`;
  const responses = `${topics.prefix}/response/`;
  if (filter.startsWith(responses) && filter !== `${responses}${clientId}`) return `${who}: may read only its own responses (${responses}${clientId})`;
  if (principal.role === 'admin') return null;
  if (readableFilters(topics, clientId).some((allowed) => filterCovers(allowed, filter))) return null;
  return `${who}: may subscribe only to ${readableFilters(topics, clientId).join(', ')} (${filter} needs admin)`;
}

/**
 * Whether a message may be delivered to a client: answers and agent secrets go only to the client
 * they name, even through an admin's `#` (an answer may carry a freshly minted token).
 */
export function forwardAllowed(topics: Topics, clientId: string, topic: string): boolean {
  const responses = `${topics.prefix}/response/`;
  const credentials = `${topics.prefix}/credentials/`;
  if (topic.startsWith(credentials)) return topic === `${credentials}${clientId}`;
  return !topic.startsWith(responses) || topic === `${responses}${clientId}`;
}

/** MQTT filter syntax: `#` only as the whole last level, `+` only as a whole level. */
function validFilter(filter: string): boolean {
  const levels = filter.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}
