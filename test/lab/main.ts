/** `npm run lab`: the lab scenario for people, with progress and events as they happen. */
import { Lab } from './scenario.js';

const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
const lab = new Lab({ log: (line) => process.stdout.write(`${stamp()}  ${line}\n`), verbose: true });
let code = 0;
try {
  const r = await lab.run();
  process.stdout.write(`\nimage: ${r.image.initrd} (${(r.image.bytes / 1048576).toFixed(1)} MB)\nboot times:\n`);
  for (const b of r.boots) process.stdout.write(`  ${b.node.padEnd(5)} ${b.cause.padEnd(36)} ${b.seconds.toFixed(1)} s\n`);
  process.stdout.write(`offline node n2: ${r.nodes.n2!.actions.length} actions, still frozen: ${r.offlineNodeStillFrozen}\n`);
  process.stdout.write(`wall time: ${r.wallSeconds.toFixed(0)} s\n`);
} catch (err) {
  process.stderr.write(`lab failed: ${(err as Error).message}\n`);
  code = 1;
} finally {
  await lab.close();
}
process.exit(code);
