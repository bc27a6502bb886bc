/**
 * User passwords as scrypt hashes with a per-user salt:
 * `scrypt$N$r$p$<salt base64url>$<hash base64url>`. The CLI hashes before sending, so a password
 * never travels over MQTT or reaches a log; the controller only checks the form and compares.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { SCRYPT_PARAMS, passwordHashParams } from '../../shared/auth.js';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

/** The hash's parts, or an error naming what is wrong. */
export function parsePasswordHash(hash: string): ParsedHash {
  const { N, r, p, salt, key } = passwordHashParams(hash);
  return { N, r, p, salt: Buffer.from(salt, 'base64url'), key: Buffer.from(key, 'base64url') };
}

export async function hashPassword(password: string): Promise<string> {
  if (password.length < 8) throw new Error('a password needs at least 8 characters');
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(password, salt, KEY_BYTES, { ...SCRYPT_PARAMS, maxmem: maxmem(SCRYPT_PARAMS) });
  return `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
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
export const UNKNOWN_USER_HASH = `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$${Buffer.alloc(SALT_BYTES).toString('base64url')}$${Buffer.alloc(KEY_BYTES).toString('base64url')}`;

const maxmem = ({ N, r, p }: { N: number; r: number; p: number }) => 128 * N * r * p + 32 * 1024 * 1024;
