/**
 * The state manager in a real in-process controller, told things only by the event bus (and the
 * verbs that emit on it), read only through `ctx.nodeStates`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startInProc, type InProc } from '../helpers/inproc.js';

let c: InProc | null = null;
afterEach(async () => {
  await c?.stop();
  c = null;
});

describe('state manager driven by events', () => {
  it('tracks definitions (define, set, undefine) from node:changed, with no call into the manager', async () => {
    c = await startInProc();
    const { ctx } = c.running;
    expect(ctx.nodeStates.get('n1')).toBeNull();
    await c.client.request('define', { range: 'n[1-2]', settings: ['groups=rack1'] });
    expect(ctx.nodeStates.get('n1')).toMatchObject({ node: 'n1', phase: 'unknown', admin: 'online', power: 'unknown' });
    await c.client.request('set', { range: 'n2', settings: ['groups=rack2'] });
    expect(ctx.nodeStates.get('n2')).toMatchObject({ node: 'n2' });
    await c.client.request('undefine', { range: 'n1' });
    expect(ctx.nodeStates.get('n1')).toBeNull();
    expect(ctx.nodeStates.get('n2')).not.toBeNull();
  });

  it('takes power readings, hwlog changes and admin requests from the bus; the admin verb reads the outcome at once', async () => {
    c = await startInProc();
    const { ctx } = c.running;
    await c.client.request('define', { range: 'n1', settings: [] });
    ctx.events.emit('power:reading', { node: 'n1', power: 'off', at: ctx.now() });
    expect(ctx.nodeStates.get('n1')).toMatchObject({ power: 'off', phase: 'off' });
    ctx.events.emit('power:reading', { node: 'n404', power: 'on', at: ctx.now() }); // not defined: ignored
    expect(ctx.nodeStates.get('n404')).toBeNull();

    await c.client.request('hwlog-open', { node: 'n1', text: 'DIMM B2 errors' });
    expect(ctx.nodeStates.get('n1')!.faults).toBe(1);

    expect(await c.client.request('offline', { range: 'n1', reason: 'fan swap' })).toEqual({ nodes: ['n1'] });
    expect(ctx.nodeStates.get('n1')).toMatchObject({ admin: 'offline', reason: 'fan swap', adminBy: 'anonymous' });
    // Persisted by the time the verb answers (it flushes after the synchronous emit).
    expect(ctx.store.data.nodes.n1!.runtime).toMatchObject({ admin: 'offline', reason: 'fan swap' });
    await c.client.request('online', { range: 'n1' });
    expect(ctx.nodeStates.get('n1')).toMatchObject({ admin: 'online', adminBy: 'anonymous' });
  });

  it('a throwing listener beside it is logged and counted, and the state manager still hears the event', async () => {
    c = await startInProc();
    const { ctx } = c.running;
    await c.client.request('define', { range: 'n1', settings: [] });
    ctx.events.owner('faulty').on('power:reading', () => {
      throw new Error('faulty listener');
    });
    ctx.events.emit('power:reading', { node: 'n1', power: 'on', at: ctx.now() });
    expect(ctx.nodeStates.get('n1')!.power).toBe('on');
    expect(await ctx.metrics.registry.getSingleMetricAsString('muster_listener_errors_total')).toContain('muster_listener_errors_total{event="power:reading"} 1');
  });

  it('policy resume of a group that is not frozen is refused by the verb with the frozen list', async () => {
    c = await startInProc();
    await expect(c.client.request('policy-resume', { group: 'rack9' })).rejects.toThrow('policy resume: group "rack9" is not frozen (frozen: none)');
  });
});
