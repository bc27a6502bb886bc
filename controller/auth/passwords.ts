/**
 * User passwords as scrypt hashes with a per-user salt:
 * `scrypt$N$r$p$<salt base64url>$<hash base64url>`. The CLI hashes before sending, so a password
 * never travels over MQTT or reaches a log; the controller only checks the form and compares.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** OWASP's scrypt minimum (N=2^17 would cost ~0.3 s per CLI call on a small controller). */
const DEFAULT = { N: 16_384, r: 8, p: 1 };
const KEY_BYTES = 32;
const FORM = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{22,})\$([A-Za-z0-9_-]{43})$/;

export interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** The hash's parts, or an error naming what is wrong (bounded cost: a hash is never a denial of service). */
export function parsePasswordHash(hash: string): ParsedHash {
  const m = FORM.exec(hash);
  if (!m) throw new Error('password hash must look like scrypt$N$r$p$SALT$KEY');
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 16_384 || N > 1_048_576 || (N & (N - 1)) !== 0) throw new Error(`password hash: N=${N} must be a power of two from 16384 to 1048576`);
  if (r < 8 || r > 32 || p < 1 || p > 4) throw new Error(`password hash: r=${r}, p=${p} out of range (r 8–32, p 1–4)`);
  return { N, r, p, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') };
}

export async function hashPassword(password: string, params = DEFAULT): Promise<string> {
  if (password.length < 8) throw new Error('a password needs at least 8 characters');
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_BYTES, { ...params, maxmem: maxmem(params) });
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Constant-time check of `password` against a stored hash; false for a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  let h: ParsedHash;
  try {
    h = parsePasswordHash(hash);
  } catch {
    return false;
  }
  const key = await scrypt(password, h.salt, h.key.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h) });
  return timingSafeEqual(key, h.key);
}

/** A hash no password matches, checked for unknown users so they take as long as known ones. */
export const UNKNOWN_USER_HASH = `scrypt$16384$8$1$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(32).toString('base64url')}`;

const maxmem = ({ N, r, p }: { N: number; r: number; p: number }) => 128 * N * r * p + 32 * 1024 * 1024;
