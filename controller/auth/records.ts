/** The store's auth records: users (scrypt hashes) and agent bootstrap tokens (SHA-256). */
import { z } from 'zod';
import { AgentId } from '../../shared/protocol.js';
import { Role } from './roles.js';
import { TOKEN_HASH } from './tokens.js';

/** Letters, digits, `_ . -`; never shaped like an agent id, which the broker reserves for agents. */
export const UserName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a user name is 1–64 letters, digits, "_", "." or "-", starting with a letter')
  .refine((n) => !AgentId.safeParse(n).success && n !== 'anonymous', 'that name is reserved (agent ids and "anonymous")');

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
