// Bundles the agent into one self-contained file (no runtime node_modules: it runs from an
// initramfs) and the CLI/controller into one file whose dependencies stay in node_modules.
import { build } from 'esbuild';
import { readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: false, logLevel: 'warning' };
// ESM bundles of CommonJS packages need a require() of their own.
const banner = { js: "import { createRequire as __muster_cr } from 'node:module'; const require = __muster_cr(import.meta.url);" };

await build({
  ...common,
  entryPoints: ['agent/main.ts'],
  outfile: 'dist/agent.js',
  minify: true,
  banner,
  // mqtt.js pulls a browser timer shim and a WebSocket client; the agent needs neither.
  // Stand-ins for what mqtt.js pulls in but the agent never needs (see each shim for why).
  alias: {
    'worker-timers': './agent/shims/worker-timers.ts',
    debug: './agent/shims/debug.cjs',
    'abort-controller': './agent/shims/abort-controller.cjs',
    'lru-cache': './agent/shims/lru-cache.cjs',
  },
  define: { AGENT_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
  external: ['ws', 'bufferutil', 'utf-8-validate'],
});
// `--agent`: the agent bundle alone (tests of the agent must not depend on the CLI building).
if (!process.argv.includes('--agent')) await build({
  ...common,
  entryPoints: ['cli/main.ts'],
  outfile: 'dist/muster.js',
  packages: 'external',
});

const size = statSync('dist/agent.js').size;
const gz = gzipSync(readFileSync('dist/agent.js')).length;
console.log(`dist/agent.js ${(size / 1024).toFixed(1)} KiB (${(gz / 1024).toFixed(1)} KiB gzip)`);
