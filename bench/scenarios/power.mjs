// Figure 7: `muster power cycle` over N `sim://` nodes with --concurrency C, through the real CLI
// and the `power` verb. The peer is the ideal, ceil(N ÷ C) × one node's cycle, where one node's
// cycle is measured in the same run: a few nodes cycled one at a time, their median action time
// (`ms` of `--json`). The most in flight is the controller's own count of driver calls running at
// once (muster_power_calls_in_flight_max, exact, read after the run).
import { appendFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { scrapeMetric } from '../lib/observer.mjs';
import { percentile } from '../lib/procstat.mjs';
import { musterBin, startMuster, tempDir, writeControllerConfig } from '../lib/targets.mjs';

function cli(url, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let out = '';
    let err = '';
    const child = spawn(process.execPath, [musterBin, '--controller', url, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve({ ms: performance.now() - t0, out }) : reject(new Error(`muster ${args.join(' ')} failed (${code}): ${(err || out).slice(-500)}`))));
  });
}

/** Nodes cycled one at a time for the action time. */
const SOLO = 5;

/** `delayMs`: the sim driver's time per step (a cycle is off, a status read that finds it off, on). */
export async function powerFanout({ nodes, concurrency, delayMs, log }) {
  const data = tempDir('muster-bench-power-');
  const config = writeControllerConfig(data.dir);
  // No background power sync: its status reads hold the nodes the measured cycle would then find
  // busy ("another power action is in flight") when it lands in the same seconds. The reads a
  // define starts run `concurrency` at a time, so they are over before the measurement begins.
  appendFileSync(config.path, `power:\n  pollIntervalS: 0\n  concurrency: ${concurrency}\n`);
  const m = await startMuster({ dataDir: join(data.dir, 'data'), args: ['--config', config.path, '--dry-run'] });
  try {
    const width = String(nodes).length;
    const num = (i) => String(i).padStart(width, '0');
    const range = (last) => `p[${num(1)}-${num(last)}]`;
    await cli(m.mqttUrl, ['define', range(nodes), `power=sim://?state=on&delay=${delayMs}`]);
    // A define reads the new targets' power in the background: let it finish, or it shares the
    // CPU and the in-flight count with the cycles measured.
    for (let quiet = 0; quiet < 2; ) {
      await new Promise((r) => setTimeout(r, 1000));
      quiet = (await scrapeMetric(m.adminUrl, 'muster_power_calls_in_flight')) === 0 ? quiet + 1 : 0;
    }
    const cycle = async (nodeRange, concurrency) => {
      const run = await cli(m.mqttUrl, ['power', 'cycle', nodeRange, '--concurrency', String(concurrency), '--json']);
      return { ms: run.ms, results: JSON.parse(run.out) };
    };
    const soloRange = range(SOLO);
    const actionMs = percentile((await cycle(soloRange, 1)).results.map((r) => r.ms), 50);

    const all = range(nodes);
    const command = `muster power cycle ${all} --concurrency ${concurrency} --json  (power=sim://?state=on&delay=${delayMs})`;
    const { ms: wallMs, results } = await cycle(all, concurrency);
    const idealMs = Math.ceil(nodes / concurrency) * actionMs;
    const result = {
      command,
      nodes,
      concurrency,
      delayMs,
      actionMs,
      actionCommand: `muster power cycle ${soloRange} --concurrency 1 --json (median ms)`,
      idealMs,
      wallMs,
      ratio: wallMs / idealMs,
      results: results.length,
      ok: results.filter((r) => r.ok).length,
      meanActionMs: results.reduce((a, r) => a + r.ms, 0) / Math.max(1, results.length),
      maxInFlight: await scrapeMetric(m.adminUrl, 'muster_power_calls_in_flight_max'),
    };
    log(`power: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await m.stop();
    data.remove();
  }
}
