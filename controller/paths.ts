import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
