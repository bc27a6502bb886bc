// Figure 1: the highest heartbeat rate a target ingests with no loss and p99 latency < 1 s.
// Rates rise step by step until one fails twice. Loss: what the target counted (muster: its
// muster_messages_total{kind="heartbeat"}; a peer: its JSON subscriber) against what was sent.
// Latency: a probe agent changes phase every 100 ms during the step; the time until the effect
// is seen on the wire (muster: the transition event; a peer: the subscriber's echo).
import { join } from 'node:path';
import { spawnGenerators } from '../lib/generators.mjs';
import { Observer, scrapeMetric } from '../lib/observer.mjs';
import { cpuMs, percentile } from '../lib/procstat.mjs';
import { startBareAedes, startJsonSubscriber, startMosquitto, startMuster, tempDir, writeControllerConfig } from '../lib/targets.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PROBE_EVERY_MS = 100;

/** The four targets: each start() gives { url, count(), cpuPid, probeFilter, isProbeEcho, stop }. */
export const TARGETS = {
  'bare aedes': async () => {
    const bare = await startBareAedes();
    return { command: bare.command, url: bare.mqttUrl, cpuPids: [bare.pid], count: async () => (await bare.stats()).parsed, echo: echoFilter, stop: () => bare.stop() };
  },
  'muster (embedded aedes)': async (agents) => muster([], agents),
  'mosquitto + JSON subscriber': async () => {
    const mosq = await startMosquitto();
    const sub = await startJsonSubscriber(mosq.mqttUrl);
    return { command: `${mosq.command} + node bench/lib/json-subscriber.mjs`, url: mosq.mqttUrl, cpuPids: [mosq.pid, sub.pid], count: async () => (await sub.stats()).parsed, echo: echoFilter, stop: async () => (await sub.stop(), await mosq.stop()) };
  },
  'muster --broker mosquitto': async (agents) => {
    const mosq = await startMosquitto();
    const m = await muster(['--broker', mosq.mqttUrl], agents);
    return { ...m, command: `${m.command}; ${mosq.command}`, cpuPids: [...m.cpuPids, mosq.pid], stop: async () => (await m.stop(), await mosq.stop()) };
  },
};

const echoFilter = {
  filter: 'bench/echo',
  match: (topic, e, probe) => topic === 'bench/echo' && e.topic.includes(probe.agentId) && e.phase === probe.phase,
};

async function muster(args, agents) {
  const data = tempDir('muster-bench-ceiling-');
  const config = writeControllerConfig(data.dir, { naming: `c[00001-${String(agents).padStart(5, '0')}]`, externalBroker: args[0] === '--broker' });
  const m = await startMuster({ dataDir: join(data.dir, 'data'), args: ['--config', config.path, '--dry-run', ...args] });
  return {
    command: m.command,
    url: args[0] === '--broker' ? args[1] : m.mqttUrl,
    controllerUrl: m.mqttUrl,
    cpuPids: [m.pid],
    token: config.token,
    count: () => scrapeMetric(m.adminUrl, 'muster_messages_total', 'kind="heartbeat"').then((x) => (Number.isNaN(x) ? 0 : x)),
    echo: {
      filter: 'muster/events/transition',
      match: (topic, e, probe) => e.agentId === null && e.details?.axis === 'phase' && e.details.to === probe.phase && e.node === probe.node,
    },
    nodeOf: true,
    stop: async () => (await m.stop(), data.remove()),
  };
}

/**
 * @param {{ target: string, agents: number, workers: number, rates: number[], stepMs: number, log: (s: string) => void }} o
 */
export async function ceiling({ target, agents, workers, rates, stepMs, log }) {
  const t = await TARGETS[target](agents);
  const gens = await spawnGenerators({ count: agents, workers });
  const obs = await Observer.connect(t.controllerUrl ?? t.url, [t.echo.filter, 'muster/events/assigned']);
  const steps = [];
  try {
    const nodeOf = new Map();
    obs.on((topic, payload) => {
      if (topic === 'muster/events/assigned') {
        const e = JSON.parse(payload.toString());
        nodeOf.set(e.agentId, e.node);
      }
    });
    const { hostname: host, port } = new URL(t.url);
    await Promise.all(gens.map((g) => g.call('connect', { host, port: Number(port), token: t.token ?? null, first: g.first, count: g.count, concurrency: 100, keepaliveS: 60, phase: 'run' })));
    if (t.nodeOf) for (let i = 0; i < 600 && nodeOf.size < agents; i++) await sleep(100);
    // The probe is the first agent of the first generator; it sends no heartbeats.
    const probeAgentId = (await gens[0].call('probe', { index: 0, phase: 'run' })).agentId;
    let phase = 'run';
    await sleep(500);
    const queue = [...rates];
    let lastOk = 0;
    let refined = false;
    for (let rate = queue.shift(); rate !== undefined; rate = queue.shift()) {
      const before = await t.count();
      const cpu0 = t.cpuPids.map(cpuMs);
      const gcpu0 = (await Promise.all(gens.map((g) => g.call('stats')))).reduce((a, s) => a + s.cpuMs, 0);
      const lat = [];
      let probesSent = 0;
      let probing = true;
      const prober = (async () => {
        while (probing) {
          phase = phase === 'run' ? 'init' : 'run';
          const probe = { agentId: probeAgentId, node: nodeOf.get(probeAgentId), phase };
          const seen = new Promise((resolve) => {
            const off = obs.on((topic, payload, at) => {
              if (topic !== t.echo.filter) return;
              if (t.echo.match(topic, JSON.parse(payload.toString()), probe)) {
                off();
                resolve(at);
              }
            });
            setTimeout(() => (off(), resolve(null)), 10_000);
          });
          const { at } = await gens[0].call('probe', { index: 0, phase });
          probesSent++;
          const got = await seen;
          lat.push(got === null ? 10_000 : got - at);
          await sleep(PROBE_EVERY_MS);
        }
      })();
      const t0 = performance.now();
      const sent = (await Promise.all(gens.map((g, i) => g.call('rate', { perSec: rate / gens.length, ms: stepMs, skip: i === 0 ? 1 : 0 })))).reduce((a, r) => a + r.sent, 0);
      const sendMs = performance.now() - t0;
      // Let the backlog drain: count until it stops moving (or everything arrived).
      let counted = (await t.count()) - before;
      for (let still = 0; counted < sent && still < 10; ) {
        await sleep(500);
        const c = (await t.count()) - before;
        still = c === counted ? still + 1 : 0;
        counted = c;
      }
      const wall = performance.now() - t0;
      const cpu = t.cpuPids.map((pid, i) => cpuMs(pid) - cpu0[i]).reduce((a, b) => a + b, 0);
      probing = false;
      await prober;
      const gcpu = (await Promise.all(gens.map((g) => g.call('stats')))).reduce((a, s) => a + s.cpuMs, 0) - gcpu0;
      const step = {
        rate,
        achievedRate: Math.round((sent / sendMs) * 1000),
        sent,
        counted,
        lost: sent - counted,
        probes: lat.length,
        p99Ms: percentile(lat, 99),
        targetCpuPct: (cpu / wall) * 100,
        targetCpuUsPerMsg: (cpu * 1000) / Math.max(1, counted),
        generatorCpuPct: (gcpu / sendMs) * 100,
      };
      step.ok = step.lost === 0 && step.p99Ms < 1000 && step.achievedRate >= rate * 0.95;
      steps.push(step);
      log(`${target} @ ${rate}/s: ${JSON.stringify(step)}`);
      await sleep(1000);
      const failedBefore = steps.slice(0, -1).some((x) => x.rate === rate && !x.ok);
      if (step.ok) lastOk = Math.max(lastOk, rate);
      // Other tenants of the machine cause spikes: a failed rate gets a second chance.
      else if (!failedBefore) queue.unshift(rate);
      else if (refined || rate - lastOk <= rate * 0.15) break;
      else {
        // One more step half-way between the last pass and this failure.
        refined = true;
        queue.length = 0;
        queue.push(Math.round((lastOk + rate) / 2 / 500) * 500);
      }
    }
  } finally {
    await obs.close().catch(() => {});
    for (const g of gens) await g.close();
    await t.stop();
  }
  return { target, command: t.command, agents, ceiling: Math.max(0, ...steps.filter((s) => s.ok).map((s) => s.rate)), steps };
}
