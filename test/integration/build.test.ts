/**
 * The build hand-off in a running controller: an image in the netboot catalog, a node with an
 * image and interfaces, `build` prepares it, the per-MAC iPXE script boots the image with the
 * controller URL and interface config, and the node is released once its agent reaches `run`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simFingerprint } from '../../controller/demo/sim-cluster.js';
import { startInProc, simAgent, type InProc } from '../helpers/inproc.js';
import { until } from '../helpers/wait.js';

let c: InProc;
let agent: ReturnType<typeof simAgent> | null = null;
beforeAll(async () => {
  c = await startInProc();
});
afterAll(async () => {
  await agent?.link.stop();
  await c.stop();
});


describe('build hand-off', () => {
  it('prepares a node, serves its iPXE script and image, and releases it once it runs', async () => {
    mkdirSync(join(c.dataDir, 'images'));
    const kernel = join(c.dataDir, 'images', 'vmlinuz');
    const initrd = join(c.dataDir, 'images', 'initrd.img');
    writeFileSync(kernel, Buffer.alloc(4096, 1));
    writeFileSync(initrd, Buffer.alloc(8192, 2));
    await c.client.request('image-add', { name: 'compute', kernel, initrd, cmdline: 'console=ttyS0' });
    expect((await c.client.request('images')).map((i) => [i.name, i.system])).toEqual([['compute', 'netboot']]);

    const fp = simFingerprint(7);
    await c.client.request('define', { range: 'n007', settings: [`mac=${fp.bootMac}`, 'image=compute', 'if.eth0=10.1.0.17/16,gw=10.1.0.1,mtu=9000'] });
    const bad = await c.client.request('set', { range: 'n007', settings: ['if.eth0=10.1.0.17/16,mtu=90000'] }).catch((e: Error) => e.message);
    expect(bad).toMatch(/if.eth0: mtu "90000" must be 68-65535/);

    const http = c.running.httpUrl!;
    const before = await (await fetch(`${http}/boot/${fp.bootMac}.ipxe`)).text();
    expect(before).toMatch(/exit|sanboot/); // not prepared: boot the local disk

    const r = await c.client.request('build', { range: 'n007' });
    expect(r.results).toEqual([{ node: 'n007', ok: true, system: 'netboot' }]);
    const script = await (await fetch(`${http}/boot/${fp.bootMac}.ipxe`)).text();
    expect(script).toContain(`/images/compute/kernel`);
    expect(script).toContain(`muster.controller=${c.running.mqttUrl}`);
    expect(script).toContain('muster.if=eth0:10.1.0.17/16,gw=10.1.0.1,mtu=9000');
    const part = await fetch(`${http}/images/compute/kernel`, { headers: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    // Fetching the script is not booting it: anyone may fetch any MAC's.
    expect((await c.client.request('build-status', { range: 'n007' }))[0]!.state).toBe('prepared');

    // The node's agent says hello from the network boot: the build started. It reaches run: the build is done and released.
    agent = simAgent(c.running.mqttUrl, fp, 'mac-020000000007', 'build');
    await until('n007 in phase build', async () => (await c.client.request('show', { node: 'n007' })).state?.phase === 'build');
    await until('the build of n007 started', async () => (await c.client.request('build-status', { range: 'n007' }))[0]!.state === 'building');
    agent.link.setPhase('kernel');
    agent.link.setPhase('init');
    agent.link.setPhase('run');
    await until('the build of n007 done', async () => (await c.client.request('build-status', { range: 'n007' }))[0]!.state === 'done');
    expect(await (await fetch(`${http}/boot/${fp.bootMac}.ipxe`)).text()).toMatch(/exit|sanboot/);
  });

  it('refuses a build for a node without an image, naming the fix', async () => {
    await c.client.request('define', { range: 'n008', settings: [] });
    const r = await c.client.request('build', { range: 'n008' });
    expect(r.results[0]).toMatchObject({ ok: false, error: 'node n008 has no image (muster set n008 image=NAME)' });
  });
});
