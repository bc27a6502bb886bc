// Figures 2-5 on one muster controller, in the order a site lives them: a discovery storm of N new
// agents named by the sequential rule (3), steady heartbeats (2), kill and freeze detection (4),
// then restart on the N-node store and `muster nodes` (5). `bareSteady` measures the peer for (2).
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnGenerators } from '../lib/generators.mjs';
import { Observer, forkPinger, scrapeMetric } from '../lib/observer.mjs';
import { loadProtocol } from '../lib/protocol.mjs';
import { listenOverflows, percentile, rssBytes, sampleProcess, settle } from '../lib/procstat.mjs';
import { musterBin, startBareAedes, startMuster, tempDir, writeControllerConfig } from '../lib/targets.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const HEARTBEAT_MS = 5000;

export async function until(cond, timeoutMs, everyMs = 200) {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await cond()) return true;
    await sleep(everyMs);
  }
  return false;
}

export const genCpu = async (gens) => (await Promise.all(gens.map((g) => g.call('stats')))).reduce((a, s) => a + s.cpuMs, 0);

/**
 * Connects the agents on every generator at once; sums what the generators saw. `keepaliveS`: the
 * agents' MQTT keepalive, by default the one a real agent asks for at this heartbeat interval.
 * A generator with its own `mqttUrl` connects its agents there instead of to `url`;
 * `sourceAddresses`: see gen-worker.mjs `connect`.
 */
export async function storm(gens, url, concurrency, token = null, keepaliveS = null, heartbeatMs = HEARTBEAT_MS, sourceAddresses = 0) {
  keepaliveS ??= (await loadProtocol()).keepaliveSeconds(heartbeatMs);
  const rs = await Promise.all(
    gens.map((g) => {
      const { hostname: host, port } = new URL(g.mqttUrl ?? url);
      return g.call('connect', { host, port: Number(port), token, first: g.first, count: g.count, concurrency, keepaliveS, phase: 'run', heartbeatMs, sourceAddresses });
    }),
  );
  const stats = await Promise.all(gens.map((g) => g.call('stats')));
  return {
    connected: rs.reduce((a, r) => a + r.connected, 0),
    firstHello: Math.min(...rs.map((r) => r.firstHello)),
    lastHello: Math.max(...rs.map((r) => r.lastHello)),
    connectRetries: stats.reduce((a, s) => a + s.connectRetries, 0),
    connectFailures: stats.reduce((a, s) => a + s.connectFailures, 0),
    slowConnects: stats.reduce((a, s) => a + s.slowConnects, 0),
    connectMsMax: Math.max(...stats.map((s) => s.connectMsMax)),
  };
}

/** Peer for figure 2: the bare embedded broker with N agents heartbeating every 5 s. */
export async function bareSteady({ n, workers, warmMs, settleMaxMs, settleWindowMs, sampleMs }) {
  const bare = await startBareAedes();
  await sleep(1000);
  const rssEmptyBytes = rssBytes(bare.pid);
  const gens = await spawnGenerators({ count: n, workers });
  try {
    const s = await storm(gens, bare.mqttUrl, 200);
    const settled = await settle(bare.pid, { minMs: warmMs, maxMs: settleMaxMs, windowMs: settleWindowMs });
    const g0 = await genCpu(gens);
    const sample = await sampleProcess(bare.pid, sampleMs);
    const gen = ((await genCpu(gens)) - g0) / sample.wallMs * 100;
    return { command: `${bare.command} + ${n} agents on ${workers} generators, heartbeat 5 s`, connected: s.connected, ...settled, cpuPct: sample.cpuPct, rssBytes: sample.rssBytes, rssMinBytes: sample.rssMinBytes, rssMaxBytes: sample.rssMaxBytes, sampleMs: sample.wallMs, rssEmptyBytes, generatorCpuPct: gen };
  } finally {
    for (const g of gens) await g.close();
    await bare.stop();
  }
}

/**
 * The muster side: storm → steady → kill → freeze → restart → `muster nodes`.
 * `detectK` agents on their own generator are killed, as many on another are frozen.
 * Figures land in `result` as they are measured, so a failure later keeps the earlier ones.
 */
/**
 * To measure alternatives: `keepaliveS`, the agents' MQTT keepalive (default: a real agent's at
 * their heartbeat interval); `deadAfterMissed`, the controller's heartbeat.deadAfterMissed
 * (default: its own); `heartbeatMs`, the agents' heartbeat interval and the controller's
 * heartbeat.interval (default 5 s, the bare peer's).
 */
export async function musterCluster({ n, workers, detectK, warmMs, settleMaxMs, settleWindowMs, sampleMs, log, result = {}, keepaliveS = null, deadAfterMissed = null, heartbeatMs = null }) {
  const data = tempDir('muster-bench-data-');
  const width = Math.max(5, String(n).length);
  const pattern = `n[${'1'.padStart(width, '0')}-${String(n).padStart(width, '0')}]`;
  const config = writeControllerConfig(data.dir, { naming: pattern });
  heartbeatMs ??= HEARTBEAT_MS;
  const policy = [...(heartbeatMs !== HEARTBEAT_MS ? [`    interval: ${heartbeatMs}ms`] : []), ...(deadAfterMissed !== null ? [`    suspectAfterMissed: ${deadAfterMissed - 1}`, `    deadAfterMissed: ${deadAfterMissed}`] : [])];
  if (policy.length) appendFileSync(config.path, ['policies:', '  heartbeat:', ...policy, ''].join('\n'));
  const args = ['--config', config.path, '--dry-run'];
  keepaliveS ??= (await loadProtocol()).keepaliveSeconds(heartbeatMs);
  Object.assign(result, { n, namingRule: `muster naming on ${pattern} (config file)`, auth: 'agents: bootstrap token', keepaliveS, heartbeatMs, deadAfterMissed: deadAfterMissed ?? 'default' });
  let muster = await startMuster({ dataDir: join(data.dir, 'data'), args });
  result.startEmptyMs = muster.readyMs;
  await sleep(1000);
  result.rssEmptyBytes = rssBytes(muster.pid);
  result.controllerCommand = muster.command;
  const main = await spawnGenerators({ count: n - 2 * detectK, workers, label: 'gen' });
  const [killGen] = await spawnGenerators({ first: n - 2 * detectK + 1, count: detectK, workers: 1, label: 'kill' });
  const [freezeGen] = await spawnGenerators({ first: n - detectK + 1, count: detectK, workers: 1, label: 'freeze' });
  const gens = [...main, killGen, freezeGen];
  const obs = await Observer.connect(muster.mqttUrl, ['muster/events/assigned', 'muster/events/transition']);
  const nodeOf = new Map();
  const dead = new Map();
  /** Every `dead` transition, in order: the ones on nodes never killed nor frozen are false. */
  const deadEvents = [];
  let lastAssignedAt = 0;
  obs.on((topic, payload, at) => {
    const e = JSON.parse(payload.toString());
    if (e.kind === 'assigned') {
      nodeOf.set(e.agentId, e.node);
      lastAssignedAt = at;
    } else if (e.kind === 'transition' && e.details.axis === 'liveness' && e.details.to === 'dead') {
      deadEvents.push({ node: e.node, at, cause: e.details.cause });
      if (!dead.has(e.node)) dead.set(e.node, at);
    }
  });
  const drilled = new Set();
  try {
    // ---- 3. discovery storm
    log(`storm: ${n} agents on ${gens.length} generators → ${muster.mqttUrl}`);
    // Scraping resets prom-client's event-loop-delay histogram: the next scrape gives the storm's max.
    const writes0 = await scrapeMetric(muster.adminUrl, 'muster_store_write_seconds_count');
    const overflow0 = listenOverflows();
    // From a process of its own: this one parses every event and reads the store file whole.
    const pinger = await forkPinger(muster.mqttUrl);
    const cpu0 = await genCpu(gens);
    const s = await storm(gens, muster.mqttUrl, 200, config.token, keepaliveS, heartbeatMs);
    const allAssigned = await until(() => nodeOf.size >= n, 120_000);
    const storePath = join(data.dir, 'data', 'store.json');
    let persistedAt = null;
    let lastMtime = 0;
    await until(() => {
      const st = statSync(storePath, { throwIfNoEntry: false });
      if (!st || st.mtimeMs === lastMtime) return false;
      lastMtime = st.mtimeMs;
      const d = JSON.parse(readFileSync(storePath, 'utf8'));
      const bound = Object.values(d.nodes).filter((x) => x.agentId).length;
      if (bound >= n) persistedAt = st.mtimeMs;
      return bound >= n;
    }, 120_000, 250);
    const { rtts, loopDelayMaxMs: pingerLoopDelayMaxMs } = await pinger.stop();
    const lagMax = await scrapeMetric(muster.adminUrl, 'muster_process_nodejs_eventloop_lag_max_seconds');
    const writes = (await scrapeMetric(muster.adminUrl, 'muster_store_write_seconds_count')) - writes0;
    const writeSum = await scrapeMetric(muster.adminUrl, 'muster_store_write_seconds_sum');
    Object.assign(result, {
      storm: {
        connected: s.connected,
        helloWindowS: (s.lastHello - s.firstHello) / 1000,
        allIdentified: allAssigned,
        identified: nodeOf.size,
        identifiedAfterLastHelloS: (lastAssignedAt - s.lastHello) / 1000,
        persistedAfterLastHelloS: persistedAt === null ? null : (persistedAt - s.lastHello) / 1000,
        storeWrites: writes,
        storeWriteMeanMs: writes > 0 ? (writeSum / (writes + writes0)) * 1000 : null,
        listenOverflows: listenOverflows() - overflow0,
        connectRetries: s.connectRetries,
        connectFailures: s.connectFailures,
        slowConnects: s.slowConnects,
        connectMsMax: s.connectMsMax,
        eventLoopDelayMaxMs: lagMax * 1000,
        pingRttMaxMs: Math.max(...rtts),
        pingRttP99Ms: percentile(rtts, 99),
        pings: rtts.length,
        pingerEventLoopDelayMaxMs: pingerLoopDelayMaxMs,
        generatorCpuMs: (await genCpu(gens)) - cpu0,
      },
    });
    log(`storm: ${JSON.stringify(result.storm)}`);

    // ---- 2. steady state (heartbeats run since each hello), once the storm's garbage is gone
    const settled = await settle(muster.pid, { minMs: warmMs, maxMs: settleMaxMs, windowMs: settleWindowMs });
    const g0 = await genCpu(gens);
    const sample = await sampleProcess(muster.pid, sampleMs);
    result.steady = { ...settled, cpuPct: sample.cpuPct, rssBytes: sample.rssBytes, rssMinBytes: sample.rssMinBytes, rssMaxBytes: sample.rssMaxBytes, sampleMs: sample.wallMs, generatorCpuPct: (((await genCpu(gens)) - g0) / sample.wallMs) * 100 };
    // After the sample: a scrape refreshes per-node gauges, which is itself a cost worth knowing.
    const s0 = performance.now();
    result.steady.heapUsedBytes = await scrapeMetric(muster.adminUrl, 'muster_process_nodejs_heap_size_used_bytes');
    result.steady.metricsScrapeMs = performance.now() - s0;
    log(`steady: ${JSON.stringify(result.steady)}`);

    // ---- 4a. kill: the sockets close, the broker sends the wills
    const killNodes = agentNodes(killGen, nodeOf);
    for (const x of killNodes) drilled.add(x);
    const tKill = Date.now();
    killGen.signal('SIGKILL');
    await until(() => killNodes.every((x) => dead.has(x)), 15_000);
    result.kill = latencies(killNodes, dead, tKill);
    log(`kill: ${JSON.stringify(result.kill)}`);

    // ---- 4b. freeze: no will, the socket stays open, nothing more is sent
    const freezeNodes = agentNodes(freezeGen, nodeOf);
    for (const x of freezeNodes) drilled.add(x);
    const tFreeze = Date.now();
    freezeGen.signal('SIGSTOP');
    await until(() => freezeNodes.every((x) => dead.has(x)), (4 * heartbeatMs) + 30_000);
    result.freeze = latencies(freezeNodes, dead, tFreeze);
    log(`freeze: ${JSON.stringify(result.freeze)}`);
    result.falseDead = falseDead(deadEvents, drilled);
    log(`false dead (storm, steady, drills): ${JSON.stringify(result.falseDead)}`);
  } catch (err) {
    data.remove();
    throw err;
  } finally {
    await obs.close().catch(() => {});
    for (const g of gens) await g.close();
    await muster.stop();
  }

  // ---- 5. restart on the N-node store; `muster nodes`
  try {
    muster = await startMuster({ dataDir: join(data.dir, 'data'), args });
    result.startFullMs = muster.readyMs;
    result.startCommand = muster.command;
    const cliArgs = [musterBin, '--controller', muster.mqttUrl, 'nodes'];
    // The floor: the CLI's own start-up, no controller involved.
    result.cliFloorMs = (await medianRun([musterBin, '--help'])).firstOutputMs;
    result.nodesCli = { command: `muster --controller URL nodes  (${n} nodes; median of ${CLI_RUNS} runs)`, ...(await medianRun(cliArgs)) };
    result.nodesCliJson = { command: `muster --controller URL nodes --json  (median of ${CLI_RUNS} runs)`, ...(await medianRun([...cliArgs, '--json'])) };
    log(`restart ${result.startFullMs.toFixed(0)} ms; nodes ${JSON.stringify(result.nodesCli)}`);
  } finally {
    await muster.stop();
    data.remove();
  }
  return result;
}

function agentNodes(gen, nodeOf) {
  const ids = [];
  for (let i = gen.first; i < gen.first + gen.count; i++) ids.push(`mac-02000000${hex(i >> 8)}${hex(i)}`);
  return ids.map((id) => nodeOf.get(id)).filter(Boolean);
}
const hex = (x) => (x & 0xff).toString(16).padStart(2, '0');

/** `dead` transitions on nodes the bench never killed nor froze, with their causes. */
function falseDead(deadEvents, drilled) {
  const wrong = deadEvents.filter((e) => !drilled.has(e.node));
  const causes = {};
  for (const e of wrong) {
    const cause = e.cause?.startsWith('will') ? 'will' : 'silence';
    causes[cause] = (causes[cause] ?? 0) + 1;
  }
  return { count: wrong.length, nodes: new Set(wrong.map((e) => e.node)).size, causes };
}

function latencies(nodes, dead, t0) {
  const ms = nodes.filter((x) => dead.has(x)).map((x) => dead.get(x) - t0);
  return { agents: nodes.length, dead: ms.length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), maxMs: Math.max(...ms) };
}

/** A CLI start-up varies by a few hundred ms from run to run on a shared machine: one run is no figure. */
const CLI_RUNS = 5;

/** The run of `args` with the median time to first output, of CLI_RUNS runs in a row. */
async function medianRun(args) {
  const runs = [];
  for (let i = 0; i < CLI_RUNS; i++) runs.push(await firstOutput(args));
  runs.sort((a, b) => a.firstOutputMs - b.firstOutputMs);
  return runs[CLI_RUNS >> 1];
}

/** Spawns a CLI command; ms to its first byte of stdout and to its exit. */
function firstOutput(args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = null;
    let bytes = 0;
    let err = '';
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    child.stdout.on('data', (d) => {
      first ??= performance.now() - t0;
      bytes += d.length;
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve({ firstOutputMs: first, totalMs: performance.now() - t0, bytes }) : reject(new Error(`${args.slice(1).join(' ')} failed (${code}): ${err}`))));
  });
}
