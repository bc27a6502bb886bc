/**
 * Who may publish and subscribe where, as pure functions of the client id and topic, so the rules
 * are tested without a broker. Agents speak only under their own hardware id; only the controller
 * (in-process, never through these checks) writes node state, events, responses and console output.
 */
import { AgentId, MAX_PAYLOAD_BYTES } from '../../shared/protocol.js';
import type { Topics } from '../../shared/topics.js';

export function isAgentClient(clientId: string): boolean {
  return AgentId.safeParse(clientId).success;
}

/** Null when allowed, else the reason for the refusal (logged and counted). */
export function publishRefusal(topics: Topics, clientId: string, topic: string, payloadBytes: number): string | null {
  if (topic.startsWith('$')) return `client ${clientId}: publishing to ${topic} is reserved for the broker`;
  if (payloadBytes > MAX_PAYLOAD_BYTES) return `client ${clientId}: payload of ${payloadBytes} bytes on ${topic} exceeds ${MAX_PAYLOAD_BYTES}`;
  const t = topics.parse(topic);
  if (!t) return `client ${clientId}: ${topic} is not a muster topic`;
  if (isAgentClient(clientId)) {
    if (t.area === 'agent' && t.agentId === clientId) return null;
    return `agent ${clientId}: may publish only under ${topics.prefix}/agents/${clientId}/, not ${topic}`;
  }
  if (t.area === 'request' || (t.area === 'console' && t.stream === 'in')) return null;
  return `client ${clientId}: only the controller publishes ${topic}`;
}

/** Null when allowed, else the reason. Agents subscribe to nothing: they only talk. */
export function subscribeRefusal(topics: Topics, clientId: string, filter: string): string | null {
  if (isAgentClient(clientId)) return `agent ${clientId}: agents may not subscribe (${filter})`;
  if (filter.startsWith('$') && !filter.startsWith('$SYS/')) return `client ${clientId}: ${filter} is not a valid filter`;
  const responses = `${topics.prefix}/response/`;
  if (filter.startsWith(responses) && filter !== `${responses}${clientId}`) return `client ${clientId}: may read only its own responses (${responses}${clientId})`;
  return null;
}
