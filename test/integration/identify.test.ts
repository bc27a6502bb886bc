/**
 * Identification in a running controller: two machines claiming one node are reported and never
 * merged; a node whose board changed is reported as drift with a hardware-log issue; a store whose
 * definitions cannot be indexed is reported at start and does not stop the controller.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { Event } from '../../shared/protocol.js';
import { simAgent, startInProc, type InProc } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';

let c: InProc;
const seen: Event[] = [];
const links: Array<ReturnType<typeof simAgent>> = [];
beforeAll(async () => {
  c = await startInProc();
  await c.client.stream([c.client.topics.allEvents], (_t, p) => void seen.push(Event.parse(JSON.parse(p.toString()))));
});
afterAll(async () => {
  await Promise.all(links.map((l) => l.link.stop()));
  await c.stop();
});


describe('identification in the controller', () => {
  it('reports a second live machine claiming a bound node as a conflict, and leaves it unbound', async () => {
    const fp = simFingerprint(50);
    await c.client.request('define', { range: 'n050', settings: [`mac=${fp.bootMac}`] });
    links.push(simAgent(c.running.mqttUrl, fp, 'mac-020000000050', 'run'));
    await until('n050 bound', () => seen.find((e) => e.kind === 'assigned' && e.node === 'n050'));
    // Another machine (other agent id) reports the same MAC: a cloned MAC or a mis-typed definition.
    links.push(simAgent(c.running.mqttUrl, fp, 'mac-0200000000aa', 'run'));
    const conflict = await until('a conflict', () => seen.find((e) => e.kind === 'conflict'));
    expect(conflict).toMatchObject({ node: 'n050', agentId: 'mac-0200000000aa' });
    expect(conflict.message).toMatch(/bound to live agent mac-020000000050/);
    const show = await c.client.request('show', { node: 'n050' });
    expect(show.agentId).toBe('mac-020000000050');
    expect((await c.client.request('discovered')).map((d) => d.agentId)).toEqual(['mac-0200000000aa']);
  });

  it('binds an agent already connected when a define creates its node, without a reconnect', async () => {
    const fp = simFingerprint(70);
    links.push(simAgent(c.running.mqttUrl, fp, 'mac-020000000070', 'run'));
    await until('discovered', () => seen.find((e) => e.kind === 'discovered' && e.agentId === 'mac-020000000070'));
    const hellos = async () => Number(/muster_messages_total\{kind="hello"\} (\d+)/.exec(await c.running.ctx.metrics.registry.getSingleMetricAsString('muster_messages_total'))?.[1] ?? 0);
    const before = await hellos();
    await c.client.request('define', { range: 'n070', settings: [`mac=${fp.bootMac}`] });
    const assigned = await until('n070 bound', () => seen.find((e) => e.kind === 'assigned' && e.node === 'n070'));
    expect(assigned.agentId).toBe('mac-020000000070');
    await until('n070 alive in run', () => (c.running.ctx.nodeStates.get('n070')?.liveness === 'alive' ? true : undefined));
    expect(c.running.ctx.nodeStates.get('n070')).toMatchObject({ phase: 'run', agentId: 'mac-020000000070' });
    expect(await hellos(), 'hellos since the define (none: no reconnect)').toBe(before);
  });

  it('reports a replaced board on a known node as drift and opens a hardware-log issue', async () => {
    const fp = simFingerprint(60);
    await c.client.request('define', { range: 'n060', settings: [`mac=${fp.bootMac}`] });
    const first = simAgent(c.running.mqttUrl, fp, 'mac-020000000060', 'run');
    await until('n060 bound', () => seen.find((e) => e.kind === 'assigned' && e.node === 'n060'));
    await first.link.stop();
    // Same agent id (the boot NIC), new mainboard: another DMI serial.
    links.push(simAgent(c.running.mqttUrl, { ...fp, dmi: { ...fp.dmi, serial: 'NEWBOARD01' } }, 'mac-020000000060', 'run'));
    const drift = await until('drift', () => seen.find((e) => e.kind === 'drift' && e.node === 'n060'));
    expect(drift.details.changes).toEqual([{ field: 'serial', was: 'SIM000060', now: 'NEWBOARD01' }]);
    const hw = await until('a hwlog issue', () => seen.find((e) => e.kind === 'hwlog' && e.node === 'n060'));
    expect(hw.message).toMatch(/opened by drift/);
    await until('the faults axis', () => (seen.some((e) => e.kind === 'transition' && e.node === 'n060')));
    const state = await c.client.request('show', { node: 'n060' });
    expect(state.state?.faults).toBe(1);
  });
});

describe('a store whose definitions the identification index refuses', () => {
  it('starts anyway, says why at start, and reports the hello it cannot identify', async () => {
    // The store's schema takes any UUID text; the index (built at start) refuses it.
    const n001 = { name: 'n001', ids: { uuid: 'not-a-uuid' }, createdAt: 1, updatedAt: 1 };
    const logged: Array<{ msg: string; err?: string }> = [];
    const sink = new Writable({
      write(line, _encoding, done) {
        logged.push(JSON.parse(String(line)));
        done();
      },
    });
    const bad = await startInProc({}, {
      log: pino({ level: 'error', base: undefined }, sink),
      prepare: (dataDir) => writeFileSync(join(dataDir, 'store.json'), JSON.stringify({ version: 1, nodes: { n001 }, agents: {} })),
    });
    try {
      expect(logged).toContainEqual({ level: 50, time: expect.any(Number), msg: 'identification index', err: 'node n001: bad UUID "not-a-uuid"' });
      const agent = simAgent(bad.running.mqttUrl, simFingerprint(7), 'mac-020000000007', 'run');
      const failed = await until('the hello reported', () => logged.find((l) => l.msg === 'identification failed'));
      await agent.link.stop();
      expect(failed).toMatchObject({ agentId: 'mac-020000000007', err: 'node n001: bad UUID "not-a-uuid"' });
    } finally {
      await bad.stop();
    }
  });
});
