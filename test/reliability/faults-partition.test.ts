/**
 * Faults (issue 9, item 7): a network partition of half the nodes. 500 swarm agents in one group
 * (rack1), half of them reaching the controller's broker through a TCP link the test cuts: their
 * connections reset and no reconnect gets through. The mass-silence breaker trips (one incident
 * for rack1), no node is power-cycled (the `command:` script appends every call to a file), and
 * when the link heals the agents reconnect and the group recovers by itself.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Swarm } from '../../bench/soak-swarm-client.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from './lib.js';
import { allAliveInRun, awaitReconnected, BREAKER_WINDOW_S, defineNodes, EventRecorder, launchSwarm, nodeName, nodeRows, powerScript, watchWindow, writeFaultConfig } from './faults-cluster.js';
import { partitionableLink } from '../helpers/link.js';

const NODES = 500;
const CUT = NODES / 2;
const tmp = tempDir('muster-faults-partition-');
let controller: ControllerProc;
let swarm: Swarm | null = null;
let link: Awaited<ReturnType<typeof partitionableLink>>;
let events: EventRecorder;
let power: ReturnType<typeof powerScript>;

beforeAll(async () => {
  power = powerScript(tmp.dir);
  controller = await startControllerProc(['--config', writeFaultConfig(tmp.dir)], { dataDir: join(tmp.dir, 'data'), env: { MUSTER_LOG_LEVEL: 'warn' } });
  await defineNodes(controller, tmp.dir, NODES, power.target);
  link = await partitionableLink(Number(new URL(controller.mqttUrl).port), await freePort());
  // n001…n250 behind the link, n251…n500 direct.
  swarm = await launchSwarm('faults-partition', controller, [
    { url: link.url, first: 1, count: CUT },
    { url: controller.mqttUrl, first: CUT + 1, count: NODES - CUT },
  ]);
  events = await EventRecorder.connect(controller.mqttUrl);
}, 90_000);

afterAll(async () => {
  await events?.close();
  await swarm?.stop();
  await link?.close();
  await controller?.proc.stop('SIGKILL');
  tmp.remove();
});

const livenessCounts = async () => (await nodeRows(controller)).reduce<Record<string, number>>((m, r) => ((m[r.liveness] = (m[r.liveness] ?? 0) + 1), m), {});

describe(`a partition of ${CUT} of ${NODES} nodes`, () => {
  it('trips the breaker once and powers nothing; the group recovers when the link heals', { timeout: 80_000 }, async () => {
    // Past the start-up grace: actions would be allowed now if the breaker did not hold them.
    await watchWindow(Date.now());
    const t0 = Date.now();
    await link.cut();

    const frozen = await until('the incident', () => events.of('incident', 'frozen')[0], 20_000);
    await until(`the ${CUT} cut-off nodes dead`, async () => ((await livenessCounts()).dead === CUT ? true : undefined), 20_000, 500);
    const cutDead = Date.now();
    // Past settle and backoff for every dead node: a lone dead node would have been reset by now.
    await watchWindow(cutDead);
    expect(power.calls(), 'power actions during the partition').toEqual([]);
    expect(events.of('incident', 'frozen')).toHaveLength(1);
    expect(frozen.details).toMatchObject({ group: 'rack1', size: NODES });
    const silent = frozen.details.silent as string[];
    expect(silent.every((n) => n <= nodeName(CUT)), 'only cut-off nodes are silent').toBe(true);
    expect(silent.length).toBeGreaterThan(NODES * 0.2);
    const rows = await nodeRows(controller);
    expect(rows.filter((r) => r.liveness === 'dead').every((r) => r.node <= nodeName(CUT)), 'the direct half stays alive').toBe(true);

    const connectsBefore = (await swarm!.stats()).connects - (NODES - CUT); // the direct half did not reconnect
    const healAt = Date.now();
    await link.heal();
    await awaitReconnected(swarm!, controller, NODES, connectsBefore);
    const back = Date.now();
    const recovered = await until('the recovery incident', () => events.of('incident', 'recovered')[0], BREAKER_WINDOW_S * 1000 + 5000);
    expect(recovered.details).toMatchObject({ group: 'rack1' });
    await watchWindow(back);
    expect(power.calls(), 'power actions after the partition').toEqual([]);
    expect(await allAliveInRun(controller, NODES)).toBe(true);
    console.log(
      `partition: incident ${frozen.at - t0} ms after the cut naming ${silent.length} silent of ${NODES}, all ${CUT} dead after ${cutDead - t0} ms; ` +
        `healed: all back alive ${back - healAt} ms later, recovered incident +${recovered.at - healAt} ms; power actions 0; incidents ${events.of('incident').map((e) => e.details.state).join(', ')}`,
    );
  });
});
