/**
 * The bundled agent as a real process against a real Mosquitto: hello, heartbeats, phase
 * reports over the unix socket (and directly when no agent runs), the will after kill -9,
 * a clean goodbye on SIGTERM, and reconnecting with the same boot id after a broker restart.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFingerprint } from '../../agent/fingerprint/index.js';
import { freePort } from '../helpers/ports.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { AgentState, AgentStatus, Heartbeat, Hello, parseMessage } from '../../shared/protocol.js';
import { ensureBuilt, repoRoot } from '../helpers/bundle.js';

const AGENT_ID = 'uuid-4c4c4544-0058-4b10-8032-b7c04f514a33';
const topic = (kind: string) => `muster/agents/${AGENT_ID}/${kind}`;

interface Received {
  topic: string;
  payload: Record<string, unknown>;
}

/** Everything published under muster/agents/#, with a way to wait for the next match. */
class Recorder {
  readonly messages: Received[] = [];
  private waiters: Array<() => void> = [];

  constructor(readonly client: MqttClient) {
    client.on('message', (t, payload) => {
      this.messages.push({ topic: t, payload: JSON.parse(payload.toString()) as Record<string, unknown> });
      for (const w of [...this.waiters]) w();
    });
  }

  /** The first message after index `from` on `kind`'s topic that satisfies `match`. */
  next(kind: string, from: number, match: (p: Record<string, unknown>) => boolean = () => true, timeoutMs = 10_000): Promise<Received & { index: number }> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.messages.findIndex((m, i) => i >= from && m.topic === topic(kind) && match(m.payload));
        if (index < 0) return;
        this.waiters = this.waiters.filter((w) => w !== check);
        clearTimeout(timer);
        resolve({ ...this.messages[index]!, index });
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`no ${kind} message within ${timeoutMs} ms; got: ${this.messages.slice(from).map((m) => m.topic).join(', ')}`));
      }, timeoutMs);
      this.waiters.push(check);
      check();
    });
  }
}

/**
 * Mosquitto in local-only mode on a given port, so the test can restart it on the same one.
 */
async function startBroker(port: number): Promise<Proc> {
  const proc = start('mosquitto', ['-p', String(port), '-v']);
  // "Opening … listen socket" is logged before the bind; "running" after every listener is up.
  await proc.waitFor(/mosquitto version [\d.]+ running/, 10_000);
  return proc;
}

async function subscribe(url: string): Promise<Recorder> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const recorder = new Recorder(client);
  await client.subscribeAsync('muster/agents/#', { qos: 1 });
  return recorder;
}

function valid<T>(schema: Parameters<typeof parseMessage<T>>[0], payload: unknown): T {
  const r = parseMessage(schema, payload);
  if (!r.ok) throw new Error(`invalid message: ${r.error}`);
  return r.value;
}

describe('agent process (dist/agent.js, fixture two-nics-ib, real Mosquitto)', () => {
  let bundle: string;
  let broker: Proc;
  let port: number;
  let url: string;
  let recorder: Recorder;
  let root: { dir: string; remove: () => void };
  const agents: Proc[] = [];

  const runAgent = (...extra: string[]) => {
    const p = start('node', [bundle, '--root', root.dir, '--controller', url, '--interval', '1', ...extra], { cwd: repoRoot });
    agents.push(p);
    return p;
  };
  const phaseCommand = async (phase: string) => {
    const p = start('node', [bundle, 'phase', phase, '--root', root.dir, '--controller', url], { cwd: repoRoot });
    const exit = await p.exited;
    return { ...exit, output: p.output() };
  };

  beforeAll(async () => {
    bundle = ensureBuilt('agent');
    // The agent writes its boot id, phase and socket under ROOT/run/muster: use a copy.
    root = tempDir('muster-agent-root-');
    cpSync(join(repoRoot, 'test', 'fixtures', 'two-nics-ib'), root.dir, { recursive: true, verbatimSymlinks: true });
    port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    broker = await startBroker(port);
    recorder = await subscribe(url);
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop('SIGKILL')));
    await recorder?.client.endAsync(true);
    await broker?.stop();
    root?.remove();
  });

  let bootId: string;
  let agent: Proc;
  let firstConnection: number;
  let connectionAfterRestart: number;

  it('says hello with a schema-valid fingerprint of the fixture, then heartbeats with increasing seq', async () => {
    agent = runAgent();
    const hello = valid(Hello, (await recorder.next('hello', 0)).payload);
    await agent.waitFor(`connected to mqtt://127.0.0.1:${port}, hello sent as ${AGENT_ID}`);
    expect(hello).toMatchObject({ v: 1, agentId: AGENT_ID, phase: 'kernel', interval: 1000, uptime: expect.any(Number) });
    expect(hello.fingerprint).toEqual(readFingerprint(root.dir));
    bootId = hello.bootId;
    expect(bootId).toMatch(/^[0-9a-f]{32}$/);
    expect(hello.connection).toBe(1);
    firstConnection = hello.connection!;

    const first = await recorder.next('heartbeat', 0);
    const second = await recorder.next('heartbeat', first.index + 1);
    const [a, b] = [valid(Heartbeat, first.payload), valid(Heartbeat, second.payload)];
    expect(b.seq).toBeGreaterThan(a.seq);
    expect([a.bootId, b.bootId]).toEqual([bootId, bootId]);
    expect(a.phase).toBe('kernel');
  });

  it('`agent.js phase run` reaches the running agent, which publishes state with the same boot id', async () => {
    const from = recorder.messages.length;
    const result = await phaseCommand('run');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`handed to the running agent (boot ${bootId})`);
    const state = valid(AgentState, (await recorder.next('state', from)).payload);
    expect(state).toMatchObject({ v: 1, bootId, phase: 'run' });
    const heartbeat = valid(Heartbeat, (await recorder.next('heartbeat', from, (p) => p.phase === 'run')).payload);
    expect(heartbeat.bootId).toBe(bootId);
  });

  it('after a broker restart on the same port, reconnects and says hello again with the same boot id and phase', async () => {
    await broker.stop();
    // Resubscribe before the agent's next attempt: its third retry waits at least 1 s (logged when scheduled).
    await agent.waitFor(/(reconnecting in [\d.]+ s[\s\S]*){3}/, 15_000);
    broker = await startBroker(port);
    await recorder.client.endAsync(true);
    recorder = await subscribe(url);
    const hello = valid(Hello, (await recorder.next('hello', 0, () => true, 35_000)).payload);
    expect(hello).toMatchObject({ agentId: AGENT_ID, bootId, phase: 'run' });
    expect(agent.output().match(/hello sent/g)).toHaveLength(2);
    // Every attempt while the broker was away was a connection of its own.
    expect(hello.connection).toBeGreaterThan(firstConnection);
    connectionAfterRestart = hello.connection!;
  });

  it('kill -9 of the agent makes the broker deliver the will {online:false} of its current connection', async () => {
    const from = recorder.messages.length;
    agent.child.kill('SIGKILL');
    const will = valid(AgentStatus, (await recorder.next('status', from)).payload);
    expect(will).toEqual({ v: 1, bootId, connection: connectionAfterRestart, online: false });
  });

  it('`phase build` with no agent running publishes the state itself, under the same boot id', async () => {
    const from = recorder.messages.length;
    const result = await phaseCommand('build');
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`no agent running: state build sent to mqtt://127.0.0.1:${port} as ${AGENT_ID}`);
    expect(valid(AgentState, (await recorder.next('state', from)).payload)).toMatchObject({ bootId, phase: 'build' });
  });

  it('a restarted agent resumes the recorded phase and boot id, and on SIGTERM says goodbye and exits 0', async () => {
    const from = recorder.messages.length;
    const again = runAgent();
    expect(valid(Hello, (await recorder.next('hello', from)).payload)).toMatchObject({ bootId, phase: 'build' });
    await again.stop('SIGTERM');
    expect((await again.exited).code).toBe(0);
    expect(valid(AgentStatus, (await recorder.next('status', from)).payload)).toEqual({ v: 1, bootId, connection: 1, online: false });
    expect(again.output()).toContain('SIGTERM: saying goodbye');
  });

  it('a frozen agent (SIGSTOP, socket left open) is dropped by the broker at its keepalive: the will is delivered', async () => {
    const from = recorder.messages.length;
    const frozen = runAgent();
    await recorder.next('heartbeat', from);
    frozen.child.kill('SIGSTOP');
    // At --interval 1 the keepalive is its floor, 5 s: Mosquitto gives up after 7.5 s.
    const will = await recorder.next('status', from, () => true, 20_000);
    expect(valid(AgentStatus, will.payload)).toEqual({ v: 1, bootId, connection: 1, online: false });
    frozen.child.kill('SIGKILL');
  });

  it('with --liveness under --interval the keepalive follows the liveness: rare heartbeats, a frozen agent still dropped within 2 liveness intervals', async () => {
    const from = recorder.messages.length;
    // The last --interval wins: heartbeats every minute, keepalive from 5 s (6 s; from 60 s it would be 80).
    const frozen = runAgent('--interval', '60', '--liveness', '5');
    await recorder.next('hello', from);
    await until('the broker logs keepalive 6 s', () => /as \S+ \(p2, c1, k6\)/.test(broker.output()), 5000);
    frozen.child.kill('SIGSTOP');
    const will = await recorder.next('status', from, () => true, 20_000);
    expect(valid(AgentStatus, will.payload)).toMatchObject({ online: false });
    expect(recorder.messages.slice(from).filter((m) => m.topic.endsWith('/heartbeat'))).toEqual([]);
    frozen.child.kill('SIGKILL');
  });

  it('pick-disk (the installer): the disk a rule chooses on the fixture, or why none, exit 1', async () => {
    const fixture = join(repoRoot, 'test', 'fixtures', 'two-nics-ib');
    const picked = start('node', [bundle, 'pick-disk', 'size%3E=1T', '--root', fixture], { cwd: repoRoot });
    expect((await picked.exited).code).toBe(0);
    expect(picked.output().trim()).toBe('nvme0n1');
    const none = start('node', [bundle, 'pick-disk', 'model:SAMSUNG%2A', '--root', fixture], { cwd: repoRoot });
    expect((await none.exited).code).toBe(1);
    expect(none.output().trim()).toBe('no disk matches the rule model:SAMSUNG* (disks: nvme0n1 1600.3 GB, model Dell Ent NVMe P5600 MU U.2 1.6TB, serial PHAB1234005T1P6AGN; sda 480.1 GB, model MZ7L3480HCHQ0D3, serial S6KLNA0T123456)');
  });

  it('without --controller nor muster.controller= it fails with a clear message', async () => {
    const p = start('node', [bundle, '--root', join(repoRoot, 'test', 'fixtures', 'odd')], { cwd: repoRoot });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toContain('no controller: pass --controller mqtt://HOST:PORT or boot with muster.controller=');
  });
});
