/**
 * The message plane on two real Mosquitto brokers: a `muster controller` process connected to
 * both (`--broker A,B`), real agent processes (fixture copies with their own DMI UUIDs) given the
 * list `A,B`, and a `command` power driver whose script appends each call to a file.
 *  - every node's retained state is on both brokers;
 *  - one agent loses broker A while A stays up and does not notice (a half-open connection): the
 *    agent fails over to B, and the will A sends 7.5 s later is dropped as stale;
 *  - broker A is killed: every agent fails over to B, the controller keeps hearing them;
 * through both, no node goes dead and no power action runs; the controller stops cleanly with A
 * still down.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentStatus, parseMessage } from '../../shared/protocol.js';
import { Topics } from '../../shared/topics.js';
import { expectCliJson } from '../helpers/cli-json.js';
import { agentBin, runCli, startControllerProc, twoNicsIbMachine, type ControllerProc } from '../helpers/controller.js';
import { partitionableLink } from '../helpers/link.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { start, stopAll, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { HEARTBEAT_S, journal, powerScript, watchWindow, writeFaultConfig } from '../reliability/faults-cluster.js';

const N = 3;
const uuid = (i: number) => `4c4c4544-0058-4b10-8032-b7c04f5140${i.toString(16).padStart(2, '0')}`;
const agentId = (i: number) => `uuid-${uuid(i)}`;

const tmp = tempDir('muster-message-plane-');
let brokerA: Awaited<ReturnType<typeof startMosquitto>>;
let brokerB: Awaited<ReturnType<typeof startMosquitto>>;
let linkToA: Awaited<ReturnType<typeof partitionableLink>>;
let controller: ControllerProc;
let power: ReturnType<typeof powerScript>;
const agents: Proc[] = [];

/** `muster nodes --json` through broker B (A is killed half-way). */
async function nodes() {
  return expectCliJson('nodes', (await runCli(brokerB.url, ['--timeout', '10', 'nodes', '--json'])).stdout);
}
/** Liveness transitions (suspect, dead, alive again) journalled at or after `since`. */
const livenessSince = (since: number) => journal(controller.dataDir).filter((t) => t.axis === 'liveness' && t.at >= since);
const allAliveInRun = async () => {
  const rows = await nodes().catch(() => []);
  return rows.length === N && rows.every((r) => r.state.liveness === 'alive' && r.state.phase === 'run');
};

/**
 * After the watch window: no liveness transition since `from`, every node alive in run, no power
 * call. A node unheard for two heartbeats would be suspect, for four dead: alive all along is
 * heard all along.
 */
async function expectUntouchedSince(from: number): Promise<void> {
  await watchWindow(Date.now());
  expect(livenessSince(from)).toEqual([]);
  expect(await allAliveInRun()).toBe(true);
  expect(power.calls()).toEqual([]);
}

beforeAll(async () => {
  [brokerA, brokerB] = await Promise.all([startMosquitto(), startMosquitto()]);
  power = powerScript(tmp.dir);
  controller = await startControllerProc(['--broker', `${brokerA.url},${brokerB.url}`, '--config', writeFaultConfig(tmp.dir)], { env: { MUSTER_LOG_LEVEL: 'warn' } });
  for (let i = 1; i <= N; i++) await controller.cli(['define', `n00${i}`, 'groups=rack1', `uuid=${uuid(i)}`, `power=${power.target}`]);
  // Agent 1 reaches A through a link the test cuts; the others directly.
  linkToA = await partitionableLink(brokerA.port, await freePort());
  for (let i = 1; i <= N; i++) {
    const first = i === 1 ? linkToA.url : brokerA.url;
    agents.push(start(process.execPath, [agentBin, '--root', twoNicsIbMachine(i), '--controller', `${first},${brokerB.url}`, '--interval', String(HEARTBEAT_S), '--phase', 'run']));
  }
  await Promise.all(agents.map((a, i) => a.waitFor(`connected to ${i === 0 ? linkToA.url : brokerA.url}, hello sent`)));
  await until('every node alive in run', allAliveInRun, 30_000, 250);
}, 60_000);

afterAll(async () => {
  await stopAll();
  await linkToA?.close();
  await brokerA?.proc.stop();
  await brokerB?.proc.stop();
  tmp.remove();
});

/** The nodes whose retained state a new subscriber on `url` is given. */
async function retainedStates(url: string): Promise<string[]> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4 });
  const nodes = new Set<string>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) nodes.add(topic.split('/')[2]!);
  });
  await client.subscribeAsync(new Topics().allNodeStates, { qos: 1 });
  await until('every retained node state', () => nodes.size === N, 5000, 50).catch(() => undefined);
  await client.endAsync();
  return [...nodes].sort();
}

describe('agents on a list of two brokers, a controller on both', () => {
  it('publishes every node state, retained, to each broker: a client on either sees every node', async () => {
    expect(await retainedStates(brokerA.url)).toEqual(['n001', 'n002', 'n003']);
    expect(await retainedStates(brokerB.url)).toEqual(['n001', 'n002', 'n003']);
  });

  it('drops the will a broker sends after its agent moved on: the node stays alive', async () => {
    // A subscriber on A sees the will go out: the test did make A send one.
    const watcher = await mqtt.connectAsync(brokerA.url, { protocolVersion: 4 });
    const wills: unknown[] = [];
    watcher.on('message', (_t, payload) => wills.push(JSON.parse(payload.toString('utf8'))));
    await watcher.subscribeAsync(new Topics().agent(agentId(1), 'status'), { qos: 1 });
    const from = Date.now();
    await linkToA.cut({ brokerSideOpen: true });
    await agents[0]!.waitFor(`failing over to ${brokerB.url}`);
    await agents[0]!.waitFor(`connected to ${brokerB.url}, hello sent`);
    // Keepalive 5 s (three 1 s heartbeats' worth, at least 5): A drops the silent side after 7.5 s.
    await until('the will from broker A', () => wills.length > 0, 15_000, 100);
    await watcher.endAsync();
    expect(parseMessage(AgentStatus, wills[0])).toMatchObject({ ok: true, value: { online: false } });
    // Heartbeats through B go on: the node was never dead, not even for a moment.
    await expectUntouchedSince(from);
  }, 60_000);

  it('kill -9 of broker A: every agent fails over to B, heartbeats keep coming, no node dead, zero power actions', async () => {
    const from = Date.now();
    await brokerA.proc.stop('SIGKILL');
    for (const a of agents.slice(1)) await a.waitFor(`connected to ${brokerB.url}, hello sent`, 15_000);
    await expectUntouchedSince(from);
    const metrics = await (await fetch(`${controller.adminUrl}/metrics`)).text();
    expect(metrics).toContain(`muster_broker_connected{broker="${brokerA.url}"} 0`);
    expect(metrics).toContain(`muster_broker_connected{broker="${brokerB.url}"} 1`);
  }, 60_000);

  it('stops cleanly with one broker down', async () => {
    await controller.proc.stop('SIGTERM');
    expect(await controller.proc.exited).toEqual({ code: 0, signal: null });
    expect(controller.proc.output()).toContain('muster controller stopped');
  });
});
