/**
 * `muster demo hang|panic|kill NODE`: each drill on a real in-process demo controller (its
 * simulated nodes are real MQTT clients), detected by the state manager and corrected by its
 * policies as a real failure would be; refused where there is no demo.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { defaultExtensions } from '../../controller/extensions.js';
import type { Transition } from '../../shared/protocol.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';

let c: InProc | null = null;
afterEach(async () => {
  await c?.stop();
  c = null;
});

const line = (t: Transition) => `${t.axis} ${t.from} → ${t.to} (${t.cause})${t.by ? ` by ${t.by}` : ''}`;

describe('demo drills', () => {
  it('hang, panic and kill are each detected and corrected: the history holds the detection and the power action', async () => {
    c = await startInProc(
      // Three nodes failing at once would trip the mass-silence breaker (which is right for a
      // real rack, and tested elsewhere); here each drill must meet its own policy.
      { demo: 3, heartbeatIntervalS: 1, policies: { grace: '0s', breaker: { settle: '0s', minNodes: 100 } } },
      { extensions: (ctx) => defaultExtensions(ctx, { kernelS: [0.1, 0.2], initS: [0.1, 0.2] }) },
    );
    const { ctx } = c.running;
    const client = c.client;
    const nodes = { hang: 'demo01', panic: 'demo02', kill: 'demo03' } as const;
    const running = (node: string) => {
      const s = ctx.nodeStates.get(node);
      return s?.phase === 'run' && s.liveness === 'alive' ? s : null;
    };
    const firstBoot: Record<string, string | null> = {};
    for (const node of Object.values(nodes)) firstBoot[node] = (await until(`${node} running`, () => running(node))).bootId;

    for (const [drill, node] of Object.entries(nodes) as Array<[keyof typeof nodes, string]>) {
      expect(await client.request('demo', { drill, node })).toEqual({ node, drill });
    }
    // Corrected: each boots again (a new boot id) and runs.
    for (const node of Object.values(nodes)) await until(`${node} booted again`, () => running(node)?.bootId !== firstBoot[node] && running(node), 60_000);

    const history = async (node: string) => (await client.request('history', { node })).transitions.map(line);
    const hang = await history(nodes.hang);
    expect(hang).toContainEqual(expect.stringMatching(/^liveness suspect → dead \(no heartbeat for \d+ s/));
    expect(hang).toContainEqual(expect.stringMatching(/^action .* → reset started \(attempt 1\/3: dead-while-online: .*\) by policy dead-while-online$/));
    expect(hang).toContainEqual(expect.stringMatching(/^action .* → reset done .* by policy dead-while-online$/));
    // The connection was kept: no will, as a stopped (not a dead) machine.
    expect(hang.filter((l) => l.includes('will'))).toEqual([]);

    const panic = await history(nodes.panic);
    expect(panic).toContainEqual(expect.stringMatching(/^action .* → reset started \(attempt 1\/3: console-panic: console showed "kernel-panic" and the node went (suspect|dead)\) by policy console-panic$/));
    expect(panic).toContainEqual(expect.stringMatching(/^action .* → reset done .* by policy console-panic$/));
    const log = await client.request('console-tail', { node: nodes.panic, lines: 200 });
    expect(log.lines.some((l) => l.includes('Kernel panic - not syncing'))).toBe(true);

    const kill = await history(nodes.kill);
    expect(kill).toContainEqual(expect.stringMatching(/^liveness alive → dead \(will/));
    expect(kill).toContainEqual(expect.stringMatching(/^action .* → reset started \(.*\) by policy dead-while-online$/));
  }, 90_000);

  it('refuses a node that is not simulated', async () => {
    c = await startInProc({ demo: 1, heartbeatIntervalS: 1 });
    await c.client.request('define', { range: 'n1', settings: [] });
    await expect(c.client.request('demo', { drill: 'hang', node: 'n1' })).rejects.toThrow('demo hang: n1 is not a simulated node (the demo\'s are demo01)');
  });

  it('is refused on a controller without the demo', async () => {
    c = await startInProc();
    await c.client.request('define', { range: 'n1', settings: [] });
    await expect(c.client.request('demo', { drill: 'panic', node: 'n1' })).rejects.toThrow('demo panic: this controller runs no simulated nodes (drills are for one started with muster controller --demo N)');
  });
});
