/**
 * The power service in a real controller: the background power sync's status reads take no action
 * slot, so an admin's action during a sync runs instead of failing as "in flight"; the count of
 * driver calls in flight the bench reads.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultExtensions } from '../../controller/extensions.js';
import type { PowerService } from '../../controller/power/service.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

/** A controller whose power sync runs only when the test calls it. */
async function withPowerHandle(config: Parameters<typeof startInProc>[0] = {}): Promise<{ c: InProc; power: PowerService }> {
  let power: PowerService | undefined;
  const c = await startInProc(
    { power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0, groups: {} }, ...config },
    {
      extensions: (ctx) => {
        const exts = defaultExtensions(ctx);
        power = exts.find((e) => e.name === 'power') as PowerService;
        return exts;
      },
    },
  );
  return { c, power: power! };
}

describe('power service', () => {
  let c: InProc | undefined;
  const tmp = tempDir('muster-power-service-');
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  it('runs an admin action on a node the power sync is reading', async () => {
    const started = await withPowerHandle();
    c = started.c;
    const { power } = started;
    // Every driver call takes 1 s: the sync's read is still running when the admin acts.
    await c.client.request('define', { range: 'n1', settings: ['power=sim://?delay=1000&state=on'] });
    const sync = power.poll();
    expect(power.inFlight('n1')).toBe(false);
    const { results } = await c.client.request('power', { action: 'off', range: 'n1' });
    expect(results).toMatchObject([{ node: 'n1', ok: true }]);
    await sync;
    await until('the node reads off', async () => (await c!.client.request('show', { node: 'n1' })).state?.power === 'off');
  });

  it('still refuses a second action on a node whose action is in flight', async () => {
    c = await startInProc({ power: { concurrency: 20, staggerMs: 0, pollIntervalS: 0, groups: {} } });
    await c.client.request('define', { range: 'n1', settings: ['power=sim://?delay=1000'] });
    const first = c.client.request('power', { action: 'on', range: 'n1' });
    await until('the first action is in flight', async () => (await c!.client.request('power', { action: 'status', range: 'n1' })).results[0]?.error?.includes('in flight'));
    const { results } = await c.client.request('power', { action: 'off', range: 'n1' });
    expect(results).toMatchObject([{ node: 'n1', ok: false, error: 'node n1: another power action is in flight' }]);
    expect((await first).results).toMatchObject([{ ok: true }]);
  });

  it("does not take a reading an action overtook for the node's power", async () => {
    // Status reads take 1.5 s and say on; off is at once.
    const script = join(tmp.dir, 'slow-status.sh');
    writeFileSync(script, '#!/bin/sh\n[ "$1" = status ] && { sleep 1.5; echo on; }\nexit 0\n');
    chmodSync(script, 0o755);
    const started = await withPowerHandle({ commands: { allowedDirs: [tmp.dir] } });
    c = started.c;
    await c.client.request('define', { range: 'n1', settings: [`power=command:${script}`] });
    const sync = started.power.poll();
    expect((await c.client.request('power', { action: 'off', range: 'n1' })).results).toMatchObject([{ ok: true }]);
    expect((await c.client.request('show', { node: 'n1' })).state?.power).toBe('off');
    await sync;
    expect((await c.client.request('show', { node: 'n1' })).state?.power).toBe('off');
    // A read that no action overtook is taken.
    await started.power.poll();
    expect((await c.client.request('show', { node: 'n1' })).state?.power).toBe('on');
  });

  it('counts the driver calls in flight: never more than the concurrency, and none once all are done', async () => {
    // The define's own reads run 2 at a time, the cycle 3 at a time.
    c = await startInProc({ power: { concurrency: 2, staggerMs: 0, pollIntervalS: 0, groups: {} } });
    await c.client.request('define', { range: 'n[01-12]', settings: ['power=sim://?delay=20&state=on'] });
    const metric = async (name: string) => (await c!.running.ctx.metrics.registry.getSingleMetric(name)!.get()).values[0]?.value;
    await until('the reads of the define are done', async () => (await metric('muster_power_calls_in_flight')) === 0);
    const { results } = await c.client.request('power', { action: 'cycle', range: 'n[01-12]', concurrency: 3 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await metric('muster_power_calls_in_flight')).toBe(0);
    // The fan-out fills its 3 slots at once and starts the next call only as one ends.
    expect(await metric('muster_power_calls_in_flight_max')).toBe(3);
  });
});
