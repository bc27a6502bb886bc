/**
 * The wall clock jumps forward an hour on the controller alone (issue 26, point 3), the way it
 * was found: libfaketime (Debian's `faketime`) preloaded into a real controller process, its
 * offset read from a file the test rewrites. The monotonic clock is left alone, as an NTP step or
 * `date -s` leaves it. 20 nodes heartbeat in groups of two (so the breaker cannot hide a false
 * `dead`), and one more sits quietly in `kernel`, its phase deadline 10 min away in real time.
 * After the jump: zero `dead`, zero incidents, zero power actions, the kernel node untouched; and
 * the states read by people show the new wall time.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Swarm } from '../../bench/soak-swarm-client.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { tempDir } from '../helpers/tmp.js';
import { defineNodes, EventRecorder, GRACE_S, HEARTBEAT_S, journal, nodeRows, powerScript, watchWindow, writeFaultConfig } from './faults-cluster.js';
import { until } from './lib.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';
const RUNNING = 20;
const KERNEL_NODE = RUNNING + 1;
const HOUR_MS = 3_600_000;

const tmp = tempDir('muster-clock-jump-');
const offsetFile = join(tmp.dir, 'faketime');
let controller: ControllerProc | null = null;
let swarm: Swarm | null = null;
let recorder: EventRecorder | null = null;
let power: ReturnType<typeof powerScript>;

beforeAll(async () => {
  if (!existsSync(LIBFAKETIME)) throw new Error(`${LIBFAKETIME} is missing: install Debian's faketime (scripts/deps.sh)`);
  writeFileSync(offsetFile, '+0\n');
  power = powerScript(tmp.dir);
  const config = writeFaultConfig(tmp.dir);
  controller = await startControllerProc(['--config', config], {
    env: {
      MUSTER_LOG_LEVEL: 'warn',
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: offsetFile,
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  });
  recorder = await EventRecorder.connect(controller.mqttUrl);
  await defineNodes(controller, tmp.dir, KERNEL_NODE, power.target, (i) => `pair${Math.ceil(i / 2)}`);
  swarm = await Swarm.launch('clock-jump');
  const common = { url: controller.mqttUrl, heartbeatMs: HEARTBEAT_S * 1000, bootS: null, connectRate: 500 };
  await swarm.start({ ...common, first: 1, count: RUNNING, phase: 'run' });
  await swarm.start({ ...common, first: KERNEL_NODE, count: 1, phase: 'kernel' });
  await until('every node alive in its phase', async () => {
    const rows = await nodeRows(controller!).catch(() => []);
    return rows.length === KERNEL_NODE && rows.every((r) => r.liveness === 'alive' && r.phase === (r.node === 'n021' ? 'kernel' : 'run')) ? true : undefined;
  }, 60_000, 500);
}, 120_000);

afterAll(async () => {
  await recorder?.close();
  await swarm?.stop();
  await controller?.proc.stop('SIGKILL');
  tmp.remove();
});

describe('the controller wall clock jumps forward 1 h', () => {
  it('changes no liveness and no deadline: no dead, no incident, no action, the kernel node untouched', { timeout: 90_000 }, async () => {
    // Past the start's grace period, so an action would not be held by it.
    await watchWindow(Date.now() + GRACE_S * 1000);
    const before = journal(controller!.dataDir).length;
    writeFileSync(offsetFile, '+1h\n');
    const jumped = Date.now();
    // Heartbeats go on through several ticks; a false dead would go to an action after the settle time.
    await watchWindow(jumped + 2_000);

    const rows = await nodeRows(controller!);
    const kernel = rows.find((r) => r.node === 'n021')!;
    const after = journal(controller!.dataDir).slice(before);
    expect(after.filter((t) => t.axis === 'liveness'), 'liveness transitions after the jump').toEqual([]);
    expect(recorder!.of('incident'), 'incidents').toEqual([]);
    expect(recorder!.of('policy').filter((e) => e.details.state !== 'grace'), 'policy events').toEqual([]);
    expect(power.calls(), 'power actions').toEqual([]);
    expect(kernel).toMatchObject({ phase: 'kernel', liveness: 'alive', admin: 'online' });
    expect(rows.every((r) => r.liveness === 'alive'), 'all alive').toBe(true);
    // The jump did happen, and what people read follows the wall clock.
    expect(Date.parse(rows[0]!.since), 'state times shown at the new wall time').toBeGreaterThan(jumped + HOUR_MS - 10 * 60_000);
  });
});
