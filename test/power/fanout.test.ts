import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PowerDriver } from '../../controller/power/driver.js';
import { SimPowerPlant } from '../../controller/power/drivers/sim.js';
import { powerFanout, type PowerResult } from '../../controller/power/fanout.js';
import { createPowerDriver } from '../../controller/power/registry.js';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => `n${String(i + 1).padStart(3, '0')}`);

/** Sim drivers wrapped to count how many actions are in flight at once. */
function countingDrivers(targetFor: (node: string) => string) {
  const plant = new SimPowerPlant();
  const stats = { inFlight: 0, maxInFlight: 0, starts: [] as Array<{ node: string; at: number }> };
  const driverFor = (node: string): PowerDriver => {
    const d = createPowerDriver(targetFor(node), node, { simPlant: plant, timeoutMs: 1_000 });
    return {
      ...d,
      async run(action, opts) {
        stats.inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
        stats.starts.push({ node, at: Date.now() });
        try {
          return await d.run(action, opts);
        } finally {
          stats.inFlight--;
        }
      },
    };
  };
  return { plant, stats, driverFor };
}

beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
afterEach(() => vi.useRealTimers());

describe('powerFanout', () => {
  it('never runs more than the limit at once and reports every node', async () => {
    const { stats, driverFor, plant } = countingDrivers((node) => `sim://?delay=${10 + (Number(node.slice(1)) % 7) * 5}`);
    const seen: PowerResult[] = [];
    const done = powerFanout({ action: 'on', nodes: nodes(50), driverFor, concurrency: 4, onResult: (r) => seen.push(r) });
    await vi.runAllTimersAsync();
    const results = await done;
    expect(stats.maxInFlight).toBe(4);
    expect(results.map((r) => r.node)).toEqual(nodes(50));
    expect(results.every((r) => r.ok && r.ms >= 10)).toBe(true);
    expect(seen.map((r) => r.node).sort()).toEqual(nodes(50));
    expect(nodes(50).every((n) => plant.state(n) === 'on')).toBe(true);
  });

  it('spaces starts by the stagger', async () => {
    const { stats, driverFor } = countingDrivers(() => 'sim://?delay=1000');
    const done = powerFanout({ action: 'off', nodes: nodes(5), driverFor, concurrency: 20, staggerMs: 200 });
    await vi.advanceTimersByTimeAsync(0);
    expect(stats.starts.map((s) => s.node)).toEqual(['n001']);
    await vi.advanceTimersByTimeAsync(199);
    expect(stats.starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(stats.starts).toHaveLength(2);
    await vi.runAllTimersAsync();
    await done;
    expect(stats.starts.map((s) => s.at - 1_000_000)).toEqual([0, 200, 400, 600, 800]);
    expect(stats.maxInFlight).toBe(5); // 1 s actions overlap: the stagger spaces starts, it does not serialise
  });

  it('one failing, hanging or misconfigured node never stops the others', async () => {
    const targets: Record<string, string> = { n002: 'sim://?fail=status', n003: 'sim://?hang=status', n004: 'ipmi://nohost' };
    const { driverFor } = countingDrivers((node) => targets[node] ?? 'sim://?state=on');
    const done = powerFanout({ action: 'status', nodes: nodes(5), driverFor, concurrency: 2 });
    await vi.runAllTimersAsync();
    const results = await done;
    expect(results.map(({ ms: _ms, ...r }) => r)).toEqual([
      { node: 'n001', ok: true, state: 'on' },
      { node: 'n002', ok: false, code: 'failed', error: 'node n002: sim power status failed: simulated failure of status' },
      { node: 'n003', ok: false, code: 'timeout', error: 'node n003: sim power status failed: timed out after 1000 ms' },
      { node: 'n004', ok: false, code: 'target', error: 'node n004: bad power target "ipmi://nohost": missing user and password (put them in the URL or in the node credentials)' },
      { node: 'n005', ok: true, state: 'on' },
    ]);
  });

  it('refuses bad settings and duplicate nodes', async () => {
    const driverFor = () => createPowerDriver('sim://', 'n1');
    await expect(powerFanout({ action: 'on', nodes: ['n1'], driverFor, concurrency: 0 })).rejects.toThrow('concurrency must be a whole number ≥ 1, got 0');
    await expect(powerFanout({ action: 'on', nodes: ['n1', 'n2', 'n1'], driverFor })).rejects.toThrow('nodes listed twice: n1');
  });
});
