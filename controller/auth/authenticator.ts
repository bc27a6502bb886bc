/**
 * Who may connect, decided from the MQTT CONNECT's client id, user name and password:
 * - a client whose id is an agent id is an agent: user name = its id, password = its own secret
 *   and/or a bootstrap token, separated by a space (or nothing, where `auth.anonymousAgents` is
 *   on). The token introduces an agent; the controller then issues it a secret
 *   (agent-credentials.ts). Once the agent confirmed it stored that secret, taking over its
 *   live session needs the secret: the token alone is refused while the agent is connected. A
 *   node's agent that is not connected comes back with the token (a diskless machine keeps no
 *   secret across a reboot) only right after muster saw the node boot (reintroduction.ts), and
 *   is issued a new secret; the one it replaced, presented again, is a second claimant: refused
 *   and raised as a conflict on the node;
 * - any other client is a user: name and password checked against the store's scrypt hashes
 *   (or nothing, where `auth.anonymousRole` gives anonymous clients a role).
 * Password checks are throttled per source address and per user name, and only a few scrypt
 * runs at once (login-limits.ts).
 * Refusal reasons name the client but never the password or token.
 */
import { isAgentClient } from '../broker/acl.js';
import type { StoreData } from '../store/schema.js';
import { ConcurrencyGate, LoginThrottle } from './login-limits.js';
import { UNKNOWN_USER_HASH, verifyPassword } from './passwords.js';
import type { Principal } from './principal.js';
import type { Role } from '../../shared/auth.js';
import type { NewAgentRate } from './new-agents.js';
import type { Reintroductions } from './reintroduction.js';
import { tokenHash } from './tokens.js';

export interface AuthSettings {
  anonymousAgents: boolean;
  anonymousRole: Role | null;
  /** Token hashes from the config file (`sha256:<hex>`). */
  agentTokens: readonly string[];
}

/**
 * `claim`: the refusal concerns a node's agent id, which the node's admins should hear of;
 * `hold`: two machines claim it, so the node's automatic actions wait for an admin.
 */
export type AuthOutcome =
  | { ok: true; principal: Principal }
  | { ok: false; reason: string; code: 'bad-credentials' | 'not-authorized' | 'unavailable'; claim?: { node: string; hold: boolean } };

/**
 * scrypt runs at once (libuv has 4 threads; the rest stay free for files), of them kept for
 * sources without failures, and attempts waiting for one.
 */
const SCRYPT_RUNNING = 2;
const SCRYPT_RESERVED = 1;
const SCRYPT_WAITING = 64;

export class Authenticator {
  /** Hashes of tokens minted in this process (the demo's simulated agents); never stored. */
  private readonly internalHashes = new Set<string>();
  private readonly throttle: LoginThrottle;
  private readonly scryptGate = new ConcurrencyGate(SCRYPT_RUNNING, SCRYPT_WAITING, SCRYPT_RESERVED);
  private anonymousConnections = 0;

  constructor(
    private readonly settings: AuthSettings,
    private readonly data: () => StoreData,
    private readonly now: () => number,
    /** New agent ids per token; `onRefused` hears of each refusal (for the metric). */
    private readonly newAgents: { rate: NewAgentRate; onRefused(reason: string): void },
    private readonly reintroductions: Reintroductions,
  ) {
    this.throttle = new LoginThrottle(now);
  }

  allowInternalToken(token: string): void {
    this.internalHashes.add(tokenHash(token));
  }

  /**
   * `source`: the peer's address, for throttling password guesses; `sessionLive`: a client with
   * this id is connected now (this connection would take its session over).
   */
  async authenticate(clientId: string, username: string | undefined, password: Buffer | undefined, source: string, sessionLive: boolean): Promise<AuthOutcome> {
    return isAgentClient(clientId) ? this.agent(clientId, username, password, sessionLive) : this.user(clientId, username, password, source);
  }

  private agent(agentId: string, username: string | undefined, password: Buffer | undefined, sessionLive: boolean): AuthOutcome {
    if (username === undefined && password === undefined) {
      if (this.settings.anonymousAgents) return { ok: true, principal: { kind: 'agent', agentId, proof: 'none' } };
      return { ok: false, code: 'not-authorized', reason: `agent ${agentId}: no token (anonymous agents are off: give the agent --token-file or muster.token=)` };
    }
    if (username !== agentId) return { ok: false, code: 'bad-credentials', reason: `agent ${agentId}: user name must be the agent id` };
    // Own properties only: an agent id is a key of the store's agents, never `__proto__`'s.
    const agent = Object.hasOwn(this.data().agents, agentId) ? this.data().agents[agentId]! : null;
    const credential = agent?.credential ?? null;
    const hashes = (password?.toString('utf8') ?? '').split(' ', 2).map(tokenHash);
    if (credential && hashes.includes(credential.hash)) return { ok: true, principal: { kind: 'agent', agentId, proof: 'secret' } };
    if (credential?.previousHash && hashes.includes(credential.previousHash)) {
      const node = agent!.node;
      const claimed = `it presented the secret a token re-introduction replaced at ${new Date(credential.issuedAt).toISOString()}, so two machines claim to be agent ${agentId}`;
      if (!node) return { ok: false, code: 'not-authorized', reason: `agent ${agentId}: refused: ${claimed}` };
      const reason = `agent ${agentId}: refused: ${claimed} of ${node}; an admin decides which one is ${node} (\`muster conflict clear ${node}\`, \`muster assign --force\`)`;
      return { ok: false, code: 'not-authorized', reason, claim: { node, hold: true } };
    }
    const token = hashes.find((h) => this.knownToken(h));
    if (!token) return { ok: false, code: 'bad-credentials', reason: `agent ${agentId}: unknown or revoked token, and not its own secret` };
    if (credential?.confirmedAt != null && sessionLive) {
      return { ok: false, code: 'not-authorized', reason: `agent ${agentId} is connected and has its own secret: taking over its session needs that secret, not the bootstrap token` };
    }
    // The controller's own simulated agents (`--demo`) need no evidence of a boot.
    const refused = agent && !this.internalHashes.has(token) ? this.reintroductions.refusal(agentId, agent, this.now()) : null;
    if (refused) return { ok: false, code: 'not-authorized', reason: refused, claim: { node: agent!.node!, hold: false } };
    const limited = this.newAgentRefusal(agentId, token);
    if (limited) return { ok: false, code: 'unavailable', reason: limited };
    return { ok: true, principal: { kind: 'agent', agentId, proof: 'token' } };
  }

  /** An agent id the store has no record of counts against its token's rate (the controller's own demo token excepted). */
  private newAgentRefusal(agentId: string, hash: string): string | null {
    if (Object.hasOwn(this.data().agents, agentId) || this.internalHashes.has(hash)) return null;
    const refusal = this.newAgents.rate.admit(hash, agentId);
    if (refusal) this.newAgents.onRefused(refusal);
    return refusal;
  }

  private async user(clientId: string, username: string | undefined, password: Buffer | undefined, source: string): Promise<AuthOutcome> {
    if (username === undefined) {
      const role = this.settings.anonymousRole;
      if (role) return { ok: true, principal: { kind: 'user', name: 'anonymous', role, anonymousConnection: ++this.anonymousConnections } };
      return { ok: false, code: 'not-authorized', reason: `client ${clientId}: no user name (anonymous access is off)` };
    }
    const rank = this.throttle.sourceFailures(source);
    const throttled = this.throttle.begin(source, username);
    if (throttled) return { ok: false, code: 'not-authorized', reason: `client ${clientId}: ${throttled}` };
    const user = Object.hasOwn(this.data().users, username) ? this.data().users[username]! : null;
    // An unknown user costs one scrypt too, so timing does not tell which names exist.
    const ok = await this.scryptGate.run(() => verifyPassword(password?.toString('utf8') ?? '', user?.passwordHash ?? UNKNOWN_USER_HASH), rank);
    if (ok === null) return { ok: false, code: 'unavailable', reason: `client ${clientId}: too many logins being checked; try again` };
    if (!user || !ok) return { ok: false, code: 'bad-credentials', reason: `client ${clientId}: bad user name or password for "${username.slice(0, 64)}"` };
    this.throttle.succeeded(source, username);
    return { ok: true, principal: { kind: 'user', name: user.name, role: user.role } };
  }

  private knownToken(hash: string): boolean {
    return this.internalHashes.has(hash) || this.settings.agentTokens.includes(hash) || this.data().agentTokens.some((t) => t.hash === hash);
  }
}
