// The systems under test, each a real process: the muster controller (embedded aedes or --broker),
// the bare aedes peer, Mosquitto 2 and its JSON-parsing subscriber.
import { fork, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const repo = join(import.meta.dirname, '..', '..');
export const musterBin = join(repo, 'bin', 'muster.js');

export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * A controller config file for a bench run: agents authenticate with one bootstrap token (as a
 * site's would), the bench's own clients connect anonymously as admin, `naming` sets the rule.
 * Returns the file and the token for the simulated agents.
 */
export function writeControllerConfig(dir, { naming = null, externalBroker = false } = {}) {
  const token = `mt1.${randomBytes(32).toString('base64url')}`;
  const hash = `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
  const lines = ['auth:', '  anonymousRole: admin', `  agentTokens: ["${hash}"]`];
  if (externalBroker) lines.push('  trustExternalBroker: true');
  if (naming) lines.push('naming:', '  enabled: true', `  pattern: "${naming}"`);
  // A storm is a whole cluster's first boot on one token: the day docs/security.md tells a site to
  // raise the new-agent rate (1,000 a minute by default) for.
  lines.push('limits:', '  newAgentsPerTokenPerMinute: 1000000');
  const path = join(dir, 'controller.yaml');
  writeFileSync(path, lines.join('\n') + '\n');
  return { path, token };
}

/** Every process the bench started, so an interrupted run leaves none behind. */
export const children = new Set();

export function killChildren() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** Wraps a child process: waits for a line matching `ready`, keeps draining its output. */
function watch(child, what, ready, timeoutMs) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const onData = (d) => {
    out += d.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  let stopping = false;
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve(sig ?? code)));
  // A target that dies mid-run is a finding: say so, with its last words.
  exited.then((code) => {
    if (!stopping) console.error(`${what} (pid ${child.pid}) exited unexpectedly (${code}); last output:\n${out.slice(-4000)}`);
  });
  const match = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready within ${timeoutMs} ms; output:\n${out.slice(-2000)}`)), timeoutMs);
    const check = () => {
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready; output:\n${out.slice(-2000)}`));
    });
  });
  return {
    child,
    pid: child.pid,
    match,
    output: () => out,
    async stop(sig = 'SIGTERM', graceMs = 10_000) {
      stopping = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A real `muster controller` process; resolves when its ready line is out (with the time it took). */
export async function startMuster({ dataDir, args = [], env = {}, nodeArgs = [] }) {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, musterBin, 'controller', '--data', dataDir, '--host', '127.0.0.1', '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0', '--admin-port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MUSTER_LOG_LEVEL: process.env.MUSTER_LOG_LEVEL ?? 'warn', ...env },
  });
  const w = watch(child, 'muster controller', /muster controller ready: mqtt=(\S+)(?: ws=\S+)?(?: http=\S+)?(?: admin=(\S+))?/, 120_000);
  const m = await w.match;
  return { ...w, mqttUrl: m[1], adminUrl: m[2] ?? null, readyMs: performance.now() - t0, command: `node bin/muster.js controller --data DIR --host 127.0.0.1 --mqtt-port 0 --ws-port 0 --http-port 0 --admin-port 0 ${args.join(' ')}`.trim() };
}

function ipcStats(child) {
  let seq = 0;
  return () =>
    new Promise((resolve) => {
      const id = ++seq;
      const on = (m) => {
        if (m.id !== id) return;
        child.off('message', on);
        resolve(m.value);
      };
      child.on('message', on);
      child.send({ cmd: 'stats', id });
    });
}

/** `nodeArgs`: node options for the broker's process (the probes' --cpu-prof, --trace-gc, --require…). */
export async function startBareAedes({ nodeArgs = [] } = {}) {
  const child = fork(join(import.meta.dirname, 'bare-aedes.mjs'), [], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: nodeArgs });
  const w = watch(child, 'bare aedes', /bare aedes ready: mqtt=(\S+)/, 20_000);
  const m = await w.match;
  return { ...w, mqttUrl: m[1], stats: ipcStats(child), command: 'node bench/lib/bare-aedes.mjs' };
}

/** `settings`: more mosquitto.conf lines, also shown in the command. */
export async function startMosquitto({ settings = [] } = {}) {
  const port = await freePort();
  const tmp = tempDir('muster-bench-mosq-');
  const conf = join(tmp.dir, 'mosquitto.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'set_tcp_nodelay true', 'max_connections -1', ...settings, 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information', ''].join('\n'));
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w = watch(child, 'mosquitto', /running|Opening ipv4 listen socket/, 10_000);
  await w.match;
  const stop = w.stop;
  return { ...w, mqttUrl: `mqtt://127.0.0.1:${port}`, command: `mosquitto -c mosquitto.conf (listener ${port} 127.0.0.1, set_tcp_nodelay true${settings.map((x) => `, ${x}`).join('')})`, stop: async () => (await stop(), tmp.remove()) };
}

export async function startJsonSubscriber(url) {
  const child = fork(join(import.meta.dirname, 'json-subscriber.mjs'), [url], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  const w = watch(child, 'json subscriber', /json subscriber ready/, 20_000);
  await w.match;
  return { ...w, stats: ipcStats(child) };
}
