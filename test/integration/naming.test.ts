import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { startInProc, simAgent, type InProc } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';

let c: InProc;
const links: Array<ReturnType<typeof simAgent>> = [];
beforeAll(async () => {
  c = await startInProc();
});
afterAll(async () => {
  await Promise.all(links.map((l) => l.link.stop()));
  await c.stop();
});


describe('sequential naming', () => {
  it('names new machines in discovery order, skipping names already defined', async () => {
    await c.client.request('define', { range: 'n002', settings: ['mac=52:54:00:99:99:99'] });
    expect(await c.client.request('naming', { enabled: true, pattern: 'n[001-003]' })).toEqual({ enabled: true, pattern: 'n[001-003]' });
    const bad = await c.client.request('naming', { pattern: 'n[001-' }).catch((e: Error) => e.message);
    expect(bad).toMatch(/naming pattern: noderange "n\[001-"/);

    // One at a time, so discovery order is the order of hellos.
    for (let i = 1; i <= 3; i++) {
      links.push(simAgent(c.running.mqttUrl, simFingerprint(i), `mac-02000000000${i}`));
      await until(`agent ${i} bound or discovered`, async () => {
        const seen = await c.client.request('nodes', {});
        const d = await c.client.request('discovered', {});
        return seen.filter((n) => n.agentId).length + d.length === i ? true : undefined;
      });
    }
    const nodes = await c.client.request('nodes', {});
    expect(nodes.map((n) => [n.node, n.agentId])).toEqual([
      ['n001', 'mac-020000000001'],
      ['n002', null],
      ['n003', 'mac-020000000002'],
    ]);
    // The range is used up: the third machine waits for an admin.
    expect((await c.client.request('discovered', {})).map((d) => d.agentId)).toEqual(['mac-020000000003']);
  });
});
