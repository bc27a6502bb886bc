/**
 * A switch port heard after the hello (the netboot image's `--lldp-background`): the agent's first
 * hello carries no neighbour and it is discovered; the hello the link sends again with the grown
 * fingerprint, in the same session and boot, binds the node the port map names.
 */
import { expect, it } from 'vitest';
import { withNeighbours } from '../../agent/fingerprint/index.js';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import type { Event } from '../../shared/protocol.js';
import { simAgent, startInProc } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';

it('a hello sent again with the switch port binds the node the port map names', async () => {
  const c = await startInProc();
  let agent: ReturnType<typeof simAgent> | null = null;
  try {
    await c.client.request('define', { range: 'n007', settings: [] });
    await c.client.request('switch-add', { name: 'leaf7', settings: [] });
    await c.client.request('switch-port', { switch: 'leaf7', port: 'Ethernet1/7', node: 'n007', nic: 'eth0' });
    const events: Event[] = [];
    for (const kind of ['discovered', 'assigned']) {
      await c.running.ctx.bus.subscribe(`muster/events/${kind}`, (_t, payload) => events.push(JSON.parse(payload.toString('utf8')) as Event));
    }

    const plain = simFingerprint(7);
    agent = simAgent(c.running.mqttUrl, plain, 'mac-020000000007');
    await until('the agent discovered', () => events.find((e) => e.kind === 'discovered'));
    expect((await c.client.request('show', { node: 'n007' })).agentId).toBeNull();

    const port = { chassisId: '02:aa:00:00:00:07', portIdType: 'local', portId: 'Ethernet1/7', portDescription: 'n007 eth0', systemName: 'leaf7' };
    agent.link.updateFingerprint(withNeighbours(plain, new Map([['eth0', port]])), 'LLDP: eth0 → leaf7 Ethernet1/7');
    const assigned = await until('n007 assigned', () => events.find((e) => e.kind === 'assigned'));
    expect(assigned).toMatchObject({ node: 'n007', agentId: 'mac-020000000007', details: { by: 'switch-port' } });
    expect((await c.client.request('show', { node: 'n007' })).agentId).toBe('mac-020000000007');
    expect(events.map((e) => e.kind)).toEqual(['discovered', 'assigned']);
  } finally {
    await agent?.link.stop();
    await c.stop();
  }
});
