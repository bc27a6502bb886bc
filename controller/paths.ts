import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, realpath } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root directory (the one with boot/, package.json), found by walking up from this
 * module: the same answer from the TypeScript sources under vitest and from the bundle in dist/.
 */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'boot'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find muster's project directory above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * Creates the data directory if needed and makes it 0700 on every start, not only when created:
 * it holds the store (BMC passwords), the first admin's password and console logs.
 */
export async function secureDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  } catch (err) {
    throw new Error(`data directory ${dir}: ${(err as Error).message}`);
  }
}

let version: string | null = null;
/** muster's version, from its package.json (the controller reports it; the CLI compares). */
export function musterVersion(): string {
  version ??= (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

/** Whether `real` (a path with symlinks resolved) lies inside one of `dirs` (resolved too; a missing one holds nothing). */
export async function isInsideDirs(real: string, dirs: readonly string[]): Promise<boolean> {
  for (const dir of dirs) {
    const root = await realpath(dir).catch(() => null);
    if (root && real.startsWith(root.endsWith(sep) ? root : root + sep)) return true;
  }
  return false;
}
