/** The store's auth records: users (scrypt hashes), agent bootstrap tokens and agent secrets (SHA-256). */
import { z } from 'zod';
import { Role, UserName } from '../../shared/auth.js';
import { TOKEN_HASH } from './tokens.js';

export const UserRecord = z.object({
  name: UserName,
  role: Role,
  /** `scrypt$N$r$p$salt$key` (controller/auth/passwords.ts). */
  passwordHash: z.string().max(512),
  createdAt: z.number(),
  updatedAt: z.number(),
  createdBy: z.string().max(128),
});
export type UserRecord = z.infer<typeof UserRecord>;

export const AgentTokenRecord = z.object({
  hash: z.string().regex(TOKEN_HASH),
  note: z.string().max(256).nullable().default(null),
  createdAt: z.number(),
  createdBy: z.string().max(128),
});
export type AgentTokenRecord = z.infer<typeof AgentTokenRecord>;

/**
 * An agent's own secret (kept in its agent record). Issued after a hello made with the bootstrap
 * token; `confirmedAt`: when the agent said it stored it. Once confirmed, the token no longer
 * lets anyone take over the agent's session, and brings the agent back only right after muster
 * saw its machine boot (reintroduction.ts).
 */
export const AgentCredentialRecord = z.object({
  hash: z.string().regex(TOKEN_HASH),
  issuedAt: z.number(),
  /** The agent's boot it was issued in: an unconfirmed secret is issued again only to a new boot. */
  bootId: z.string().max(64),
  confirmedAt: z.number().nullable(),
  /**
   * The last confirmed secret this one replaced (a token re-introduction): whoever still presents
   * it is a second machine claiming the agent id, a conflict rather than a login.
   */
  previousHash: z.string().regex(TOKEN_HASH).nullable().default(null),
});
export type AgentCredentialRecord = z.infer<typeof AgentCredentialRecord>;
