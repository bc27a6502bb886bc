// Figure 7: `muster power cycle` over N `sim://` nodes with --concurrency C. Wall time of the CLI,
// and the most actions in flight at once, reconstructed from the controller's `action` events:
// each carries its end time (`at`) and its duration (`details.result.ms`).
import { appendFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Observer } from '../lib/observer.mjs';
import { musterBin, startMuster, tempDir, writeControllerConfig } from '../lib/targets.mjs';

function cli(url, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let out = '';
    const child = spawn(process.execPath, [musterBin, '--controller', url, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, out }) : reject(new Error(`muster ${args.join(' ')} failed (${code}): ${out.slice(-500)}`))));
  });
}

/** Most intervals overlapping at any instant (an end at t comes before a start at t). */
export function maxOverlap(intervals) {
  const edges = intervals.flatMap(([s, e]) => [[s, 1], [e, -1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of edges) max = Math.max(max, (now += d));
  return max;
}

/** How far `at − ms` may fall before an action's real start (see above). */
const ROUNDING_MS = 2;

export async function powerFanout({ nodes, concurrency, log }) {
  const data = tempDir('muster-bench-power-');
  const config = writeControllerConfig(data.dir);
  // No background power sync: its status reads hold the nodes the measured cycle would then find
  // busy ("another power action is in flight") when it lands in the same seconds.
  appendFileSync(config.path, 'power:\n  pollIntervalS: 0\n');
  const m = await startMuster({ dataDir: join(data.dir, 'data'), args: ['--config', config.path, '--dry-run'] });
  const obs = await Observer.connect(m.mqttUrl, ['muster/events/action']);
  try {
    const range = `p[0001-${String(nodes).padStart(4, '0')}]`;
    await cli(m.mqttUrl, ['define', range, 'power=sim://?state=on']);
    const intervals = [];
    obs.on((topic, payload) => {
      const e = JSON.parse(payload.toString());
      const r = e.details?.result;
      // `at` is a whole-ms wall time taken as the event is published and `ms` is rounded up: an
      // action that starts in the millisecond its slot's previous one ended would read as
      // overlapping it, so a start counts from ROUNDING_MS later.
      if (e.details?.action === 'power-cycle' && r) intervals.push([e.at - r.ms + ROUNDING_MS, e.at, r.ok]);
    });
    const command = `muster power cycle ${range} --concurrency ${concurrency}`;
    const run = await cli(m.mqttUrl, ['power', 'cycle', range, '--concurrency', String(concurrency)]);
    for (let i = 0; i < 50 && intervals.length < nodes; i++) await new Promise((r) => setTimeout(r, 100));
    const result = { command, nodes, concurrency, wallMs: run.ms, results: intervals.length, ok: intervals.filter((x) => x[2]).length, maxInFlight: maxOverlap(intervals), meanActionMs: intervals.reduce((a, [s, e]) => a + e - s, 0) / Math.max(1, intervals.length) };
    log(`power: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await obs.close().catch(() => {});
    await m.stop();
    data.remove();
  }
}
