/** The driver-independent behaviour every PowerDriver gets: deadlines, typed errors, cycle. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PowerError, type PowerBackend, type PowerState } from '../../controller/power/driver.js';
import { guardBackend, type GuardSettings } from '../../controller/power/guarded.js';
import { SimPowerPlant } from '../../controller/power/drivers/sim.js';
import { createPowerDriver } from '../../controller/power/registry.js';

const settings: GuardSettings = { kind: 'test', node: 'n012', target: 'test://', secrets: ['hunter22'], nativeCycle: false, timeoutMs: 5_000, verifyOffTimeoutMs: 10_000, pollMs: 1_000 };

/** A BMC whose chassis takes `offLagMs` to read off after `power off`; it logs every call. */
function laggingBmc(offLagMs: number) {
  const log: string[] = [];
  let state: PowerState = 'on';
  const backend: PowerBackend = {
    status: async () => (log.push(`status:${state}`), state),
    on: async () => void (log.push('on'), (state = 'on')),
    off: async () => void (log.push('off'), setTimeout(() => (state = 'off'), offLagMs)),
    reset: async () => void log.push('reset'),
    cycle: async () => void log.push('native-cycle'),
  };
  return { backend, log };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('cycle', () => {
  it('is off, then status polls until off, then on', async () => {
    const { backend, log } = laggingBmc(2_500);
    const done = guardBackend(backend, settings).cycle();
    await vi.advanceTimersByTimeAsync(3_000);
    await done;
    expect(log).toEqual(['off', 'status:on', 'status:on', 'status:on', 'status:off', 'on']);
  });

  it('never powers on when the node does not read off in time', async () => {
    const { backend, log } = laggingBmc(60_000);
    const done = guardBackend(backend, settings).cycle().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(11_000);
    const err = (await done) as PowerError;
    expect(err).toBeInstanceOf(PowerError);
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(/^node n012: test power cycle failed: verify off: node did not read off within 10000 ms \(last: status on\)$/);
    expect(log).not.toContain('on');
  });

  it("uses the hardware's own cycle when declared safe", async () => {
    const { backend, log } = laggingBmc(0);
    await guardBackend(backend, { ...settings, nativeCycle: true }).cycle();
    expect(log).toEqual(['native-cycle']);
  });

  it('names the failing step', async () => {
    const plant = new SimPowerPlant();
    const d = createPowerDriver('sim://?fail=on&delay=10', 'n007', { simPlant: plant, pollMs: 10 });
    const done = d.cycle().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(((await done) as Error).message).toBe('node n007: sim power cycle failed: power on: simulated failure of on');
    expect(plant.state('n007')).toBe('off');
  });
});

describe('deadlines and errors', () => {
  it('a hanging BMC gives a timeout error at the deadline, distinguishable from a failure', async () => {
    const d = createPowerDriver('sim://?hang=status', 'n003', { simPlant: new SimPowerPlant(), timeoutMs: 2_000 });
    const done = d.status().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_999);
    let settled = false;
    void done.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = (await done) as PowerError;
    expect(err.timedOut).toBe(true);
    expect(err).toMatchObject({ node: 'n003', driver: 'sim', action: 'status', code: 'timeout' });
    expect(err.message).toBe('node n003: sim power status failed: timed out after 2000 ms');
  });

  it('per-call timeoutMs and caller signals override the default', async () => {
    const d = createPowerDriver('sim://?hang=off', 'n003', { simPlant: new SimPowerPlant() });
    const timed = d.off({ timeoutMs: 300 }).catch((e: PowerError) => e.message);
    await vi.advanceTimersByTimeAsync(300);
    expect(await timed).toContain('timed out after 300 ms');
    const ac = new AbortController();
    const aborted = d.off({ signal: ac.signal }).catch((e: PowerError) => e.code);
    ac.abort();
    expect(await aborted).toBe('aborted');
  });

  it('keeps secrets out of failure reasons', async () => {
    const backend: PowerBackend = { ...laggingBmc(0).backend, on: async () => Promise.reject(new Error('login hunter22 refused')) };
    const err = (await guardBackend(backend, settings).on().catch((e: unknown) => e)) as PowerError;
    expect(err.message).toBe('node n012: test power on failed: login *** refused');
    expect((err.cause as Error).message).toBe('login *** refused');
  });

  it('netbootOnce is there only where the backend has it, under the same deadline and scrubbing', async () => {
    expect(guardBackend(laggingBmc(0).backend, settings).netbootOnce).toBeUndefined();
    const modes: Array<string | null> = [];
    const refusing: PowerBackend = { ...laggingBmc(0).backend, netbootOnce: async (mode) => (modes.push(mode), Promise.reject(new Error('login hunter22 refused'))) };
    const err = (await guardBackend(refusing, settings).netbootOnce!('uefi').catch((e: unknown) => e)) as PowerError;
    expect(modes).toEqual(['uefi']);
    expect(err.message).toBe('node n012: test boot device pxe failed: login *** refused');
    const hanging: PowerBackend = { ...laggingBmc(0).backend, netbootOnce: () => new Promise(() => undefined) };
    const timedOut = guardBackend(hanging, settings).netbootOnce!(null, { timeoutMs: 300 }).catch((e: PowerError) => [e.code, e.action]);
    await vi.advanceTimersByTimeAsync(300);
    expect(await timedOut).toEqual(['timeout', 'bootdev']);
  });

  it('run() dispatches by action name and returns the state for status', async () => {
    const plant = new SimPowerPlant();
    const d = createPowerDriver('sim://?delay=0', 'n1', { simPlant: plant });
    const changes: string[] = [];
    plant.on('change', (node, state, action) => changes.push(`${node} ${action} ${state}`));
    const steps = (async () => [await d.run('on'), await d.run('status'), await d.run('reset'), await d.run('off'), await d.run('status')])();
    await vi.advanceTimersByTimeAsync(10);
    expect(await steps).toEqual([undefined, 'on', undefined, undefined, 'off']);
    expect(changes).toEqual(['n1 on on', 'n1 reset on', 'n1 off off']);
  });
});
