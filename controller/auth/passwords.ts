/**
 * User passwords as scrypt hashes with a per-user salt:
 * `scrypt$N$r$p$<salt base64url>$<hash base64url>`. The CLI hashes before sending, so a password
 * never travels over MQTT or reaches a log; the controller only checks the form and compares.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

/**
 * OWASP's scrypt minimum (N=2^17 would cost ~0.3 s per CLI call on a small controller). The only
 * parameters accepted: a stored hash naming more (N=2^20, r=32 costs 4 GiB per try) would make
 * every login attempt a denial of service.
 */
const PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** 16-byte salt and 32-byte key in base64url: 22 and 43 characters. */
const FORM = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

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
  if (N !== PARAMS.N || r !== PARAMS.r || p !== PARAMS.p) throw new Error(`password hash: N=${N}, r=${r}, p=${p}: muster accepts only N=${PARAMS.N}, r=${PARAMS.r}, p=${PARAMS.p} (what muster user add writes)`);
  return { N, r, p, salt: Buffer.from(m[4]!, 'base64url'), key: Buffer.from(m[5]!, 'base64url') };
}

export async function hashPassword(password: string): Promise<string> {
  if (password.length < 8) throw new Error('a password needs at least 8 characters');
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, { ...PARAMS, maxmem: maxmem(PARAMS) });
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
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
export const UNKNOWN_USER_HASH = `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${Buffer.alloc(SALT_BYTES).toString('base64url')}$${Buffer.alloc(KEY_BYTES).toString('base64url')}`;

const maxmem = ({ N, r, p }: { N: number; r: number; p: number }) => 128 * N * r * p + 32 * 1024 * 1024;
