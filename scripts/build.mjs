// Bundles the agent into one self-contained file (no runtime node_modules: it runs from an
// initramfs), the CLI/controller into one file whose dependencies stay in node_modules, and the
// dashboard page into dist/dashboard/ (the controller serves those files as they are).
//   node scripts/build.mjs              all three
//   node scripts/build.mjs --agent      the agent alone (tests of the agent must not depend on the CLI building)
//   node scripts/build.mjs --dashboard  the page alone
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const only = process.argv.includes('--agent') ? 'agent' : process.argv.includes('--dashboard') ? 'dashboard' : null;
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: false, logLevel: 'warning' };

// The agent is CommonJS: Node loads it ~10 ms faster than an ES module, and `node agent.js` works
// the same in an initramfs (no package.json) and here (dist/package.json says so).
mkdirSync('dist', { recursive: true });
writeFileSync('dist/package.json', '{ "type": "commonjs" }\n');

if (only === null || only === 'agent') {
  const agentOptions = {
    ...common,
    format: 'cjs',
    minify: true,
    // Stand-ins for what mqtt.js pulls in but the agent never needs (see each shim for why); its
    // WebSocket transport stays out.
    alias: {
      'worker-timers': './agent/shims/worker-timers.ts',
      debug: './agent/shims/debug.cjs',
      'abort-controller': './agent/shims/abort-controller.cjs',
      'lru-cache': './agent/shims/lru-cache.cjs',
      'readable-stream': './agent/shims/readable-stream.cjs',
    },
    define: { AGENT_VERSION: JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
    external: ['ws', 'bufferutil', 'utf-8-validate'],
  };
  await build({ ...agentOptions, entryPoints: ['agent/main.ts'], outfile: 'dist/agent.js' });
  // muster-network.service's own bundle: it checks muster.if= with zod, which agent.js must not carry.
  await build({ ...agentOptions, entryPoints: ['agent/network-main.ts'], outfile: 'dist/agent-network.js' });
  const size = statSync('dist/agent.js').size;
  const gz = gzipSync(readFileSync('dist/agent.js')).length;
  console.log(`dist/agent.js ${(size / 1024).toFixed(1)} KiB (${(gz / 1024).toFixed(1)} KiB gzip)`);
}

if (only === null) {
  await build({
    ...common,
    // Split: what a controller loads only on demand (the demo's agent links) stays out of its start-up.
    entryPoints: { muster: 'cli/main.ts' },
    outdir: 'dist',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    splitting: true,
    format: 'esm',
    packages: 'external',
  });
}

if (only === null || only === 'dashboard') {
  // The page's script (app.ts and mqtt.js's browser build) for the browser, beside its HTML and CSS.
  const src = 'controller/http/dashboard';
  await build({
    entryPoints: [`${src}/app.ts`],
    outfile: 'dist/dashboard/app.js',
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'style.css']) copyFileSync(`${src}/${file}`, `dist/dashboard/${file}`);
}
