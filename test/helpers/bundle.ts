/**
 * Builds a part of dist/ (with scripts/build.mjs, the one place its options live) when it is
 * missing or older than its sources: the agent bundle, or the dashboard page.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');

const TARGETS = {
  agent: { output: join(repoRoot, 'dist', 'agent.js'), sources: ['agent', 'shared'] },
  dashboard: { output: join(repoRoot, 'dist', 'dashboard', 'app.js'), sources: ['controller/http/dashboard', 'shared'] },
};

function newestSource(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestSource(join(dir, e.name)) : /\.(ts|cjs|html|css)$/.test(e.name) ? statSync(join(dir, e.name)).mtimeMs : 0)),
  );
}

/** The built file's path, after building it if needed. */
export function ensureBuilt(target: keyof typeof TARGETS): string {
  const { output, sources } = TARGETS[target];
  let built = 0;
  try {
    built = statSync(output).mtimeMs;
  } catch {
    // not built yet
  }
  if (built <= Math.max(...sources.map((dir) => newestSource(join(repoRoot, dir))))) {
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), `--${target}`], { cwd: repoRoot, stdio: 'ignore' });
  }
  return output;
}
