import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The dashboard's page sources. From source (tests, tsx) they are next to this module; from the
 * bundled controller (`dist/muster.mjs`) they are in the repository's `controller/http/dashboard`.
 */
export function dashboardSourceDir(here = import.meta.dirname): string {
  const candidates = [here, resolve(here, '..', 'controller', 'http', 'dashboard')];
  const found = candidates.find((dir) => existsSync(join(dir, 'app.ts')));
  if (!found) throw new Error(`dashboard: page sources (app.ts) not found in ${candidates.join(' or ')}`);
  return found;
}

/**
 * Bundles the page's script (app.ts and mqtt.js's browser build) for the browser, in memory.
 * esbuild is loaded only when the page is first asked for, so a controller without it still runs.
 */
export async function bundleDashboard(dir: string): Promise<string> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (err) {
    throw new Error(`dashboard: esbuild is needed to build the page (npm install): ${(err as Error).message}`);
  }
  const result = await esbuild.build({
    entryPoints: [join(dir, 'app.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (!out) throw new Error('dashboard: esbuild produced no output for app.ts');
  return out.text;
}
