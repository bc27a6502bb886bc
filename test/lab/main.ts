/** `npm run lab`: the lab scenario for people, with progress and events as they happen (as root). */
import { Lab } from './scenario.js';
import { timelineSummary } from './timeline.js';

const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s`;
const lab = new Lab({ log: (line) => process.stdout.write(`${stamp()}  ${line}\n`), verbose: true });
let code = 0;
try {
  const r = await lab.run();
  process.stdout.write(`\nimage: ${r.image.initrd} (${(r.image.bytes / 1048576).toFixed(1)} MB)\nboot times (power-on or action → run):\n`);
  for (const b of r.boots) process.stdout.write(`  ${b.node} ${b.role.padEnd(10)} ${b.cause.padEnd(36)} ${timelineSummary(b.timeline)}\n`);
  const offline = r.names.uefi;
  process.stdout.write(`offline node ${offline}: ${r.nodes[offline]!.actions.length} actions, still frozen: ${r.offlineNodeStillFrozen}\n`);
  process.stdout.write(`wall time: ${r.wallSeconds.toFixed(0)} s\n`);
} catch (err) {
  process.stderr.write(`lab failed: ${(err as Error).message}\n`);
  code = 1;
} finally {
  await lab.close();
}
process.exit(code);
