/**
 * The controller itself stalls (issue 26, point 4), the way it was found: a real controller
 * process is stopped with SIGSTOP for 10 s, well past the dead threshold (4 missed 1 s
 * heartbeats), and continued. Its 20 nodes are in groups of two, where the mass-silence breaker
 * cannot trip and hide a false `dead`. After SIGCONT: no `dead` from silence, no incident, no power action;
 * the controller says it was not running and holds its actions for the grace period.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Swarm } from '../../bench/soak-swarm-client.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { tempDir } from '../helpers/tmp.js';
import { allAliveInRun, defineNodes, EventRecorder, GRACE_S, journal, launchSwarm, powerScript, watchWindow, writeFaultConfig } from './faults-cluster.js';
import { until } from './lib.js';

const NODES = 20;
const STALL_MS = 10_000;

const tmp = tempDir('muster-stall-');
let controller: ControllerProc | null = null;
let swarm: Swarm | null = null;
let recorder: EventRecorder | null = null;
let power: ReturnType<typeof powerScript>;

beforeAll(async () => {
  power = powerScript(tmp.dir);
  controller = await startControllerProc(['--config', writeFaultConfig(tmp.dir)], { env: { MUSTER_LOG_LEVEL: 'warn' } });
  recorder = await EventRecorder.connect(controller.mqttUrl);
  await defineNodes(controller, tmp.dir, NODES, power.target, (i) => `pair${Math.ceil(i / 2)}`);
  swarm = await launchSwarm('stall', controller, [{ url: controller.mqttUrl, first: 1, count: NODES }]);
  // Past the start's grace period, so an action would not be held by it.
  await watchWindow(Date.now() + GRACE_S * 1000);
}, 120_000);

afterAll(async () => {
  controller?.proc.child.kill('SIGCONT');
  await recorder?.close();
  await swarm?.stop();
  await controller?.proc.stop('SIGKILL');
  tmp.remove();
});

describe(`the controller stopped for ${STALL_MS / 1000} s (SIGSTOP … SIGCONT)`, () => {
  it('blames nobody for its own absence: no dead from silence, no incident, no power action', { timeout: 90_000 }, async () => {
    const before = journal(controller!.dataDir).length;
    controller!.proc.child.kill('SIGSTOP');
    const stopped = Date.now();
    await until('the stall', () => (Date.now() >= stopped + STALL_MS ? true : undefined), STALL_MS + 5_000, 200);
    controller!.proc.child.kill('SIGCONT');
    const continued = Date.now();
    await watchWindow(continued + GRACE_S * 1000);

    const after = journal(controller!.dataDir).slice(before);
    // The embedded broker's keepalive timers fire before it reads the sockets and close the agents'
    // connections (their wills say so); the agents reconnect at once. Silence judges nobody.
    expect(after.filter((t) => t.axis === 'liveness' && t.to !== 'alive' && !t.cause.startsWith('will')), 'dead or suspect from silence').toEqual([]);
    expect(recorder!.of('incident'), 'incidents').toEqual([]);
    expect(power.calls(), 'power actions').toEqual([]);
    expect(recorder!.of('policy', 'grace').map((e) => e.message)).toEqual([expect.stringMatching(/^controller not running for (9|1\d) s: automatic actions held/)]);
    expect(await allAliveInRun(controller!, NODES), 'all alive in run').toBe(true);
    console.log(`controller stall: stopped ${continued - stopped} ms; transitions after it ${after.length} (wills ${after.filter((t) => t.cause.startsWith('will')).length}); dead from silence 0, incidents 0, power actions 0`);
  });
});
