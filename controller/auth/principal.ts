import type { Role } from '../../shared/auth.js';
import type { Reintroductions } from './reintroduction.js';

/**
 * How an agent proved its id: its own secret, the bootstrap token (a new agent, or one that lost
 * its secret), or nothing (where `auth.anonymousAgents` is on).
 */
export type AgentProof = 'secret' | 'token' | 'none';

/**
 * Who is on the other end of an MQTT connection, as the broker authenticated it. Anonymous users
 * carry their connection's number: nobody proved they are the same person, so no two anonymous
 * connections are one principal (neither takes over the other's client id).
 */
export type Principal = { kind: 'agent'; agentId: string; proof: AgentProof } | { kind: 'user'; name: string; role: Role; anonymousConnection?: number };

/** What the rest of the controller may ask about authentication. */
export interface AuthView {
  /** The principal of a connected client (by client id = a request's `replyTo`), or null. */
  who(clientId: string): Principal | null;
  /** A token minted at start, never stored: for the controller's own simulated agents (`--demo`). */
  readonly internalAgentToken: string;
  /** Muster's evidence of nodes' boots, which lets their agents back in with the token. */
  readonly reintroductions: Reintroductions;
}
