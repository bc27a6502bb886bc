// Figure 10 (federation, on sockets): several Mosquitto brokers, a throwaway PostgreSQL and N
// `muster controller` processes with `federation:`, `store: postgres://…` and `brokers: [...]`,
// with as many simulated agents as the machine holds, heartbeating as in the single-controller
// run. Measures each controller's, each broker's and PostgreSQL's CPU and RSS over a steady window
// once every agent is identified and every node is alive by its owner's runtime in the store.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { spawnGenerators } from '../lib/generators.mjs';
import { Observer } from '../lib/observer.mjs';
import { loadProtocol } from '../lib/protocol.mjs';
import { cpuMs, rssBytes, sampleProcess, settle } from '../lib/procstat.mjs';
import { children, musterBin, startMosquitto, startMuster, tempDir, writeControllerConfig } from '../lib/targets.mjs';
import { HEARTBEAT_MS, genCpu, storm, until } from './cluster.mjs';

/** Mosquitto and a generator hold one descriptor per agent; the per-process limit here is 20,000. */
const AGENTS_PER_PROCESS = 15_000;
/** Source addresses 127.0.0.2… the agents are spread over. */
const SOURCE_ADDRESSES = 200;
/**
 * Mosquitto keeps at most 1,000 QoS 1 messages queued per client by default and drops the rest: a
 * controller behind by more during the storm loses hellos, and their agents stay unidentified
 * (docs/federation.md, *Several Mosquitto brokers*).
 */
const BROKER_SETTINGS = ['max_queued_messages 100000'];
/** simFingerprint's MAC holds 16 bits of the agent's number. */
const MAX_AGENTS = 65_535;

/**
 * `controllers` controllers, `brokers` brokers, `agents` agents on at least `workers` generators.
 * Nodes are defined through the admin path (`muster import` of a CSV of names and MACs, on the
 * first controller alone) and bound through the real one (hello → identification by MAC).
 * Figures land in `result` as they are measured.
 */
export async function federationSockets({ controllers, brokers, agents, workers, warmMs, settleMaxMs, settleWindowMs, sampleMs, log, result = {} }) {
  if (agents > MAX_AGENTS) throw new Error(`federation sockets: ${agents} agents; the simulated MACs number at most ${MAX_AGENTS}`);
  if (agents / brokers > AGENTS_PER_PROCESS) throw new Error(`federation sockets: ${agents} agents on ${brokers} brokers is more than ${AGENTS_PER_PROCESS} per broker (file limit 20,000 per process)`);
  const { startPostgres, keepaliveSeconds, simFingerprint, ownerOf } = await loadProtocol();
  const tmp = tempDir('muster-bench-fed-');
  const started = { postgres: null, brokers: [], controllers: [], gens: [], observer: null };
  Object.assign(result, { controllers, brokers, agents, heartbeatMs: HEARTBEAT_MS });
  try {
    const server = await startPostgres();
    started.postgres = server;
    children.add(server.proc.child);
    const store = await server.createDatabase();
    for (let b = 0; b < brokers; b++) {
      const broker = await startMosquitto({ settings: BROKER_SETTINGS });
      started.brokers.push({ ...broker, rssStartBytes: rssBytes(broker.pid) });
    }
    const brokerUrls = started.brokers.map((b) => b.mqttUrl);

    // ---- nodes: defined on the first controller alone (a request on a broker reaches every controller)
    const width = String(agents).length;
    const name = (i) => `n${String(i).padStart(width, '0')}`;
    const csv = join(tmp.dir, 'nodes.csv');
    writeFileSync(csv, ['name,macs', ...Array.from({ length: agents }, (_, k) => `${name(k + 1)},${simFingerprint(k + 1).bootMac}`)].join('\n') + '\n');
    const first = await startController(tmp.dir, 1, store, brokerUrls);
    started.controllers.push(first);
    const t0 = performance.now();
    execFileSync(process.execPath, [musterBin, '--controller', brokerUrls[0], '--timeout', '300', 'import', csv], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
    const db = new pg.Client({ connectionString: store });
    await db.connect();
    try {
      const count = async () => Number((await db.query('SELECT count(*) AS n FROM nodes')).rows[0].n);
      if (!(await until(async () => (await count()) >= agents, 120_000, 500))) throw new Error(`federation sockets: ${await count()} of ${agents} nodes in the database 120 s after the import`);
      result.importMs = performance.now() - t0;
      // The others start on the N-node database: their start-up is a figure too.
      await Promise.all(Array.from({ length: controllers - 1 }, async (_, k) => started.controllers.push(await startController(tmp.dir, k + 2, store, brokerUrls))));
      started.controllers.sort((a, b) => a.k - b.k);
      result.startFullMs = started.controllers.slice(1).map((c) => c.readyMs);
      result.controllerCommand = first.command;
      const ids = started.controllers.map((c) => c.id);
      // Shared once every partition's row names the owner rendezvous hashing gives it among them all.
      const owners = async () => (await db.query('SELECT partition, owner FROM partitions')).rows;
      result.partitionsAsRendezvous = await until(async () => (await owners()).every((r) => r.owner === ownerOf(r.partition, ids)), 90_000, 1000);
      result.partitions = {};
      for (const r of await owners()) result.partitions[r.owner] = (result.partitions[r.owner] ?? 0) + 1;
      if (!result.partitionsAsRendezvous) log(`federation sockets: the partitions are not yet shared as rendezvous hashing says after 90 s; measuring anyway`);
    } finally {
      await db.end();
    }
    log(`federation sockets: ${controllers} controllers up, partitions ${JSON.stringify(result.partitions)}`);
    await new Promise((r) => setTimeout(r, 1000));

    // ---- agents: generator g's agents have the broker list starting at broker g mod B
    const gens = await spawnGenerators({ count: agents, workers: Math.max(workers, brokers * Math.ceil(agents / brokers / AGENTS_PER_PROCESS)), label: 'fed' });
    started.gens = gens;
    gens.forEach((g, k) => (g.mqttUrl = brokerUrls[k % brokers]));
    const obs = await Observer.connect(brokerUrls[0], ['muster/events/assigned', 'muster/events/transition']);
    started.observer = obs;
    const bound = new Set();
    let deadEvents = 0;
    obs.on((_topic, payload) => {
      const e = JSON.parse(payload.toString());
      if (e.kind === 'assigned') bound.add(e.agentId);
      else if (e.kind === 'transition' && e.details.axis === 'liveness' && e.details.to === 'dead') deadEvents++;
    });
    log(`federation sockets: ${agents} agents on ${gens.length} generators → ${brokers} brokers`);
    const s = await storm(gens, null, 200, null, keepaliveSeconds(HEARTBEAT_MS), HEARTBEAT_MS, SOURCE_ADDRESSES);
    log(`federation sockets: ${s.connected} connected, ${bound.size} identified`);
    let lastLog = performance.now();
    const progress = (done, what) => {
      if (performance.now() - lastLog >= 15_000) (lastLog = performance.now()), log(`federation sockets: ${what()}`);
      return done;
    };
    const allBound = await until(() => progress(bound.size >= agents, () => `${bound.size} identified`), 120_000 + agents * 5);
    // Alive by their owners' runtime in the database: a federated controller's /metrics took 35 s at 10,000 nodes.
    let alive = 0;
    const allAlive = await until(async () => progress((alive = await aliveInStore(store)) >= agents, () => `${alive} alive in the store`), 180_000, 5000);
    result.storm = { connected: s.connected, connectRetries: s.connectRetries, connectFailures: s.connectFailures, helloWindowS: (s.lastHello - s.firstHello) / 1000, identified: bound.size, allIdentified: allBound, aliveInStore: alive, allAlive, generators: gens.length, sourceAddresses: SOURCE_ADDRESSES, agentsPerBroker: started.brokers.map((_, b) => gens.filter((_g, k) => k % brokers === b).reduce((a, g) => a + g.count, 0)) };
    log(`federation sockets storm: ${JSON.stringify(result.storm)}`);
    if (!allBound) throw new Error(`federation sockets: ${bound.size}/${agents} identified: no steady state to measure`);
    // Not all alive in the store: the controllers are behind on their writes. Measured anyway, and said so.
    if (!allAlive) {
      log(`federation sockets: only ${alive} of ${agents} alive in the store after 180 s; measuring the controllers as they are`);
      result.notAlive = await notAliveByOwner(store);
      log(`federation sockets: the nodes not alive, by owner: ${JSON.stringify(result.notAlive)}`);
      for (const c of started.controllers) log(`federation sockets: ${c.id}'s last warnings and errors:\n${lastComplaints(c.output())}`);
    }

    // ---- steady window, once every controller's storm garbage is gone
    const settled = await Promise.all(started.controllers.map((c) => settle(c.pid, { minMs: warmMs, maxMs: settleMaxMs, windowMs: settleWindowMs })));
    const epochs = async () => Number((await queryOnce(store, 'SELECT sum(epoch)::int AS n FROM partitions')).n);
    const epochs0 = await epochs();
    const dead0 = deadEvents;
    const g0 = await genCpu(gens);
    const pg0 = treeCpuMs(server.proc.child.pid);
    const [ctl, brk] = await Promise.all([Promise.all(started.controllers.map((c) => sampleProcess(c.pid, sampleMs))), Promise.all(started.brokers.map((b) => sampleProcess(b.pid, sampleMs)))]);
    const pg1 = treeCpuMs(server.proc.child.pid);
    const wallMs = ctl[0].wallMs;
    const per10k = (x) => (x * 10_000) / agents;
    // RSS per 10,000 nodes beyond an empty process's (its fixed cost): a broker's own at start, for
    // every controller the first one's, started on the empty database (the others start on the nodes).
    const row = (x, emptyBytes, extra) => ({ ...extra, cpuPct: x.cpuPct, cpuPctPer10k: per10k(x.cpuPct), rssBytes: x.rssBytes, rssEmptyBytes: emptyBytes, rssBytesPer10k: per10k(x.rssBytes - emptyBytes), rssMinBytes: x.rssMinBytes, rssMaxBytes: x.rssMaxBytes });
    const total = (xs) => ({ cpuPct: sum(xs.map((x) => x.cpuPct)), cpuPctPer10k: sum(xs.map((x) => x.cpuPctPer10k)), rssBytes: sum(xs.map((x) => x.rssBytes)), rssBytesPer10k: sum(xs.map((x) => x.rssBytesPer10k)) });
    result.steady = {
      sampleMs: wallMs,
      settled: settled.map((x) => x.settled),
      settledMs: Math.max(...settled.map((x) => x.settledMs)),
      controllers: ctl.map((x, k) => row(x, started.controllers[0].rssStartBytes, { id: started.controllers[k].id, partitions: result.partitions[started.controllers[k].id] })),
      brokers: brk.map((x, k) => row(x, started.brokers[k].rssStartBytes, { url: brokerUrls[k], agents: result.storm.agentsPerBroker[k] })),
      postgresCpuPct: ((pg1.ms - pg0.ms) / wallMs) * 100,
      postgresProcesses: pg1.pids,
      generatorCpuPct: (((await genCpu(gens)) - g0) / wallMs) * 100,
      aliveInStoreBefore: alive,
      aliveInStoreAfter: await aliveInStore(store),
      deadDuringSample: deadEvents - dead0,
      // Claims during the sample: each raises a partition's epoch by one; a steady site makes none.
      claimsDuringSample: (await epochs()) - epochs0,
      deadSinceStorm: deadEvents,
    };
    result.steady.controllersTotal = total(result.steady.controllers);
    result.steady.brokersTotal = total(result.steady.brokers);
    log(`federation sockets steady: ${JSON.stringify(result.steady)}`);
    result.command = `${controllers} × ${result.controllerCommand}; ${brokers} × ${started.brokers[0].command}; PostgreSQL (test/helpers/postgres-server.ts: Debian's, fsync off); ${agents} agents on ${gens.length} generators from ${SOURCE_ADDRESSES} source addresses, heartbeat ${HEARTBEAT_MS / 1000} s`;
    return result;
  } finally {
    await started.observer?.close().catch(() => {});
    for (const g of started.gens) await g.close();
    await Promise.all(started.controllers.map((c) => c.stop()));
    await Promise.all(started.brokers.map((b) => b.stop()));
    await started.postgres?.stop();
    tmp.remove();
  }
}

/** Controller k (id ck) on the shared database and brokers; `--dry-run`: power goes nowhere. */
async function startController(dir, k, store, brokerUrls) {
  const own = join(dir, `c${k}`);
  mkdirSync(own);
  const config = writeControllerConfig(own, { externalBroker: true });
  appendFileSync(config.path, [`store: ${store}`, `brokers: [${brokerUrls.join(', ')}]`, 'federation:', `  id: c${k}`, ''].join('\n'));
  const c = await startMuster({ dataDir: join(own, 'data'), args: ['--config', config.path, '--dry-run'] });
  return { ...c, k, id: `c${k}`, rssStartBytes: rssBytes(c.pid) };
}

/** The first row of one query on a connection of its own. */
async function queryOnce(url, sql) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return (await db.query(sql)).rows[0];
  } finally {
    await db.end();
  }
}

/** Nodes whose runtime row says alive: each written by the node's owner (docs/federation.md, *Runtime, by owner*). */
const aliveInStore = async (url) => (await queryOnce(url, "SELECT count(*)::int AS n FROM nodes WHERE record->'runtime'->>'liveness' = 'alive'")).n;

/**
 * The nodes not alive in the store, counted by their partition's owner and by what the rows say of
 * their binding: the node row's agent, and whether that agent's row names the node back. Tells a
 * controller that never heard its agents from bindings that never reached the node rows.
 */
async function notAliveByOwner(url) {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const { partitionOf } = await loadProtocol();
    const owners = new Map((await db.query('SELECT partition, owner FROM partitions')).rows.map((r) => [Number(r.partition), r.owner]));
    const agentNode = new Map((await db.query("SELECT key, record->>'node' AS node FROM agents")).rows.map((r) => [r.key, r.node]));
    const rows = (await db.query("SELECT key, record->>'agentId' AS agent, record->'runtime'->>'liveness' AS liveness FROM nodes WHERE coalesce(record->'runtime'->>'liveness', '') <> 'alive'")).rows;
    const out = {};
    for (const r of rows) {
      const binding = r.agent === null ? 'node row unbound' : !agentNode.has(r.agent) ? 'no agent row' : agentNode.get(r.agent) === r.key ? 'bound both ways' : `agent row names ${agentNode.get(r.agent) ?? 'no node'}`;
      const key = `${owners.get(partitionOf(r.key)) ?? 'no owner'}: ${r.liveness ?? 'no runtime'}, ${binding}`;
      out[key] = (out[key] ?? 0) + 1;
    }
    out.agentsBoundInAgentRows = [...agentNode.values()].filter((n) => n !== null).length;
    return out;
  } finally {
    await db.end();
  }
}

/** A controller's last 20 warning and error lines (pino's JSON: level 40 and up). */
const lastComplaints = (output) =>
  output
    .split('\n')
    .filter((l) => /"level":(4|5|6)\d/.test(l))
    .slice(-20)
    .map((l) => l.slice(0, 400))
    .join('\n');

/** CPU time of a process and its children (PostgreSQL's postmaster and backends), with their count. */
function treeCpuMs(root) {
  const pids = [root];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === root) pids.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  let ms = 0;
  for (const pid of pids) {
    try {
      ms += cpuMs(pid);
    } catch {
      // exited meanwhile
    }
  }
  return { ms, pids: pids.length };
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
