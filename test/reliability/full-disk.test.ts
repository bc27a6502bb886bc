/**
 * A full disk (issue 9, item 7): the data directory on a 1 MB tmpfs the test mounts (needs root),
 * filled up. Store writes then fail loudly (the request that needed one is answered with the
 * reason), the controller is degraded (the `muster_degraded` gauge, a `degraded` event) and refuses
 * further changes, so they are neither applied nor listed, and the journal keeps failing
 * quietly-but-counted, while the controller keeps serving reads. Once space is back, the pending
 * write is retried and lands with no new change, and changes are accepted again.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { smallDisk, type SmallDisk } from '../helpers/small-disk.js';
import { EventRecorder } from './faults-cluster.js';
import { readStore, until } from './lib.js';

let disk: SmallDisk;
let c: InProc;
let events: EventRecorder;

beforeAll(async () => {
  disk = smallDisk('the full-disk test');
  const dataDir = join(disk.dir, 'data');
  mkdirSync(dataDir);
  c = await startInProc({ dataDir, storeDebounceMs: 0 });
  events = await EventRecorder.connect(c.running.mqttUrl);
});
afterAll(async () => {
  await events?.close();
  await c?.stop().catch(() => {});
  disk?.remove();
});

describe('a full disk', () => {
  it('makes store writes fail with the reason while reads are still served, and recovers', async () => {
    await c.client.request('define', { range: 'n001', settings: ['groups=rack1'] });
    // Fill what is left of the filesystem.
    disk.fill();
    await expect(c.client.request('define', { range: 'n[002-200]', settings: ['groups=rack1'] })).rejects.toThrow(/store .*store\.json: write failed: .*ENOSPC/);
    expect(c.running.ctx.store.error?.message).toMatch(/ENOSPC/);
    const degraded = () => c.running.ctx.metrics.registry.getSingleMetricAsString('muster_degraded');
    expect(await degraded()).toMatch(/^muster_degraded 1$/m);
    // Degraded: changes are refused before they touch memory, so they are not listed.
    await expect(c.client.request('define', { range: 'n300', settings: [] })).rejects.toThrow(/define: store not writable: store .*ENOSPC.*changes are refused until a write succeeds/);
    await expect(c.client.request('offline', { range: 'n001', reason: 'disk test' })).rejects.toThrow(/offline: store not writable/);
    const listed = await c.client.request('nodes', {});
    expect(listed.map((n) => n.node)).not.toContain('n300');
    expect(listed.find((n) => n.node === 'n001')?.admin).toBe('online');
    // The journal's appends fail too (each transition is a line): counted, never a crash.
    const journal = c.running.ctx.journal;
    for (let i = 0; i < 200; i++) journal.append({ node: 'n001', axis: 'admin', from: 'online', to: 'offline', cause: `disk full test ${'x'.repeat(10_000)}`, at: i });
    await journal.sync();
    expect(journal.error?.message).toMatch(/journal .*journal\.jsonl: .*ENOSPC/);
    // The controller still answers reads (from memory).
    const nodes = await c.client.request('nodes', {});
    expect(nodes.length).toBeGreaterThanOrEqual(1);
    // Space back: the pending write is retried and lands with no new change.
    disk.free();
    await until('the pending write retried', () => (c.running.ctx.store.error === null ? true : undefined), 60_000, 200);
    const onDisk = Object.keys(readStore(c.running.ctx.store.dir).nodes);
    expect(onDisk).toContain('n200');
    expect(onDisk).not.toContain('n300');
    expect(await degraded()).toMatch(/^muster_degraded 0$/m);
    await until('the recovered event', () => (events.of('degraded', 'recovered').length > 0 ? true : undefined), 10_000, 100);
    expect(events.of('degraded').map((e) => e.details.state)).toEqual(['degraded', 'recovered']);
    await c.client.request('define', { range: 'n201', settings: [] });
    journal.append({ node: 'n001', axis: 'admin', from: 'offline', to: 'online', cause: 'space is back', at: 1 });
    await journal.sync();
    expect(journal.error).toBeNull();
    expect((await journal.history({ node: 'n001' })).transitions.at(-1)?.cause).toBe('space is back');
  });
});
