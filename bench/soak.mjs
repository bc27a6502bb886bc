#!/usr/bin/env node
// The soak test (issue 9, item 8): see bench/soak-run.ts. Node 20 cannot run TypeScript, so this
// bundles it with esbuild into node_modules/.cache (where its imports resolve) and runs it.
import { build } from 'esbuild';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
process.env.MUSTER_SOAK_ROOT = root;
const outfile = join(root, 'node_modules', '.cache', 'muster-soak', `soak-run-${process.pid}.mjs`);
await build({ entryPoints: [join(root, 'bench', 'soak-run.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
await import(pathToFileURL(outfile).href);
