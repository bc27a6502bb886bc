// A generator process (forked by bench/lib/generators.mjs): holds a slice of the simulated agents
// and drives them on command over IPC. Reports its own CPU time so the reader can see it was not
// the bottleneck. Commands: connect, steady, quiet, rate, probe, stats, end.
import { randomBytes } from 'node:crypto';
import { loadProtocol, agentIdOf } from './protocol.mjs';
import { SimAgent } from './sim-agent.mjs';

const { AgentMessages, simFingerprint, Topics } = await loadProtocol();
const topics = new Topics();
/** @type {SimAgent[]} */
let agents = [];
const counters = { sent: 0, connectRetries: 0, connectFailures: 0, slowConnects: 0, connectMsMax: 0 };
let steadyTimer = null;
let pingTimer = null;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Connects `count` agents numbered from `first`, `concurrency` at a time; each says hello on
 * CONNACK. With `heartbeatMs`, heartbeats start at once, as a real agent's do (agents still
 * waiting for their connection skip their turn). With `sourceAddresses` n, agent i connects from
 * 127.0.0.(2 + i mod n): each source address has its own ~28,000 ephemeral ports to a broker.
 */
async function connect({ host, port, token = null, first, count, concurrency, keepaliveS, phase, heartbeatMs = null, sourceAddresses = 0 }) {
  agents = [];
  for (let i = first; i < first + count; i++) {
    const fingerprint = simFingerprint(i);
    const agentId = agentIdOf(fingerprint);
    const messages = new AgentMessages({ agentId, bootId: randomBytes(16).toString('hex'), agentVersion: 'bench', fingerprint }, { now: Date.now, uptime: () => process.uptime() });
    agents.push(new SimAgent({ host, port, localAddress: sourceAddresses ? `127.0.0.${2 + (i % sourceAddresses)}` : undefined, agentId, token, messages, topics, keepaliveS, phase }));
  }
  // Sessions stay up on PINGREQ while no heartbeats flow (also during a long connect storm): as
  // mqtt.js does, after a keepalive with nothing sent (checked each second; the broker allows 1.5×).
  pingTimer ??= setInterval(() => {
    const now = Date.now();
    for (const a of agents) if (now - a.lastSent >= keepaliveS * 1000) a.ping();
  }, 1000);
  if (heartbeatMs) steady({ intervalMs: heartbeatMs });
  let next = 0;
  const lane = async () => {
    while (next < agents.length) {
      const a = agents[next++];
      for (let attempt = 0; ; attempt++) {
        try {
          await a.connect();
          break;
        } catch (err) {
          if (attempt >= 5) {
            counters.connectFailures++;
            process.send({ log: err.message });
            break;
          }
          counters.connectRetries++;
          await sleep(1000);
        }
      }
      // With a full listen queue the kernel drops the SYN and the client retries after ≥ 1 s.
      if (a.connectMs >= 1000) counters.slowConnects++;
      counters.connectMsMax = Math.max(counters.connectMsMax, a.connectMs ?? 0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const hellos = agents.map((a) => a.helloAt).filter((t) => t !== null);
  return { connected: agents.filter((a) => a.connected).length, firstHello: Math.min(...hellos), lastHello: Math.max(...hellos), helloTimes: hellos };
}

/** Every agent (except the first `skip`, the probes) heartbeats once per interval, spread evenly. */
function steady({ intervalMs, skip = 0 }) {
  quiet();
  const tickMs = 50;
  const buckets = Math.max(1, Math.round(intervalMs / tickMs));
  let tick = 0;
  steadyTimer = setInterval(() => {
    const b = tick++ % buckets;
    for (let i = skip + b; i < agents.length; i += buckets) if (agents[i].heartbeat() !== false) counters.sent++;
  }, tickMs);
  return {};
}

function quiet() {
  if (steadyTimer) clearInterval(steadyTimer);
  steadyTimer = null;
  return {};
}

/** Heartbeats at `perSec` in total over the agents (round robin, probes skipped) for `ms`. */
async function rate({ perSec, ms, skip = 0 }) {
  quiet();
  const pool = agents.slice(skip).filter((a) => a.connected);
  let sent = 0;
  let k = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - t0 < ms) {
    const due = Math.floor(((performance.now() - t0) / 1000) * perSec);
    while (sent < due) {
      pool[k++ % pool.length].heartbeat();
      sent++;
    }
    await sleep(5);
  }
  counters.sent += sent;
  const cpu = process.cpuUsage(cpu0);
  return { sent, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0 };
}

function probe({ index, phase }) {
  const a = agents[index];
  a.setPhase(phase);
  return { agentId: a.o.agentId, at: Date.now() };
}

function stats() {
  const cpu = process.cpuUsage();
  return { ...counters, connected: agents.filter((a) => a.connected).length, cpuMs: (cpu.user + cpu.system) / 1000, rssBytes: process.memoryUsage.rss() };
}

function end() {
  quiet();
  if (pingTimer) clearInterval(pingTimer);
  for (const a of agents) a.end();
  setTimeout(() => process.exit(0), 200);
  return {};
}

const commands = { connect, steady, quiet, rate, probe, stats, end };
process.on('message', async ({ id, cmd, args }) => {
  try {
    const fn = commands[cmd];
    if (!fn) throw new Error(`generator: unknown command ${cmd}`);
    process.send({ id, ok: true, value: await fn(args ?? {}) });
  } catch (err) {
    process.send({ id, ok: false, error: err.message });
  }
});
process.send({ ready: true });
