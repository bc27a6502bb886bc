/**
 * A boot script fetch is not a boot: anyone on the provisioning network may ask for
 * `/boot/<any MAC>.ipxe`, so a stranger asking for a prepared node's script must not move that
 * node to `building` (a later `run` would then release a build that never ran). The node's own
 * agent, reporting from the network boot, does.
 */
import { afterAll, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { simAgent } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';
import { addImage, secureControllerForFile } from './secure-controller.js';

const controller = secureControllerForFile([], { httpPort: 0, auth: { anonymousAgents: true, anonymousRole: null, agentTokens: [], trustExternalBroker: false } });
let agent: ReturnType<typeof simAgent> | null = null;
afterAll(async () => agent?.link.stop());

it("leaves a prepared node prepared when a stranger fetches its boot script; its own agent's hello from that boot makes it building", async () => {
  const c = controller();
  await addImage(c, 'compute');
  const fp = simFingerprint(7);
  await c.admin.request('define', { range: 'n7', settings: [`mac=${fp.bootMac}`, 'image=compute'] });
  expect((await c.admin.request('build', { range: 'n7' })).results).toEqual([{ node: 'n7', ok: true, system: 'netboot' }]);
  const state = async () => (await c.admin.request('build-status', { range: 'n7' }))[0]!.state;

  for (const spelling of [fp.bootMac!, fp.bootMac!.replace(/:/g, '-')]) {
    const res = await fetch(`${c.running.httpUrl}/boot/${spelling}.ipxe`);
    expect(await res.text()).toContain('/images/compute/kernel');
  }
  expect(await state()).toBe('prepared');

  agent = simAgent(c.running.mqttUrl, fp, 'mac-020000000007', 'kernel');
  await until('n7 building', async () => (await state()) === 'building');
});
