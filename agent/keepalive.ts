/**
 * The MQTT keepalive an agent asks for, from its liveness interval (by default its heartbeat
 * interval): a broker closes a client silent for 1.5 × keepalive (MQTT 3.1.1 §3.1.2.10; aedes and
 * Mosquitto alike) and sends its will, so a frozen agent is `dead` within 2 liveness intervals of
 * its last packet, however rare its heartbeats. Whole seconds, never under 5: below that a loaded
 * host's or network's hiccup of a few seconds would cut live agents.
 */
const MIN_KEEPALIVE_S = 5;

export function keepaliveSeconds(livenessMs: number): number {
  return Math.max(MIN_KEEPALIVE_S, Math.floor((2 * livenessMs) / 1500));
}
