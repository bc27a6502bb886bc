/**
 * Agent bootstrap tokens: `mt1.<43 random base64url characters>` (256 bits), and each agent's own
 * secret: `ma1.<43 …>`. Only their SHA-256 is kept (config `auth.agentTokens`, the store for
 * `muster token create`, an agent's record for its secret). A slow hash adds nothing to a 256-bit
 * random secret and would cost seconds in a discovery storm of thousands.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_HASH = /^sha256:[0-9a-f]{64}$/;

export function newAgentToken(): string {
  return `mt1.${randomBytes(32).toString('base64url')}`;
}

/** An agent's own secret (shared/protocol.ts AgentSecret). */
export function newAgentSecret(): string {
  return `ma1.${randomBytes(32).toString('base64url')}`;
}

/** `sha256:<hex>`: what config files and the store hold. */
export function tokenHash(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** The short public id of a token (the start of its hash): what `token list` and `token revoke` name. */
export function tokenId(hash: string): string {
  return hash.slice('sha256:'.length, 'sha256:'.length + 12);
}
