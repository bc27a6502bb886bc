import { createHash } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NetbootBuildSystem } from '../../controller/provision/netboot/netboot.js';
import { BuildError } from '../../controller/provision/types.js';
import { tempDir } from '../helpers/tmp.js';
import { catalogHarness, runBuildSystemConformance } from './conformance.js';

/** A netboot system on a fresh data dir; images are small real files added through the catalog. */
async function openNetboot(dir: string, now?: () => number) {
  return NetbootBuildSystem.open({ dataDir: join(dir, 'data'), controllerUrl: 'mqtt://10.0.2.2:1883', ...(now ? { now } : {}) });
}
function imageFiles(dir: string, name: string) {
  const kernel = join(dir, `${name}.kernel`);
  const initrd = join(dir, `${name}.initrd`);
  writeFileSync(kernel, `kernel of ${name}`);
  writeFileSync(initrd, `initrd of ${name}`);
  return { kernel, initrd, cmdline: 'console=ttyS0' };
}

runBuildSystemConformance('netboot', () => catalogHarness((dir) => openNetboot(dir), imageFiles));

describe('netboot specifics', () => {
  it('persists the catalog and node states across a restart, atomically', async () => {
    const tmp = tempDir('muster-netboot-');
    try {
      let t = 1_000;
      const first = await openNetboot(tmp.dir, () => t);
      const img = await first.addImage('rocky9', imageFiles(tmp.dir, 'rocky9'));
      expect(img.addedAt).toBe(1_000);
      t = 2_000;
      const vlan = { name: 'eth0.100', dhcp: false, addresses: ['10.2.0.11/24'], vlan: { id: 100, parent: 'eth0' } };
      await first.configure('n001', { image: 'rocky9', tags: ['gpu'], interfaces: [vlan] });
      await first.prepare('n001');
      // Many concurrent changes coalesce into few writes and all reach the file.
      const many = Array.from({ length: 40 }, (_, i) => `m${i}`);
      await Promise.all(many.map((n) => first.configure(n, { image: 'rocky9', tags: [], interfaces: [] }).then(() => first.prepare(n))));
      await first.close();

      const second = await openNetboot(tmp.dir);
      expect(second.image('rocky9')).toMatchObject({
        name: 'rocky9',
        cmdline: 'console=ttyS0',
        kernel: { path: join(tmp.dir, 'rocky9.kernel'), sha256: sha256('kernel of rocky9'), size: 'kernel of rocky9'.length },
        initrd: { sha256: sha256('initrd of rocky9') },
      });
      expect(await second.status('n001')).toEqual({ state: 'prepared', since: 2_000, detail: 'next network boot builds with image rocky9' });
      expect((await Promise.all(many.map((n) => second.status(n)))).every((s) => s.state === 'prepared')).toBe(true);
      expect(await second.bootScript('52:54:00:00:00:01', 'n001', 'http://h:1')).toContain('muster.if=eth0.100:10.2.0.11/24');

      await second.close();
      // Only the two state files remain: every temp file was renamed into place.
      expect(readdirSync(join(tmp.dir, 'data')).sort()).toEqual(['netboot-images.json', 'netboot-nodes.json']);
    } finally {
      tmp.remove();
    }
  });

  it('refuses bad image additions with typed errors naming the problem', async () => {
    const tmp = tempDir('muster-netboot-');
    const nb = await openNetboot(tmp.dir);
    try {
      const files = imageFiles(tmp.dir, 'img');
      await nb.addImage('img', files);
      const refused = async (p: Promise<unknown>, code: string, text: string) => {
        const err = await p.then(() => null, (e: unknown) => e);
        expect(err).toBeInstanceOf(BuildError);
        expect((err as BuildError).code).toBe(code);
        expect((err as BuildError).message).toContain(text);
      };
      await refused(nb.addImage('img', files), 'image-exists', 'image img already exists');
      const racing = await Promise.allSettled([nb.addImage('twin', files), nb.addImage('twin', files)]);
      expect(racing.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      await refused(nb.addImage('../x', files), 'bad-config', 'image "../x"');
      await refused(nb.addImage('other', { ...files, kernel: join(tmp.dir, 'missing') }), 'bad-config', `kernel ${join(tmp.dir, 'missing')}: no such file`);
      await refused(nb.addImage('other', { ...files, initrd: tmp.dir }), 'bad-config', 'is not a regular file');
      await refused(nb.addImage('other', { ...files, cmdline: 'a\nb' }), 'bad-config', 'cmdline must be one line');
      // replace: the same name with new files and a new command line.
      writeFileSync(files.kernel, 'kernel v2');
      await nb.addImage('img', { ...files, cmdline: 'quiet' }, { replace: true });
      expect(nb.image('img')).toMatchObject({ cmdline: 'quiet', kernel: { sha256: sha256('kernel v2') } });
    } finally {
      await nb.close();
      tmp.remove();
    }
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
