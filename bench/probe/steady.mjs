// A steady-state probe: N agents storm a controller (or the bare broker), then heartbeat every 5 s
// while RSS and CPU are printed every 5 s. What `bench/run.mjs` reduces to one figure, over time.
//   node bench/probe/steady.mjs                      muster, 10,000 agents, 150 s
//   TARGET=bare N=10000 HOLD=300 node bench/probe/steady.mjs
// With the preload (bench/probe/preload.cjs) and its PROBE_* variables:
//   PROBE_MEM=1          heap spaces every 5 s
//   PROBE_STALLS=1       event-loop stalls and big JSON.stringify calls, as they happen
//   PROBE_PROMOTED=F     promoted allocations sampled from PROMOTED_AT s (default 30) for
//                        PROMOTED_FOR s (default 90), written to F; PROBE_ALLOC_ALL=1: every allocation
//   NODEARGS="--trace-gc" passes V8's GC lines through (count scavenges and mark-compacts)
//   NODEARGS="--cpu-prof --cpu-prof-dir=D" or "--heapsnapshot-signal=SIGUSR2" (SNAP=1 sends it at the end)
//   NODEARGS="--perf-basic-prof": names JS frames for Linux perf, which also sees what the JS profiler
//                        folds into its callers (V8 builtins, string-table and Map lookups, GC threads):
//                        perf record -F 499 -g -p PID -o F.data -- sleep 60; perf script -i F.data -F ip,sym > F.stacks
// Analyse what they write with bench/probe/analyze.mjs. Build first (node scripts/build.mjs).
import { join } from 'node:path';
import { spawnGenerators } from '../lib/generators.mjs';
import { cpuMs, rssBytes } from '../lib/procstat.mjs';
import { bundleProtocol } from '../lib/protocol.mjs';
import { killChildren, startBareAedes, startMuster, tempDir, writeControllerConfig } from '../lib/targets.mjs';
import { storm } from '../scenarios/cluster.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const env = process.env;
const n = Number(env.N ?? 10_000);
const hold = Number(env.HOLD ?? 150);
const promotedFrom = env.PROBE_PROMOTED ? Number(env.PROMOTED_AT ?? 30) : null;
const promotedUntil = promotedFrom === null ? null : promotedFrom + Number(env.PROMOTED_FOR ?? 90);
const preload = ['--require', join(import.meta.dirname, 'preload.cjs')];
const nodeArgs = [...preload, ...(env.NODEARGS ?? '').split(' ').filter(Boolean)];

await bundleProtocol();
let target;
let token = null;
if (env.TARGET === 'bare') {
  target = await startBareAedes({ nodeArgs });
} else {
  const data = tempDir('muster-probe-');
  const config = writeControllerConfig(data.dir, { naming: `n[${'1'.padStart(5, '0')}-${String(n).padStart(5, '0')}]` });
  token = config.token;
  target = await startMuster({ dataDir: join(data.dir, 'data'), args: ['--config', config.path, '--dry-run'], nodeArgs });
}
// The preload's lines, from the target's stderr (or stdout), pass through.
for (const stream of [target.child.stdout, target.child.stderr]) {
  stream.on('data', (d) => {
    for (const line of String(d).split('\n')) if (/^(MEM|STALL|STRINGIFY|PROMOTED) |ms: (Scavenge|Mark-Compact)/.test(line)) console.log(line);
  });
}
await sleep(1000);
console.log(`empty: rss ${(rssBytes(target.pid) / 1048576).toFixed(1)} MiB`);

const gens = await spawnGenerators({ count: n, workers: 2 });
const t0 = performance.now();
const { connected } = await storm(gens, target.mqttUrl, 200, token);
console.log(`${connected} agents connected in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

let c0 = cpuMs(target.pid);
let w0 = performance.now();
for (let s = 0; s < hold; s += 5) {
  if (s === promotedFrom || s === promotedUntil) process.kill(target.pid, 'SIGURG');
  await sleep(5000);
  const c = cpuMs(target.pid);
  const w = performance.now();
  console.log(`t=${s + 5}s rss ${(rssBytes(target.pid) / 1048576).toFixed(1)} MiB cpu ${(((c - c0) / (w - w0)) * 100).toFixed(1)}%`);
  [c0, w0] = [c, w];
  if (env.PROBE_MEM) process.kill(target.pid, 'SIGWINCH');
}
if (env.SNAP) {
  process.kill(target.pid, 'SIGUSR2');
  await sleep(30_000); // a 10k-node snapshot takes ~20 s to write
}
for (const g of gens) await g.close();
await target.stop(); // a clean exit writes --cpu-prof's profile
killChildren();
