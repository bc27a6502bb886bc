/**
 * Builds dist/agent.js (with scripts/build.mjs, the one place its options live) when it is missing
 * or older than its sources.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const agentBundle = join(repoRoot, 'dist', 'agent.js');

function newestSource(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestSource(join(dir, e.name)) : /\.(ts|cjs)$/.test(e.name) ? statSync(join(dir, e.name)).mtimeMs : 0)),
  );
}

export async function ensureAgentBundle(): Promise<string> {
  let built = 0;
  try {
    built = statSync(agentBundle).mtimeMs;
  } catch {
    // not built yet
  }
  if (built <= Math.max(newestSource(join(repoRoot, 'agent')), newestSource(join(repoRoot, 'shared')))) {
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'build.mjs'), '--agent'], { cwd: repoRoot, stdio: 'ignore' });
  }
  return agentBundle;
}
