/**
 * The first admin: on a controller's first start (no users in the store) it creates user `admin`
 * with a random password and writes the password to DATA/admin-password (mode 0600), once.
 * Whoever can read the data directory can already read the store; the file adds no new exposure.
 */
import { randomBytes } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { hashPassword } from './passwords.js';

export const FIRST_ADMIN = 'admin';

/** The password file's path when it was just written, else null (users existed already). */
export async function ensureFirstAdmin(store: Store, now: number): Promise<string | null> {
  if (Object.keys(store.data.users).length > 0) return null;
  const password = randomBytes(18).toString('base64url');
  const passwordHash = await hashPassword(password);
  const path = join(store.dir, 'admin-password');
  await writeFile(path, `${password}\n`, { mode: 0o600 });
  await chmod(path, 0o600); // a file left from before keeps its old mode otherwise
  store.change((d) => {
    d.users[FIRST_ADMIN] = { name: FIRST_ADMIN, role: 'admin', passwordHash, createdAt: now, updatedAt: now, createdBy: 'first start' };
  });
  await store.flush();
  return path;
}
