// Turns bench results into the table of figures against their targets (pure: data in, rows out).

const MiB = 1024 * 1024;
const f0 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const f1 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(1));
const f2 = (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(2));
const verdict = (ok) => (ok === null ? 'n/a' : ok ? 'PASS' : 'MISS');

/** Peers' published defaults for detecting a dead node, beside ours. */
/** Peers' published takeover times for a dead controller's nodes (issue 24), beside the simulated ones. */
export const PEER_TAKEOVER = 'Ironic: conductor heartbeat 10 s, timeout 60 s; confluent collective ~10 s; xCAT by hand';

export const PEER_DETECTION = 'Slurm SlurmdTimeout 300 s; Kubernetes node grace 40 s; Cray heartbeat 60 s; Warewulf 2 intervals (never acts)';

/** @returns {{ figure: string, value: string, peer: string, target: string, verdict: string, command: string }[]} */
export function buildTable(r) {
  const rows = [];
  const row = (figure, value, peer, target, ok, command) => rows.push({ figure, value, peer, target, verdict: verdict(ok), command });

  if (r.ceiling) {
    const by = Object.fromEntries(r.ceiling.map((c) => [c.target, c]));
    // A target that passed the highest rate tried has a ceiling of at least that (the generators' limit).
    const shown = (c) => `${c.ceiling > 0 && c.ceiling >= Math.max(...c.steps.map((x) => x.rate)) ? '≥ ' : ''}${f0(c.ceiling)} msg/s`;
    const pair = (label, ours, peer) => {
      if (!ours || !peer) return;
      const ratio = peer.ceiling ? ours.ceiling / peer.ceiling : null;
      row(`1 ingest ceiling, ${label}`, `${shown(ours)} (${ours.agents} agents)`, `${peer.target}: ${shown(peer)}`, `≥ 0.6× peer (${f2(ratio)}×)`, ratio === null ? null : ratio >= 0.6, `${ours.command}  vs  ${peer.command}`);
    };
    pair('embedded', by['muster (embedded aedes)'], by['bare aedes']);
    pair('--broker mosquitto', by['muster --broker mosquitto'], by['mosquitto + JSON subscriber']);
  }
  if (r.cluster?.steady && r.bareSteady) {
    const m = r.cluster.steady;
    const b = r.bareSteady;
    const ratio = m.cpuPct / b.cpuPct;
    const over = (x) => (x.sampleMs === undefined ? '' : ` for ${f0(x.sampleMs / 1000)} s`);
    const settled = (x) => (x.settledMs === undefined ? '' : `; sampled${over(x)} from ${f0(x.settledMs / 1000)} s after the storm${x.settled ? ', RSS settled' : ', RSS still moving'}`);
    row(`2 steady CPU, ${f0(r.cluster.n)} nodes / ${f0((r.cluster.heartbeatMs ?? 5000) / 1000)} s (keepalive ${r.cluster.keepaliveS ?? '—'} s)`, `${f1(m.cpuPct)} % of a core (generators ${f1(m.generatorCpuPct)} %${settled(m)})`, `bare aedes ${f1(b.cpuPct)} % (generators ${f1(b.generatorCpuPct)} %${settled(b)})`, `≤ 1.0× (${f2(ratio)}×)`, ratio <= 1.0, `${r.cluster.controllerCommand}  vs  ${b.command} (its in-process subscriber parses every message's JSON)`);
    const perNode = (m.rssBytes - b.rssBytes) / r.cluster.n;
    const marginal = (m.rssBytes - r.cluster.rssEmptyBytes - (b.rssBytes - b.rssEmptyBytes)) / r.cluster.n;
    if (m.heapUsedBytes) row('2 steady JS heap used', `${f1(m.heapUsedBytes / MiB)} MiB (${f1(m.heapUsedBytes / r.cluster.n / 1024)} KiB/node)`, '', 'report', null, `muster_process_nodejs_heap_size_used_bytes; that GET /metrics took ${f0(m.metricsScrapeMs)} ms`);
    const range = (x) => (x.rssMinBytes === undefined ? '' : `, ${f0(x.rssMinBytes / MiB)}-${f0(x.rssMaxBytes / MiB)} over the sample`);
    row('2 steady RSS beyond bare', `${f1(m.rssBytes / MiB)} MiB${range(m)}: ${f1(perNode / 1024)} KiB/node beyond (${f1(marginal / 1024)} KiB/node net of each empty process)`, `bare aedes ${f1(b.rssBytes / MiB)} MiB${range(b)} (empty ${f1(b.rssEmptyBytes / MiB)}; muster empty ${f1(r.cluster.rssEmptyBytes / MiB)})`, '≤ 8 KiB/node', perNode <= 8 * 1024, 'RSS from /proc/PID/status, mean over the sample (read every second)');
  }
  const s = r.cluster?.storm;
  if (s) {
    const n = r.cluster.n;
    row('3 storm: hellos within', `${f1(s.helloWindowS)} s for ${f0(s.connected)} agents`, '', '≤ 60 s', s.connected === n && s.helloWindowS <= 60, `${n} new agents (generators: ${f0(s.generatorCpuMs)} ms CPU); ${r.cluster.namingRule}`);
    row('3 storm: identified after last hello', `${f1(s.identifiedAfterLastHelloS)} s (${f0(s.identified)}/${f0(n)})`, '', '≤ 10 s, all', s.allIdentified && s.identifiedAfterLastHelloS <= 10, 'assigned events on muster/events/assigned');
    row('3 storm: persisted after last hello', `${f1(s.persistedAfterLastHelloS)} s`, '', '≤ 10 s', s.persistedAfterLastHelloS !== null && s.persistedAfterLastHelloS <= 10, 'mtime of DATA/store.json once it holds every binding');
    row('3 storm: store file writes', `${f0(s.storeWrites)} (mean ${f0(s.storeWriteMeanMs)} ms each)`, '', 'tens, not thousands', s.storeWrites < 100, 'muster_store_write_seconds_count on /metrics');
    row('3 storm: listen queue', `${f0(s.listenOverflows)} overflows; ${f0(s.connectRetries)} retries, ${f0(s.slowConnects)} connects ≥ 1 s (max ${f0(s.connectMsMax)} ms)`, '', '0 retried', s.listenOverflows === 0 && s.connectRetries === 0 && s.slowConnects === 0, 'TcpExt ListenOverflows+ListenDrops delta; generator retry count');
    row('3 storm: event loop blocked (in process)', `max delay ${f0(s.eventLoopDelayMaxMs)} ms`, '', '≤ 200 ms', s.eventLoopDelayMaxMs <= 200, 'muster_process_nodejs_eventloop_lag_max_seconds (prom-client monitorEventLoopDelay, max since the scrape before the storm)');
    row('3 storm: event loop (from outside)', `ping RTT max ${f0(s.pingRttMaxMs)} ms, p99 ${f0(s.pingRttP99Ms)} ms (${s.pings} pings)`, '', '≤ 200 ms', s.pingRttMaxMs <= 200, `request \`naming\` every 100 ms over MQTT from a process of its own (includes the broker path${s.pingerEventLoopDelayMaxMs === undefined ? '' : ` and the pinger's own event loop: max delay ${f0(s.pingerEventLoopDelayMaxMs)} ms`})`);
  }
  if (r.cluster?.kill) {
    const k = r.cluster.kill;
    row(`4a kill → dead p99 (${k.dead}/${k.agents})`, `${f0(k.p99Ms)} ms (p50 ${f0(k.p50Ms)}, max ${f0(k.maxMs)})`, PEER_DETECTION, '< 1 s', k.dead === k.agents && k.p99Ms < 1000, 'SIGKILL of a generator; `dead` transition events on muster/events/transition');
  }
  if (r.cluster?.freeze) {
    const z = r.cluster.freeze;
    row(`4b freeze → dead p99 (${z.dead}/${z.agents})`, `${f1(z.p99Ms / 1000)} s (p50 ${f1(z.p50Ms / 1000)}, max ${f1(z.maxMs / 1000)})`, PEER_DETECTION, '≤ 2 × 5 s + 1 s = 11 s', z.dead === z.agents && z.p99Ms <= 11_000, `SIGSTOP of a generator (sockets stay open, no will from the agent); agents' MQTT keepalive ${r.cluster.keepaliveS} s, controller heartbeat.deadAfterMissed ${r.cluster.deadAfterMissed}`);
  }
  if (r.cluster?.falseDead) {
    const x = r.cluster.falseDead;
    const causes = Object.entries(x.causes).map(([cause, count]) => `${count} by ${cause}`).join(', ');
    row('4c false dead (storm, steady, kill, freeze)', `${x.count} on ${x.nodes} nodes${causes ? ` (${causes})` : ''}`, '', '0', x.count === 0, '`dead` transition events on nodes the bench neither killed nor froze, from the storm to the end of the freeze');
  }
  if (r.cluster?.nodesCli) {
    const c = r.cluster.nodesCli;
    row(`5 \`muster nodes\` over ${f0(r.cluster.n)} nodes`, `first output ${f0(c.firstOutputMs)} ms, done ${f0(c.totalMs)} ms`, r.cluster.cliFloorMs ? `\`muster --help\` ${f0(r.cluster.cliFloorMs)} ms` : '', '< 1 s to first output', c.firstOutputMs < 1000, c.command);
    row(`5 controller start-up, ${f0(r.cluster.n)}-node store`, `${f0(r.cluster.startFullMs)} ms`, `empty store ${f0(r.cluster.startEmptyMs)} ms`, '< 2 s', r.cluster.startFullMs < 2000, 'spawn → ready line: ' + r.cluster.startCommand);
  }
  if (r.journal) row('5 journal appends', `${f0(r.journal.perSec)} /s`, '', 'report', null, r.journal.command);
  if (r.agent) {
    const a = r.agent;
    const ratio = a.agentToHelloMedianMs / a.nodeMedianMs;
    row('6 agent bundle size', `${f1(a.bundleBytes / 1024)} KiB (${f1(a.bundleGzipBytes / 1024)} KiB gzip)`, '', '≤ 220 KB', a.bundleBytes <= 220_000, 'stat dist/agent.js');
    row('6 agent start → hello (median)', `${f0(a.agentToHelloMedianMs)} ms`, `node -e 0: ${f0(a.nodeMedianMs)} ms`, `≤ 1.5× (${f2(ratio)}×)`, ratio <= 1.5, a.command);
    row('6 agent RSS at hello', `${f1(a.agentRssMedianKiB / 1024)} MiB`, '', 'report', null, a.command);
  }
  const powerRow = (p, judged) => {
    const target = judged ? `≤ 1.1× ideal, never > ${p.concurrency} in flight` : 'report';
    const ok = judged ? p.ratio <= 1.1 && p.maxInFlight <= p.concurrency && p.ok === p.nodes : null;
    row(`7 power cycle ${f0(p.nodes)} sim nodes, ${p.concurrency} at once, sim steps ${f0(p.delayMs)} ms`, `${f1(p.wallMs / 1000)} s wall (${f2(p.ratio)}× ideal), ${f0(p.ok)}/${f0(p.nodes)} ok, most in flight ${f0(p.maxInFlight)}`, `ideal ${f1(p.idealMs / 1000)} s = ${f0(p.nodes)} ÷ ${p.concurrency} × ${f0(p.actionMs)} ms (one node's cycle)`, target, ok, `${p.command}, CLI spawn → exit; action time: ${p.actionCommand}; in flight: muster_power_calls_in_flight_max`);
  };
  if (r.power) powerRow(r.power, true);
  if (r.powerStress) powerRow(r.powerStress, false);
  if (r.dashboard) {
    const d = r.dashboard;
    const p = d.page;
    const n = f0(p.nodes);
    row(`8 dashboard first render, ${n} nodes`, `${f0(p.firstRenderMs)} ms`, '', '< 3000 ms', p.firstRenderMs < 3000, d.command);
    const slowest = Math.max(...p.updates.map((u) => u.totalMs));
    row('8 dashboard update bursts, to their frame', p.updates.map((u) => `${f0(u.changes)} → ${f0(u.totalMs)} ms`).join(', '), '', '< 1000 ms each', slowest < 1000, d.command);
    row('8 dashboard state filter', `${f0(p.filterMs)} ms (${f0(p.deadShown)} dead shown)`, '', '< 500 ms', p.filterMs < 500, d.command);
    row('8 dashboard scroll to the end', `${f0(p.scrollMs)} ms`, '', '< 200 ms', p.scrollMs < 200, d.command);
    row(`8 node model select + counts, ${n} nodes`, `${f1(d.modelMs)} ms`, '', '< 200 ms', d.modelMs < 200, d.modelCommand);
  }
  if (r.federationSim) {
    const f = r.federationSim;
    const s1 = (ms) => `${f1(ms / 1000)} s`;
    for (const run of f.runs.filter((x) => x.fault === 'kill')) {
      const m = run.movedNodes;
      row(
        `9 federation sim: ${f0(f.nodes)} nodes, ${run.controllers} controllers, kill -9 one`,
        `moves ${f0(m.mean)} nodes (${f1(m.meanPercent)} %, ${f0(m.min)}-${f0(m.max)}; ≤ ${f0(run.mostTakenByOne)} to one survivor; ${f0(run.movedElsewhere)} others); owned again p50 ${s1(run.nodeOwnedAgainMs.p50)}, p99 ${s1(run.nodeOwnedAgainMs.p99)}; all ${s1(run.allOwnedAgainMs.p99)} p99, ${s1(run.allOwnedAgainMs.max)} max`,
        PEER_TAKEOVER,
        '≤ 10 s, only its nodes',
        run.allOwnedAgainMs.max <= 10_000 && run.movedElsewhere === 0,
        `${f.command}; node-weighted times from the kill to the claim applied`,
      );
    }
    const cut = f.runs.filter((x) => x.fault === 'cutoff');
    if (cut.length > 0) {
      const gap = Math.min(...cut.map((x) => x.minFenceToClaimMs));
      const worst = Math.max(...cut.map((x) => x.allOwnedAgainMs.max));
      row(
        `9 federation sim: one cut off from the database (${cut.map((x) => x.controllers).join(', ')} controllers)`,
        `fenced ≥ ${s1(gap)} before the first claim of its partitions; all owned again ≤ ${s1(worst)}`,
        '',
        'fenced before any claim; ≤ 10 s',
        gap > 0 && worst <= 10_000 && cut.every((x) => x.movedElsewhere === 0),
        `${f.command}; steady clocks drifting ±${cut[0].options.driftPpm} ppm`,
      );
    }
  }
  if (r.subscriptions) {
    const s = r.subscriptions;
    for (const run of s.runs) {
      row(
        `11 federation: subscribe ${f0(run.agents)} agents (${f0(run.filters)} filters), ${run.brokers} Mosquitto`,
        `${f0(run.subscribeMs)} ms (controller CPU ${f0(run.subscribeCpuMs)} ms); unsubscribe ${f0(run.unsubscribeMs)} ms; one SUBSCRIBE each: ${f0(run.oneByOneMs)} ms`,
        '',
        '< 5000 ms, delivered',
        // An adopted node turns suspect after 2 heartbeat intervals (10 s) of silence counted from the
        // claim: subscribed within 5 s, its next heartbeat (every 5 s) comes before that.
        run.subscribeMs < 5000 && run.delivered,
        s.command,
      );
    }
  }
  if (r.federationSockets?.steady) {
    const f = r.federationSockets;
    const st = f.steady;
    const each = (xs) => xs.map((x) => f1(x.cpuPctPer10k)).join(' + ');
    const eachRss = (xs) => xs.map((x) => f0(x.rssBytesPer10k / MiB)).join(' + ');
    const one = r.cluster?.steady;
    const single = one ? `one controller (embedded aedes): ${f1((one.cpuPct * 10_000) / r.cluster.n)} % and ${f0(((one.rssBytes - r.cluster.rssEmptyBytes) * 10_000) / r.cluster.n / MiB)} MiB per 10,000 nodes` : '';
    const setup = `${f0(f.agents)} nodes, ${f.controllers} controllers, ${f.brokers} brokers`;
    row(`10 federation sockets: ${setup}, nodes alive in the store`, `${f0(st.aliveInStoreBefore)} before the sample, ${f0(st.aliveInStoreAfter)} after`, '', `all ${f0(f.agents)}`, st.aliveInStoreBefore === f.agents && st.aliveInStoreAfter === f.agents, 'rows of nodes whose runtime (written by the owner) says alive; fewer: the controllers are behind on their store writes, and the sample is not of a steady state');
    const method = `${f.command}; nodes imported (\`muster import\` CSV, one controller), bound by hello → identification; CPU and RSS from /proc over ${f0(st.sampleMs / 1000)} s from ${f0(st.settledMs / 1000)} s after all were identified (and alive in the owners' runtime rows, see that row)${st.settled.every(Boolean) ? ', RSS settled' : ', RSS still moving'}; per 10,000 = figure × 10,000 ÷ nodes`;
    row(`10 federation sockets: ${setup}, steady CPU per 10k nodes`, `controllers ${each(st.controllers)} = ${f1(st.controllersTotal.cpuPctPer10k)} % of a core; brokers ${each(st.brokers)} = ${f1(st.brokersTotal.cpuPctPer10k)} %; PostgreSQL ${f1((st.postgresCpuPct * 10_000) / f.agents)} % (generators ${f1(st.generatorCpuPct)} % in all)`, single, 'report', null, method);
    row(`10 federation sockets: ${setup}, RSS per 10k nodes`, `controllers ${eachRss(st.controllers)} = ${f0(st.controllersTotal.rssBytesPer10k / MiB)} MiB; brokers ${eachRss(st.brokers)} = ${f0(st.brokersTotal.rssBytesPer10k / MiB)} MiB`, single, 'report', null, 'RSS from /proc/PID/status, mean over the sample (read every second), less an empty process\'s (each broker at start; for the controllers the first one started on the empty database), × 10,000 ÷ nodes');
    if (st.claimsDuringSample !== undefined) row(`10 federation sockets: ${setup}, partition claims during the sample`, `${f0(st.claimsDuringSample)}${f.partitionsAsRendezvous === false ? ' (the partitions were not yet as rendezvous hashing shares them 90 s after the start)' : ''}`, '', '0', st.claimsDuringSample === 0, 'sum of the partitions\' epochs before and after the sample: every claim raises one');
    row(`10 federation sockets: ${setup}, dead during the storm and sample`, `${f0(st.deadSinceStorm)} (${f0(st.deadDuringSample)} in the sample)`, '', '0', st.deadSinceStorm === 0, '`dead` transition events on muster/events/transition (from every controller) after the first hello');
  }
  return rows;
}

export function formatTable(r) {
  const rows = r.table;
  const cols = ['figure', 'value', 'peer', 'target', 'verdict'];
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(c.length, ...rows.map((x) => x[c].length))]));
  const line = (x) => cols.map((c) => x[c].padEnd(width[c])).join(' │ ');
  const out = [`muster bench (${r.mode}) ${r.startedAt}, node ${r.node}, ${r.cpus} CPUs, load ${r.loadAtStart.toFixed(1)} → ${r.loadAtEnd.toFixed(1)}`, '', line(Object.fromEntries(cols.map((c) => [c, c]))), cols.map((c) => '─'.repeat(width[c])).join('─┼─')];
  for (const x of rows) out.push(line(x));
  for (const [partName, error] of Object.entries(r.errors ?? {})) out.push(`FAILED ${partName}: ${error}`);
  out.push('', 'Commands:');
  for (const x of rows) out.push(`  ${x.figure}: ${x.command}`);
  if (r.ceiling) {
    out.push('', 'Ingest steps (rate → lost, probe p99, target CPU µs/msg, generator CPU %):');
    for (const c of r.ceiling) out.push(`  ${c.target}: ${c.steps.map((s) => `${s.rate}→${s.lost}/${f0(s.p99Ms)}ms/${f0(s.targetCpuUsPerMsg)}µs/${f0(s.generatorCpuPct)}%${s.ok ? '' : ' ✗'}`).join('  ')}`);
  }
  return out.join('\n');
}
