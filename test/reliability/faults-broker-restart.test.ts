/**
 * Faults (issue 9, item 7): a broker restart with 500 simulated nodes alive. A real `muster
 * controller --broker` on a real Mosquitto, 500 swarm agents in `run` heartbeating every second,
 * a `command:` power script that appends every call to a file. Mosquitto is stopped and started
 * again on the same port (no persistence: it forgets every session and retained message). The
 * controller and the agents reconnect; then: every node alive in `run`, zero power actions, no
 * `dead` transition after the grace period, and every node's retained state is there again.
 */
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Swarm } from '../../bench/soak-swarm-client.js';
import { Topics } from '../../shared/topics.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from './lib.js';
import { allAliveInRun, awaitReconnected, deadSince, defineNodes, GRACE_S, launchSwarm, powerScript, watchWindow, writeFaultConfig } from './faults-cluster.js';

const NODES = 500;
const tmp = tempDir('muster-faults-broker-');
const dataDir = join(tmp.dir, 'data');
let broker: Proc;
let brokerUrl: string;
let controller: ControllerProc | null = null;
let swarm: Swarm | null = null;
let power: ReturnType<typeof powerScript>;

beforeAll(async () => {
  const mosq = await startMosquitto();
  broker = mosq.proc;
  brokerUrl = mosq.url;
  power = powerScript(tmp.dir);
  controller = await startControllerProc(['--broker', brokerUrl, '--config', writeFaultConfig(tmp.dir)], { dataDir, env: { MUSTER_LOG_LEVEL: 'warn' } });
  await defineNodes(controller, tmp.dir, NODES, power.target);
  swarm = await launchSwarm('faults-broker', controller, [{ url: brokerUrl, first: 1, count: NODES }]);
}, 90_000);

afterAll(async () => {
  await swarm?.stop();
  await controller?.proc.stop('SIGKILL');
  await broker?.stop();
  tmp.remove();
});

/** How many nodes' retained state a new subscriber is given (waits up to 3 s for all of them). */
async function retainedStates(): Promise<number> {
  const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 4 });
  const nodes = new Set<string>();
  client.on('message', (topic, payload, packet) => {
    if (packet.retain && payload.length > 0) nodes.add(topic);
  });
  await client.subscribeAsync(new Topics().allNodeStates, { qos: 1 });
  await until('every retained node state', () => (nodes.size === NODES ? true : undefined), 3000, 100).catch(() => undefined);
  await client.endAsync();
  return nodes.size;
}

describe(`broker restart with ${NODES} nodes alive`, () => {
  let down = 0;

  it('no power action and no false dead after the grace period', { timeout: 60_000 }, async () => {
    const connectsBefore = (await swarm!.stats()).connects;
    const [, conf] = broker.child.spawnargs.slice(1);
    down = Date.now();
    await broker.stop();
    broker = start('mosquitto', ['-c', conf!]);
    await broker.waitFor(/mosquitto version [\d.]+ running/, 10_000);
    const up = Date.now();
    await awaitReconnected(swarm!, controller!, NODES, connectsBefore);
    const back = Date.now();
    // The controller's grace begins when it reconnects, after `up`: `up + grace` is the strict bound.
    const graceEnd = up + GRACE_S * 1000;
    await watchWindow(Math.max(back, graceEnd));

    expect(power.calls(), 'power actions').toEqual([]);
    expect(deadSince(dataDir, graceEnd), 'dead after the grace period').toEqual([]);
    expect(await allAliveInRun(controller!, NODES), 'all alive in run at the end').toBe(true);
    console.log(
      `broker restart: down ${up - down} ms, all ${NODES} agents reconnected and alive ${back - up} ms after the broker was up; ` +
        `dead transitions during the outage and grace ${deadSince(dataDir, down).length}, after it 0; power actions 0`,
    );
  });

  it("republishes every node's retained state to the new broker", async () => {
    expect(down, 'the broker restarted').toBeGreaterThan(0);
    expect(await retainedStates()).toBe(NODES);
  });
});
