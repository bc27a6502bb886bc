/**
 * What agents that no site record vouches for may make the controller keep: a fingerprint of
 * bounded size, and at most `max` unbound (discovered) agent records, the one whose last hello is
 * oldest forgotten first. Pure: the caller reads the store and applies the outcome.
 */
import type { Fingerprint } from '../../shared/protocol.js';

/** Null when the fingerprint fits the cap, else the refusal, naming its size and the cap. */
export function fingerprintRefusal(agentId: string, fingerprint: Fingerprint, maxBytes: number): string | null {
  const bytes = Buffer.byteLength(JSON.stringify(fingerprint));
  if (bytes <= maxBytes) return null;
  return `hello of agent ${agentId}: fingerprint of ${bytes} bytes exceeds the cap of ${maxBytes} bytes (limits.maxFingerprintBytes)`;
}

/**
 * Unbound agents in the order of their last hello, oldest first. Bindings made elsewhere (an
 * admin's assign) are not reported here: an entry whose agent is bound or gone by then is dropped
 * when the cap is reached, before anything is evicted.
 */
export class DiscoveredAgents {
  /** A Map keeps insertion order: re-inserting on each hello keeps it ordered by last hello. */
  private readonly order = new Map<string, true>();

  constructor(
    private readonly max: number,
    agents: Iterable<{ agentId: string; lastSeen: number; node: string | null }>,
  ) {
    const unbound = [...agents].filter((a) => a.node === null).sort((a, b) => a.lastSeen - b.lastSeen);
    for (const a of unbound) this.order.set(a.agentId, true);
  }

  /**
   * `agentId`, unbound, said hello: it becomes the newest. Returns the agents to forget, oldest
   * first, so that at most `max` unbound ones remain; `stillUnbound` says whether an entry still is.
   */
  saidHello(agentId: string, stillUnbound: (agentId: string) => boolean): string[] {
    this.order.delete(agentId);
    this.order.set(agentId, true);
    if (this.order.size <= this.max) return [];
    for (const id of this.order.keys()) if (!stillUnbound(id)) this.order.delete(id);
    const evicted: string[] = [];
    for (const id of this.order.keys()) {
      if (this.order.size <= this.max) break;
      this.order.delete(id);
      evicted.push(id);
    }
    return evicted;
  }
}
