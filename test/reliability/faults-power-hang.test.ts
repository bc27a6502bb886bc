/**
 * Faults (issue 9, item 7): a power driver that hangs times out without blocking other nodes.
 * A real controller, ten nodes whose `command:` power script never returns for n001:
 * `muster power cycle n[001-010]` reports the other nine as they finish, within a few seconds,
 * and n001 as a timeout naming it, after the driver's default timeout (20 s) and not much later.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_MS } from '../../controller/power/guarded.js';
import { startControllerProc, type ControllerProc } from '../helpers/controller.js';
import { tempDir } from '../helpers/tmp.js';
import { defineNodes, EventRecorder, nodeName, powerScript, writeFaultConfig } from './faults-cluster.js';

const NODES = 10;
const HANGING = 'n001';
const tmp = tempDir('muster-faults-hang-');
let controller: ControllerProc;
let events: EventRecorder;
let power: ReturnType<typeof powerScript>;
let cycleRun: { code: number; stdout: string; stderr: string } | null = null;

beforeAll(async () => {
  power = powerScript(tmp.dir, [HANGING]);
  controller = await startControllerProc(['--config', writeFaultConfig(tmp.dir)], { env: { MUSTER_LOG_LEVEL: 'warn' } });
  await defineNodes(controller, tmp.dir, NODES, power.target);
  events = await EventRecorder.connect(controller.mqttUrl);
});

afterAll(async () => {
  await events?.close();
  await controller?.stop();
  tmp.remove();
});

interface Result {
  node: string;
  ok: boolean;
  error?: string;
  code?: string;
  ms: number;
}

describe('a hanging power driver', () => {
  it(`times out on ${HANGING} without holding up the other nodes`, { timeout: 60_000 }, async () => {
    const t0 = Date.now();
    const r = (cycleRun = await controller.cli(['power', 'cycle', `n[001-0${NODES}]`, '--json'], { allowFail: true }));
    const wall = Date.now() - t0;
    const results = JSON.parse(r.stdout) as Result[];
    expect(results.map((x) => x.node)).toEqual(Array.from({ length: NODES }, (_, k) => nodeName(k + 1)));

    const hung = results.find((x) => x.node === HANGING)!;
    expect(hung).toMatchObject({ ok: false, code: 'timeout' });
    expect(hung.error).toContain(HANGING);
    expect(hung.error).toMatch(/timed out after 20000 ms/);
    expect(hung.ms).toBeGreaterThanOrEqual(DEFAULT_TIMEOUT_MS);
    expect(hung.ms).toBeLessThan(DEFAULT_TIMEOUT_MS + 3000);

    const others = results.filter((x) => x.node !== HANGING);
    expect(others.every((x) => x.ok)).toBe(true);
    expect(Math.max(...others.map((x) => x.ms))).toBeLessThan(5000);
    // Each call ran the script once, with no retries; the hung one too (killed, not re-run).
    expect(power.calls().sort()).toEqual(results.map((x) => `cycle ${x.node}`).sort());

    // "Promptly" as an observer sees it: each healthy node's result event is out long before the
    // hung node's, not held back until the whole range is done.
    const actionAt = (node: string) => events.of('action').find((e) => e.node === node && (e.details.result as Result | undefined)?.node === node)?.at;
    const otherAt = others.map((x) => actionAt(x.node));
    expect(otherAt.every((at) => at !== undefined && at - t0 < 6000), `healthy results at +${otherAt.map((at) => (at ?? NaN) - t0).join(', ')} ms`).toBe(true);
    expect(actionAt(HANGING)! - t0).toBeGreaterThanOrEqual(DEFAULT_TIMEOUT_MS);
    expect(wall).toBeLessThan(DEFAULT_TIMEOUT_MS + 6000);
    console.log(`power hang: ${NODES - 1} healthy nodes done in ≤${Math.max(...others.map((x) => x.ms))} ms (events by +${Math.max(...otherAt.map((at) => at! - t0))} ms), ${HANGING} timed out after ${hung.ms} ms: "${hung.error}"; CLI wall time ${wall} ms`);
  });

  it('exits non-zero with --json too when a node failed (the CLI contract)', () => {
    expect(cycleRun, 'the power cycle ran').not.toBeNull();
    expect(cycleRun!.code).toBe(1);
  });
});
