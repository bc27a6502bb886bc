import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { NetbootBuildSystem } from '../../controller/provision/netboot/netboot.js';
import { tempDir } from '../helpers/tmp.js';

const tmp = tempDir('muster-diskless-');
afterAll(() => tmp.remove());

it('keeps booting a diskless image after its build is done; a disk image goes local', async () => {
  const kernel = join(tmp.dir, 'k');
  const initrd = join(tmp.dir, 'i');
  writeFileSync(kernel, 'k');
  writeFileSync(initrd, 'i');
  const nb = await NetbootBuildSystem.open({ dataDir: join(tmp.dir, 'data'), controllerUrl: 'mqtt://10.0.2.2:1883' });
  await nb.addImage('ram', { kernel, initrd, diskless: true });
  await nb.addImage('disk', { kernel, initrd });
  const macs = { n1: '52:54:00:00:00:01', n2: '52:54:00:00:00:02' };
  await nb.configure('n1', { image: 'ram', tags: [], interfaces: [] });
  await nb.configure('n2', { image: 'disk', tags: [], interfaces: [] });
  for (const [node, mac] of Object.entries(macs)) {
    await nb.prepare(node);
    expect(await nb.bootScript(mac, node, 'http://c')).toContain('/kernel');
    await nb.buildStarted(node, Date.now(), 'its agent booted');
    await nb.release(node);
    expect((await nb.status(node)).state).toBe('done');
  }
  expect(await nb.bootScript(macs.n1, 'n1', 'http://c')).toContain('/images/ram/kernel');
  expect(await nb.bootScript(macs.n2, 'n2', 'http://c')).not.toContain('/images/');
  expect((await nb.images()).find((i) => i.name === 'ram')!.detail).toMatch(/^diskless, /);
  await nb.close();
});
