/**
 * Faults (issue 9, item 7): a controller restart with 500 simulated nodes alive. A real
 * `muster controller` (embedded broker) is stopped with SIGTERM, and then killed with SIGKILL, and
 * started again on the same port and data directory; the swarm's agents reconnect by themselves.
 * After each restart: every node alive in `run` again, zero power actions (the `command:` script
 * appends every call to a file) and no `dead` transition after the grace period.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Swarm } from '../../bench/soak-swarm-client.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { allAliveInRun, awaitReconnected, deadSince, defineNodes, launchSwarm, powerScript, watchWindow, writeFaultConfig } from './faults-cluster.js';

const NODES = 500;
/**
 * The grace after a restart: 500 agents reconnecting at once (0.5-2.5 s apart) and heartbeating
 * again took longer than the shared 5 s when another test loaded the machine (a Chromium page of
 * 10,000 nodes): 90 nodes went dead by silence. The test is of what the grace guards, not its length.
 */
const RESTART_GRACE_S = 15;
const tmp = tempDir('muster-faults-restart-');
const dataDir = join(tmp.dir, 'data');
let controller: ControllerProc | null = null;
let swarm: Swarm | null = null;
let power: ReturnType<typeof powerScript>;
let start: () => Promise<ControllerProc>;

beforeAll(async () => {
  power = powerScript(tmp.dir);
  const config = writeFaultConfig(tmp.dir, [], 'muster.yaml', RESTART_GRACE_S);
  const port = await freePort();
  start = () => startControllerProc(['--mqtt-port', String(port), '--config', config], { dataDir, env: { MUSTER_LOG_LEVEL: 'warn' } });
  controller = await start();
  await defineNodes(controller, tmp.dir, NODES, power.target);
  swarm = await launchSwarm('faults-restart', controller, [{ url: controller.mqttUrl, first: 1, count: NODES }]);
}, 90_000);

afterAll(async () => {
  await swarm?.stop();
  await controller?.proc.stop('SIGKILL');
  tmp.remove();
});

describe(`controller restart with ${NODES} nodes alive`, () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`${signal}: no power action and no false dead after the grace period`, { timeout: 60_000 }, async () => {
      const connectsBefore = (await swarm!.stats()).connects;
      const down = Date.now();
      await controller!.proc.stop(signal);
      controller = await start();
      const up = Date.now();
      await awaitReconnected(swarm!, controller, NODES, connectsBefore);
      const back = Date.now();
      const graceEnd = down + RESTART_GRACE_S * 1000; // the grace began between `down` and `up`: the strict bound
      await watchWindow(Math.max(back, graceEnd));

      expect(power.calls(), 'power actions').toEqual([]);
      expect(deadSince(dataDir, graceEnd), 'dead after the grace period').toEqual([]);
      expect(await allAliveInRun(controller!, NODES), 'all alive in run at the end').toBe(true);
      const stats = await swarm!.stats();
      console.log(
        `controller ${signal}: down→up ${up - down} ms, all ${NODES} reconnected and alive ${back - up} ms after start; ` +
          `dead transitions during grace ${deadSince(dataDir, down).length}, after it 0; power actions 0; swarm connects ${stats.connects}`,
      );
    });
  }
});
