/**
 * The state manager in a real in-process controller, told things only by the event bus (and the
 * verbs that emit on it), read only through `ctx.nodeStates`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { Event } from '../../shared/protocol.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';

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

  it("an admin's power cycle marks the node: its line comes first, its effect is not detected, it is journalled with who", async () => {
    c = await startInProc({ heartbeatIntervalS: 1, policies: { grace: '0s', breaker: { settle: '0s' } } });
    const seen: Event[] = [];
    await c.client.stream([c.client.topics.allEvents], (_t, p) => void seen.push(Event.parse(JSON.parse(p.toString()))));
    const fp = simFingerprint(7);
    // Each driver call takes 300 ms: the agent dies while the cycle runs.
    await c.client.request('define', { range: 'n7', settings: [`mac=${fp.bootMac}`, 'power=sim://?delay=300'] });
    const agent = simAgent(c.running.mqttUrl, fp, 'mac-020000000007', 'run');
    await until('n7 alive', () => seen.find((e) => e.kind === 'transition' && e.node === 'n7' && e.details.to === 'alive'));
    expect((await c.client.request('show', { node: 'n7' })).next).toMatchObject({ state: 'idle', summary: 'nothing to do: healthy' });

    const cycle = c.client.request('power', { action: 'cycle', range: 'n7' });
    await until('the admin action started', () => seen.find((e) => e.kind === 'action' && e.node === 'n7' && e.details.state === 'started'));
    await agent.link.stop(); // the node goes down under the cycle: its will
    await until('n7 dead', () => seen.find((e) => e.kind === 'transition' && e.node === 'n7' && e.details.to === 'dead'));
    expect((await c.client.request('show', { node: 'n7' })).next).toMatchObject({ state: 'held', hold: 'admin-action', summary: expect.stringMatching(/^held: power-cycle by anonymous in flight since \d{4}-\d\d-\d\dT[\d:]+Z$/) });
    expect((await cycle).results).toMatchObject([{ node: 'n7', ok: true }]);
    await until('the cycle done', () => seen.find((e) => e.kind === 'action' && e.node === 'n7' && e.details.state === 'done' && e.details.by === 'anonymous'));

    const n7 = seen.filter((e) => e.node === 'n7');
    const started = n7.findIndex((e) => e.kind === 'action' && e.details.state === 'started');
    const dead = n7.findIndex((e) => e.kind === 'transition' && e.details.to === 'dead');
    expect(n7[started]!.message).toBe('n7 power-cycle by anonymous');
    expect(started).toBeLessThan(dead);
    expect(n7.filter((e) => e.kind === 'policy')).toEqual([]);
    expect((await c.client.request('show', { node: 'n7' })).next).toMatchObject({ state: 'held', hold: 'admin-action', summary: expect.stringMatching(/awaiting its boot until/) });

    const { transitions } = await c.client.request('history', { node: 'n7', axis: 'action' });
    expect(transitions.map((t) => [t.to, t.by])).toEqual([
      ['define done', 'anonymous'],
      ['power-cycle started', 'anonymous'],
      ['power-cycle done', 'anonymous'],
    ]);
  });
});
