// Start-up of the bundled agent: spawn → its hello arriving at a subscriber on a local Mosquitto,
// against `node -e 0` as the floor. Also prints the bundle size and the agent's RSS once it said hello. Build first (node scripts/build.mjs).
//   node bench/agent-startup.mjs [RUNS]        (default 10; prints medians and one JSON line)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import mqtt from 'mqtt';

const runs = Number(process.argv[2] ?? 10);
const repo = join(import.meta.dirname, '..');
const bundle = join(repo, 'dist', 'agent.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

const port = await new Promise((resolve) => {
  const srv = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});
const broker = spawn('mosquitto', ['-p', String(port), '-v'], { stdio: ['ignore', 'ignore', 'pipe'] });
await new Promise((resolve) => broker.stderr.on('data', (d) => d.toString().includes('Opening ipv4 listen socket') && resolve()));
const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`);
await sub.subscribeAsync('muster/agents/+/hello');
const root = mkdtempSync(join(tmpdir(), 'muster-bench-'));
cpSync(join(repo, 'test', 'fixtures', 'two-nics-ib'), root, { recursive: true, verbatimSymlinks: true });

const nodeFloor = [];
const toHello = [];
const rssKiB = [];
const vmRssKiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
try {
  // Interleaved, so that a load change on this shared machine hits both series alike.
  for (let i = 0; i < runs; i++) {
    const bare = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    nodeFloor.push(ms(bare));
    const hello = new Promise((resolve) => sub.once('message', resolve));
    const t0 = process.hrtime.bigint();
    const agent = spawn(process.execPath, [bundle, '--root', root, '--controller', `mqtt://127.0.0.1:${port}`], { stdio: 'ignore' });
    await hello;
    toHello.push(ms(t0));
    rssKiB.push(vmRssKiB(agent.pid));
    agent.kill('SIGKILL');
    await new Promise((resolve) => agent.once('exit', resolve));
  }
} finally {
  await sub.endAsync(true);
  broker.kill();
  rmSync(root, { recursive: true, force: true });
}

const result = {
  runs,
  bundleBytes: statSync(bundle).size,
  bundleGzipBytes: gzipSync(readFileSync(bundle)).length,
  nodeMedianMs: Math.round(median(nodeFloor)),
  agentToHelloMedianMs: Math.round(median(toHello)),
  agentRssMedianKiB: median(rssKiB),
};
console.log(`dist/agent.js ${(result.bundleBytes / 1024).toFixed(1)} KiB (${(result.bundleGzipBytes / 1024).toFixed(1)} KiB gzip)`);
console.log(`node -e 0: median ${result.nodeMedianMs} ms; agent spawn → hello received: median ${result.agentToHelloMedianMs} ms (${runs} runs each); agent RSS at hello: median ${(result.agentRssMedianKiB / 1024).toFixed(1)} MiB`);
console.log(JSON.stringify(result));
