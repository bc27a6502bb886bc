/**
 * The controller itself stalls (issue 26, point 4; issue 25: no false `dead` from it), the way it
 * was found: a real controller process is stopped with SIGSTOP for 12 s, well past the dead
 * threshold (4 missed 1 s heartbeats) and past the agents' keepalive (5 s: they give up on the
 * stopped broker and reconnect), and continued. Its 20 nodes are in groups of two, where the
 * mass-silence breaker cannot trip and hide a false `dead`. One agent is killed during the stall.
 * After SIGCONT, watched until the embedded broker has settled the wills it held (those of
 * connections that ended after the stall): no node but the killed one goes `dead`, from silence
 * or by a will; the killed one does; no incident, no power action on the others; the controller
 * says it was not running and holds its actions for the grace period.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Swarm } from '../../bench/soak-swarm-client.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { tempDir } from '../helpers/tmp.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { STALL_WILL_HOLD_MS } from '../../controller/broker/stall-watch.js';
import { defineNodes, EventRecorder, GRACE_S, journal, launchSwarm, nodeName, nodeRows, powerScript, watchWindow, writeFaultConfig } from './faults-cluster.js';
import { until } from './lib.js';

const NODES = 20;
const STALL_MS = 12_000;
/** Killed during the stall: its will is read after it, and must still make it `dead`. */
const KILLED = NODES;
const killedAgent = `mac-${simFingerprint(KILLED).bootMac!.replace(/:/g, '')}`;

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

describe(`the controller stopped for ${STALL_MS / 1000} s (SIGSTOP … SIGCONT), one agent killed meanwhile`, () => {
  it('blames nobody else for its own absence: no dead from silence or by a will, no incident, no power action', { timeout: 120_000 }, async () => {
    const before = journal(controller!.dataDir).length;
    controller!.proc.child.kill('SIGSTOP');
    const stopped = Date.now();
    await until('the stall, half way', () => (Date.now() >= stopped + STALL_MS / 2 ? true : undefined), STALL_MS, 200);
    expect(await swarm!.kill([killedAgent])).toBe(1);
    await until('the stall', () => (Date.now() >= stopped + STALL_MS ? true : undefined), STALL_MS + 5_000, 200);
    controller!.proc.child.kill('SIGCONT');
    const continued = Date.now();
    // The killed agent's will is held for the agents' reconnect time, then sent; with this test's
    // 5 s grace period its silence judges it first (4 missed heartbeats counted from the grace's end).
    const killed = nodeName(KILLED);
    await until(`${killed} dead`, async () => (await nodeRows(controller!)).find((r) => r.node === killed)?.liveness === 'dead', STALL_WILL_HOLD_MS + 20_000, 500);
    const deadAfter = Date.now() - continued;
    // Past the hold: the wills of the agents that reconnected are dropped, not sent.
    await watchWindow(continued + Math.max(STALL_WILL_HOLD_MS, GRACE_S * 1000));

    const after = journal(controller!.dataDir).slice(before);
    const others = after.filter((t) => t.node !== killed);
    expect(others.filter((t) => t.axis === 'liveness' && t.to !== 'alive'), 'dead or suspect, from silence or by a will').toEqual([]);
    expect(after.filter((t) => t.node === killed && t.axis === 'liveness' && t.to === 'dead'), `${killed} dead once`).toHaveLength(1);
    expect(recorder!.of('incident'), 'incidents').toEqual([]);
    expect(power.calls().filter((c) => !c.endsWith(` ${killed}`)), 'power actions on nodes not killed').toEqual([]);
    expect(recorder!.of('policy', 'grace').map((e) => e.message)).toEqual([expect.stringMatching(/^controller not running for 1\d s: automatic actions held/)]);
    const rows = await nodeRows(controller!);
    expect(rows.filter((r) => r.node !== killed && !(r.liveness === 'alive' && r.phase === 'run')), 'the others alive in run').toEqual([]);
    console.log(`controller stall: stopped ${continued - stopped} ms; transitions after it ${after.length}; others dead 0, incidents 0; killed ${killed} dead ${deadAfter} ms after SIGCONT`);
  });
});
