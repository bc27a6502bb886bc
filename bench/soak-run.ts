/**
 * The soak (issue 9, item 8): a real `muster controller` and N simulated agents (default 2,000,
 * heartbeats every 5 s) for a while (default 10 min). Checks and prints:
 *  - no loss of state changes at QoS 1: phase changes the agents saw acknowledged vs. journalled;
 *  - flat memory: controller RSS sampled every 30 s, with the least-squares slope;
 *  - detection: a few agents killed at random (no clean goodbye) each go `dead`;
 *  - a controller stall in the middle (SIGSTOP, longer than the dead threshold, then SIGCONT):
 *    no node nobody killed judged dead, from silence or by the will of a connection the stall
 *    ended (the agents' keepalive gives up on the stopped broker), no action on such a node.
 * Exits non-zero when a check fails. Run it with `node bench/soak.mjs --help`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { Topics } from '../shared/topics.js';
import { Swarm, repoRoot as root } from './soak-swarm-client.js';

const USAGE = `usage: node bench/soak.mjs [--agents N] [--minutes M] [--heartbeat S] [--kill K] [--sample S] [--stall S]
  --agents     simulated agents (default 2000)
  --minutes    duration (default 10)
  --heartbeat  agent heartbeat interval in seconds (default 5)
  --kill       agents killed at random along the way, each must go dead (default 5)
  --sample     RSS sampling interval in seconds (default 30)
  --stall      seconds the controller is stopped (SIGSTOP) half way (default: 5 heartbeats, past the dead threshold; 0: none)`;

function options() {
  const { values } = parseArgs({
    options: { agents: { type: 'string', default: '2000' }, minutes: { type: 'string', default: '10' }, heartbeat: { type: 'string', default: '5' }, kill: { type: 'string', default: '5' }, sample: { type: 'string', default: '30' }, stall: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (name: keyof typeof values, min: number, max: number) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || v > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got "${String(values[name])}"`);
    return v;
  };
  const heartbeatS = num('heartbeat', 1, 60);
  const stallS = values.stall === undefined ? 5 * heartbeatS : num('stall', 0, 3600);
  return { agents: num('agents', 1, 10_000), minutes: num('minutes', 0.5, 24 * 60), heartbeatS, kill: num('kill', 0, 100), sampleS: num('sample', 1, 600), stallS };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const mb = (b: number) => (b / 2 ** 20).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

interface JournalLine {
  node: string;
  axis: string;
  to: string | null;
  cause: string;
}
function journal(dataDir: string): JournalLine[] {
  return readFileSync(join(dataDir, 'journal.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as JournalLine);
}

async function main(): Promise<number> {
  const o = options();
  const dir = mkdtempSync(join(tmpdir(), 'muster-soak-'));
  const dataDir = join(dir, 'data');
  const config = join(dir, 'muster.yaml');
  // Every agent is named on first hello, so its phase changes become journalled transitions.
  writeFileSync(config, [`heartbeatIntervalS: ${o.heartbeatS}`, 'naming: { enabled: true, pattern: "s[00001-99999]" }', ''].join('\n'));
  const [mqttPort, httpPort] = [await freePort(), await freePort()];
  const controller = spawn(process.execPath, [join(root, 'bin', 'muster.js'), 'controller', '--data', dataDir, '--config', config, '--host', '127.0.0.1', '--mqtt-port', String(mqttPort), '--ws-port', '0', '--http-port', String(httpPort), '--admin-port', '0', '--anonymous-agents', '--anonymous-role', 'admin'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, MUSTER_LOG_LEVEL: 'warn' },
  });
  await new Promise<void>((resolve, reject) => {
    controller.stdout.on('data', (d: Buffer) => d.toString().includes('muster controller ready') && resolve());
    controller.once('exit', (code) => reject(new Error(`the controller exited (${code}) before it was ready`)));
  });
  const pid = controller.pid!;
  // Every automatic action started, by node: the ones on nodes nobody killed are false.
  const acted: string[] = [];
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 4 });
  watcher.on('message', (_t, payload) => {
    const e = JSON.parse(payload.toString('utf8')) as { node: string | null; details: { state?: string } };
    if (e.details.state === 'started' && e.node) acted.push(e.node);
  });
  await watcher.subscribeAsync(new Topics().event('action'), { qos: 1 });
  const swarm = await Swarm.launch('soak');
  const failures: string[] = [];
  try {
    const t0 = Date.now();
    const minutes = () => (Date.now() - t0) / 60_000;
    console.log(`soak: ${o.agents} agents, heartbeat ${o.heartbeatS} s, ${o.minutes} min, controller pid ${pid}`);
    const ids = await swarm.start({ url: `mqtt://127.0.0.1:${mqttPort}`, first: 1, count: o.agents, heartbeatMs: o.heartbeatS * 1000, bootS: [5, Math.max(6, o.minutes * 10)], phase: 'kernel', connectRate: 200 });

    // Kills spread over the middle half of the run, at random.
    const killAt = Array.from({ length: o.kill }, () => o.minutes * (0.25 + Math.random() * 0.5)).sort((a, b) => a - b);
    const killed: Array<{ agentId: string; at: number }> = [];
    const samples: Array<[number, number]> = [];
    const endAt = t0 + o.minutes * 60_000;
    let nextSample = Date.now();
    let stallAt = o.stallS > 0 ? o.minutes / 2 : Infinity;
    while (Date.now() < endAt) {
      if (minutes() >= stallAt) {
        stallAt = Infinity;
        controller.kill('SIGSTOP');
        await sleep(o.stallS * 1000);
        controller.kill('SIGCONT');
        console.log(`${minutes().toFixed(1).padStart(5)} min  controller stopped for ${o.stallS} s (SIGSTOP … SIGCONT)`);
      }
      if (Date.now() >= nextSample) {
        const s = await swarm.stats();
        samples.push([minutes(), rss(pid)]);
        console.log(`${minutes().toFixed(1).padStart(5)} min  controller RSS ${mb(rss(pid))} MB  agents connected ${s.connected}/${s.agents}  states acked ${s.statesAcked}/${s.statesSent}  heartbeats ${s.heartbeats}  swarm RSS ${mb(s.rssBytes)} MB`);
        nextSample += o.sampleS * 1000;
      }
      while (killAt.length > 0 && minutes() >= killAt[0]!) {
        killAt.shift();
        const alive = ids.filter((id) => !killed.some((k) => k.agentId === id));
        const victim = alive[Math.floor(Math.random() * alive.length)]!;
        await swarm.kill([victim]);
        killed.push({ agentId: victim, at: Date.now() });
        console.log(`${minutes().toFixed(1).padStart(5)} min  killed ${victim}`);
      }
      await sleep(500);
    }

    // Stop the swarm's clocks: every acknowledged state change must be in the journal.
    const final = await swarm.stats();
    await sleep(2000);
    const lines = journal(dataDir);
    // A phase change is journalled once, by whichever message brought it first: the state message,
    // or a heartbeat (QoS 0, carrying the new phase) that overtook it inside the broker.
    const changes = lines.filter((t) => t.axis === 'phase' && (t.to === 'init' || t.to === 'run'));
    const journalled = changes.length;
    const causes = new Map<string, number>();
    for (const t of changes) causes.set(t.cause, (causes.get(t.cause) ?? 0) + 1);
    const byCause = [...causes].map(([cause, n]) => `${n} by ${cause}`);
    console.log(`state changes (QoS 1): ${final.statesSent} sent, ${final.statesAcked} acknowledged, ${final.statesFailed} failed, ${journalled} journalled (${byCause.join(', ')})`);
    if (journalled < final.statesAcked) failures.push(`${final.statesAcked - journalled} acknowledged state changes are not in the journal`);

    const nodes = (JSON.parse(await cli(mqttPort, ['nodes', '--json'])) as Array<{ node: string; agentId: string | null; state: { liveness: string } }>).map((r) => ({ ...r, liveness: r.state.liveness }));
    for (const k of killed) {
      const n = nodes.find((r) => r.agentId === k.agentId);
      const dead = lines.find((t) => t.node === n?.node && t.axis === 'liveness' && t.to === 'dead');
      console.log(`killed ${k.agentId} (${n?.node ?? 'no node'}): now ${n?.liveness ?? '?'}`);
      if (n?.liveness !== 'dead' || !dead) failures.push(`killed agent ${k.agentId} (${n?.node}) is ${n?.liveness}, not dead`);
    }
    const neverKilled = new Set(nodes.filter((n) => !killed.some((k) => k.agentId === n.agentId)).map((n) => n.node));
    const deadUnkilled = lines.filter((t) => t.axis === 'liveness' && t.to === 'dead' && neverKilled.has(t.node));
    const fromSilence = deadUnkilled.filter((t) => !t.cause.startsWith('will'));
    const falseActions = acted.filter((n) => neverKilled.has(n));
    console.log(`never-killed nodes judged dead: ${fromSilence.length} from silence, ${deadUnkilled.length - fromSilence.length} by a will (a connection ended by the stall); actions on them ${falseActions.length} (on killed ones ${acted.length - falseActions.length}); agent reconnects ${final.connects - o.agents}`);
    if (deadUnkilled.length) failures.push(`${deadUnkilled.length} nodes never killed were judged dead: ${deadUnkilled.slice(0, 5).map((t) => `${t.node} (${t.cause})`).join(', ')}`);
    if (falseActions.length) failures.push(`${falseActions.length} actions on nodes nobody killed: ${falseActions.slice(0, 5).join(', ')}`);
    const falseDead = nodes.filter((n) => n.liveness !== 'alive' && !killed.some((k) => k.agentId === n.agentId));
    if (falseDead.length) failures.push(`${falseDead.length} nodes not alive that were never killed: ${falseDead.slice(0, 5).map((n) => `${n.node} ${n.liveness}`).join(', ')}`);

    const steady = samples.filter(([m]) => m >= Math.min(2, o.minutes / 3));
    const perMin = steady.length >= 2 ? slope(steady) : NaN;
    console.log(`controller RSS: ${samples.map(([, b]) => mb(b)).join(' ')} MB; slope after warm-up ${(perMin / 2 ** 20).toFixed(2)} MB/min over ${steady.length} samples`);
    console.log(failures.length ? `FAILED:\n  ${failures.join('\n  ')}` : 'soak passed: no state change lost, every killed agent dead, no false dead');
    return failures.length ? 1 : 0;
  } finally {
    await watcher.endAsync();
    await swarm.stop();
    controller.kill('SIGTERM');
    await new Promise((r) => controller.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

function cli(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(root, 'bin', 'muster.js'), '--controller', `mqtt://127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`muster ${args.join(' ')}: ${err.trim()}`))));
  });
}

process.exitCode = await main().catch((err: Error) => {
  console.error(`soak: ${err.message}`);
  return 1;
});
