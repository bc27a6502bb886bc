// muster's benchmark suite: muster against peers measured in the same run (issue 10).
//   node bench/run.mjs [--quick|--full] [--only ceiling,steady,cluster,power,journal,agent,dashboard,federation,subscriptions,federation-sockets]
// Quick (default): 1,500 agents, a few minutes. Full: the 10,000-node figures.
//   --keepalive S        the simulated agents' MQTT keepalive (default: the one a real agent asks for)
//   --dead-after N       the controller's heartbeat.deadAfterMissed (default: its own)
//   --heartbeat S        muster's agents' heartbeat interval and the controller's (default 5; the bare peer's stays 5)
//   --federation-agents N  the agents of the federation socket run (default: the mode's)
//   --nodes N            the steady/cluster parts' agent count (default: the mode's)
// Prints a table and writes bench/results.json. Build first (node scripts/build.mjs).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleProtocol } from './lib/protocol.mjs';
import { load1 } from './lib/procstat.mjs';
import { killChildren, repo } from './lib/targets.mjs';
import { TARGETS, ceiling } from './scenarios/ceiling.mjs';
import { bareSteady, musterCluster } from './scenarios/cluster.mjs';
import { dashboardFigures } from './scenarios/dashboard.mjs';
import { journalAppends } from './scenarios/journal.mjs';
import { federationSimulation } from './scenarios/federation-sim.mjs';
import { federationSockets } from './scenarios/federation-sockets.mjs';
import { powerFanout } from './scenarios/power.mjs';
import { agentSubscriptions } from './scenarios/subscriptions.mjs';
import { buildTable, formatTable } from './report.mjs';

const argv = process.argv.slice(2);
const full = argv.includes('--full');
const onlyArg = argv.find((a) => a.startsWith('--only'));
const only = onlyArg ? new Set((onlyArg.includes('=') ? onlyArg.split('=')[1] : argv[argv.indexOf(onlyArg) + 1]).split(',')) : null;
const want = (part) => !only || only.has(part);
/** The number after `--name` (or in `--name=N`), or null. */
function numberArg(name) {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return null;
  const text = argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} takes a whole number ≥ 1, got "${text}"`);
  return value;
}
const heartbeatS = numberArg('--heartbeat');
const liveness = { keepaliveS: numberArg('--keepalive'), deadAfterMissed: numberArg('--dead-after'), heartbeatMs: heartbeatS === null ? null : heartbeatS * 1000 };

// Issue 25's figure in both modes. delayMs: the sim's time per step (a cycle is 3: off, a status
// read, on), a fast BMC's round trip; stressDelayMs: the sim's default 50 ms, where muster's own
// cost per action shows.
const POWER = { nodes: 10_000, concurrency: 200, delayMs: 200, stressDelayMs: 50 };

const MODES = {
  // A 30 s steady sample: at 1,500 agents 10 s ones read the bare peer at 2.5 % in one run and ~5 % in the next.
  quick: {
    ceiling: { agents: 200, workers: 2, rates: [5000, 10000, 20000, 30000, 40000, 50000, 60000], stepMs: 3000 },
    cluster: { n: 1500, workers: 2, detectK: 100, warmMs: 6000, settleMaxMs: 60_000, settleWindowMs: 30_000, sampleMs: 30_000 },
    power: POWER,
    journal: { count: 100_000 },
    agentRuns: 20,
    dashboard: { nodes: 10_000 },
    federation: { nodes: 160_000, controllerCounts: [3, 4, 6, 8, 12, 16], trials: 30 },
    subscriptions: { agents: 10_000, brokerCounts: [1, 2] },
    federationSockets: { controllers: 3, brokers: 2, agents: 3000, workers: 2, warmMs: 6000, settleMaxMs: 60_000, settleWindowMs: 30_000, sampleMs: 30_000 },
  },
  full: {
    ceiling: { agents: 1000, workers: 2, rates: [5000, 10000, 20000, 30000, 35000, 40000, 45000, 50000, 60000, 70000, 80000], stepMs: 6000 },
    // sampleMs: between old-generation collections a steady target's RSS climbs ~1.3 MiB/s and
    // then drops ~100 MiB (a ~100 s sawtooth at 10k agents, bare aedes and muster alike), and each
    // collection is a CPU spike: a sample must span several cycles, or its mean RSS and CPU depend
    // on where in the cycle it began (120 s samples read 7.8-10.6 KiB/node on the same code).
    cluster: { n: 10_000, workers: 2, detectK: 500, warmMs: 30_000, settleMaxMs: 240_000, settleWindowMs: 60_000, sampleMs: 300_000 },
    power: POWER,
    journal: { count: 200_000 },
    agentRuns: 20,
    dashboard: { nodes: 10_000 },
    federation: { nodes: 160_000, controllerCounts: [3, 4, 6, 8, 12, 16], trials: 200 },
    subscriptions: { agents: 10_000, brokerCounts: [1, 2] },
    // 10,000 agents, as the single-controller figures: every agent identified on this machine, but
    // under other load the controllers fell behind on their store writes (docs/federation.md,
    // *Measured on sockets*); --federation-agents N to look for the most it holds.
    federationSockets: { controllers: 3, brokers: 3, agents: 10_000, workers: 3, warmMs: 30_000, settleMaxMs: 240_000, settleWindowMs: 60_000, sampleMs: 300_000 },
  },
};
const mode = full ? 'full' : 'quick';
const cfg = MODES[mode];
const nodes = numberArg('--nodes');
if (nodes !== null) cfg.cluster = { ...cfg.cluster, n: nodes, detectK: Math.min(cfg.cluster.detectK, Math.floor(nodes / 10)) };
const log = (s) => console.error(`[bench ${new Date().toISOString().slice(11, 19)} load ${load1().toFixed(1)}] ${s}`);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}
for (const ev of ['uncaughtException', 'unhandledRejection']) process.on(ev, (err) => {
  killChildren();
  console.error(err);
  process.exit(1);
});

const results = { mode, startedAt: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length, loadAtStart: load1() };
await bundleProtocol();

results.errors = {};
/** Runs one part; a part that fails (e.g. the controller died) is reported and the rest still run. */
async function part(name, fn) {
  if (!want(name)) return;
  try {
    await fn();
  } catch (err) {
    results.errors[name] = err.message;
    log(`${name} FAILED: ${err.message}`);
  }
}

await part('agent', async () => {
  log('agent: size, start → hello, RSS');
  const out = execFileSync(process.execPath, [join(repo, 'bench', 'agent-startup.mjs'), String(cfg.agentRuns)], { encoding: 'utf8' });
  results.agent = { command: `node bench/agent-startup.mjs ${cfg.agentRuns}`, ...JSON.parse(out.trim().split('\n').pop()) };
});
await part('ceiling', async () => {
  results.ceiling = [];
  for (const target of Object.keys(TARGETS)) {
    log(`ceiling: ${target}`);
    results.ceiling.push(await ceiling({ target, ...cfg.ceiling, log }));
  }
});
await part('steady', async () => {
  log(`steady: bare aedes with ${cfg.cluster.n} agents`);
  results.bareSteady = await bareSteady(cfg.cluster);
});
await part('cluster', async () => {
  log(`cluster: muster with ${cfg.cluster.n} agents`);
  results.cluster = {};
  await musterCluster({ ...cfg.cluster, ...liveness, log, result: results.cluster });
});
await part('power', async () => {
  const { stressDelayMs, ...power } = cfg.power;
  results.power = await powerFanout({ ...power, log });
  results.powerStress = await powerFanout({ ...power, delayMs: stressDelayMs, log });
});
await part('journal', async () => (results.journal = await journalAppends(cfg.journal)));
await part('dashboard', async () => {
  log(`dashboard: ${cfg.dashboard.nodes} synthetic nodes in Chromium`);
  results.dashboard = await dashboardFigures({ ...cfg.dashboard, log });
});
await part('federation', async () => {
  log(`federation: ${cfg.federation.nodes} nodes, failover simulated`);
  results.federationSim = await federationSimulation({ ...cfg.federation, log });
});
await part('subscriptions', async () => (results.subscriptions = await agentSubscriptions({ ...cfg.subscriptions, log })));
await part('federation-sockets', async () => {
  const f = { ...cfg.federationSockets, agents: numberArg('--federation-agents') ?? cfg.federationSockets.agents };
  log(`federation sockets: ${f.controllers} controllers, ${f.brokers} Mosquitto brokers, PostgreSQL, ${f.agents} agents`);
  results.federationSockets = {};
  await federationSockets({ ...f, log, result: results.federationSockets });
});
results.loadAtEnd = load1();
results.finishedAt = new Date().toISOString();

results.table = buildTable(results);
const out = join(repo, 'bench', 'results.json');
writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
console.log(formatTable(results));
console.log(`\nwritten: ${out}`);
