// `npm run lab`: builds the agent and CLI, bundles the lab scenario (test/lab/) and runs it with
// progress for people. The same scenario runs in `npm test` as test/e2e/lab.test.ts.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, ['scripts/build.mjs']);
mkdirSync(join(root, '.lab'), { recursive: true });
const outfile = join(root, '.lab', 'lab-runner.mjs');
await build({
  entryPoints: [join(root, 'test', 'lab', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
  // test/helpers/controller.ts finds the repository from its own directory.
  define: { 'import.meta.dirname': JSON.stringify(join(root, 'test', 'helpers')) },
});
// `npm run lab -- --build disk`: the runner takes the arguments after `--`.
run(process.execPath, [outfile, ...process.argv.slice(2)]);
