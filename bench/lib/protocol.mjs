// Bundles bench/lib/real-code.ts (real agent message code) once per run and imports it.
// The bundle lives under node_modules/.cache so its bare imports resolve from the project.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');
const outfile = join(repo, 'node_modules', '.cache', 'muster-bench', 'protocol.mjs');

export async function bundleProtocol() {
  mkdirSync(join(outfile, '..'), { recursive: true });
  await build({ entryPoints: [join(import.meta.dirname, 'real-code.ts')], outfile, bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', logLevel: 'warning' });
  return outfile;
}

export function loadProtocol() {
  return import(outfile);
}

/** The agent id the demo's SimNode derives from simFingerprint(i). */
export const agentIdOf = (fingerprint) => `mac-${fingerprint.bootMac.replace(/:/g, '')}`;
