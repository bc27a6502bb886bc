/**
 * What the CLI, the controller and the verb catalog share about users: the roles and their order,
 * the form of a user name, and the form of a password hash (checked before it is stored).
 */
import { z } from 'zod';
import { AgentId } from './protocol.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAtLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** Letters, digits, `_ . -`; never shaped like an agent id, which the broker reserves for agents. */
export const UserName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'a user name is 1–64 letters, digits, "_", "." or "-", starting with a letter')
  .refine((n) => !AgentId.safeParse(n).success && n !== 'anonymous', 'that name is reserved (agent ids and "anonymous")');

/**
 * OWASP's scrypt minimum (N=2^17 would cost ~0.3 s per CLI call on a small controller). The only
 * parameters accepted: a stored hash naming more (N=2^20, r=32 costs 4 GiB per try) would make
 * every login attempt a denial of service.
 */
export const SCRYPT_PARAMS = { N: 16_384, r: 8, p: 1 } as const;

/** `scrypt$N$r$p$<salt base64url>$<key base64url>`: a 16-byte salt and a 32-byte key, 22 and 43 characters. */
export const PASSWORD_HASH_FORM = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

/** The scrypt parameters of a hash, or an error naming what is wrong (bounded cost: a hash is never a denial of service). */
export function passwordHashParams(hash: string): { N: number; r: number; p: number; salt: string; key: string } {
  const m = PASSWORD_HASH_FORM.exec(hash);
  if (!m) throw new Error('password hash must look like scrypt$N$r$p$SALT$KEY');
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const want = SCRYPT_PARAMS;
  if (N !== want.N || r !== want.r || p !== want.p) throw new Error(`password hash: N=${N}, r=${r}, p=${p}: muster accepts only N=${want.N}, r=${want.r}, p=${want.p} (what muster user add writes)`);
  return { N, r, p, salt: m[4]!, key: m[5]! };
}

/** The CLI sends a scrypt hash, never the password: its form is checked before it is stored. */
export const PasswordHash = z
  .string()
  .max(512)
  .superRefine((h, c) => {
    try {
      passwordHashParams(h);
    } catch (err) {
      c.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });
