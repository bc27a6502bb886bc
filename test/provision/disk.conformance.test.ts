/**
 * The `disk` build system: netboot's machinery with images that carry a disk image. The
 * conformance suite, then what is its own: the installer's parameters in the boot script, its
 * image served under /disk/, and the install report over HTTP making the node `done` (next boot:
 * its disk) or `failed` with the reason.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNetbootHttpHandler } from '../../controller/provision/netboot/http.js';
import { NetbootBuildSystem } from '../../controller/provision/netboot/netboot.js';
import { BuildError } from '../../controller/provision/types.js';
import { tempDir } from '../helpers/tmp.js';
import { catalogHarness, runBuildSystemConformance } from './conformance.js';

async function openDisk(dir: string, name = 'disk') {
  return NetbootBuildSystem.open({ name, installsDisk: true, dataDir: join(dir, 'data'), controllerUrl: 'mqtt://10.0.2.2:1883' });
}
function imageFiles(dir: string, name: string) {
  const files = { kernel: join(dir, `${name}.kernel`), initrd: join(dir, `${name}.initrd`), disk: join(dir, `${name}.img.gz`) };
  for (const [part, path] of Object.entries(files)) writeFileSync(path, `${part} of ${name}`);
  return { ...files, cmdline: 'console=ttyS0' };
}

runBuildSystemConformance('disk', () => catalogHarness((dir) => openDisk(dir), imageFiles));

describe('disk specifics', () => {
  const MAC = '52:54:00:00:00:21';
  const tmp = tempDir('muster-disk-');
  let disk: NetbootBuildSystem;
  let netboot: NetbootBuildSystem;
  let server: http.Server;
  let base: string;
  /** Nodes whose installer reported its disk written (muster's evidence that the node reboots). */
  let installed: string[];
  /** The progress the installer reported, as the controller hears it. */
  let progress: Array<[string, string]>;
  /** The failures the installer reported, as the controller hears them. */
  let failed: Array<[string, string]>;
  beforeEach(async () => {
    installed = [];
    progress = [];
    failed = [];
    disk = await openDisk(tmp.dir);
    netboot = await NetbootBuildSystem.open({ dataDir: join(tmp.dir, 'data'), controllerUrl: 'mqtt://10.0.2.2:1883' });
    await disk.addImage('deb', imageFiles(tmp.dir, 'deb'));
    await disk.configure('n021', { image: 'deb', tags: [], interfaces: [{ mac: MAC, dhcp: true, addresses: [], mtu: 1400 }] });
    const handler = createNetbootHttpHandler({ netboot, others: [disk], scriptSystem: () => disk, nodeByMac: (mac) => (mac === MAC ? { name: 'n021' } : null), onReport: (node, outcome, detail) => {
        if (outcome === 'done') installed.push(node);
        if (outcome === 'progress') progress.push([node, detail]);
        if (outcome === 'failed') failed.push([node, detail]);
      } });
    server = http.createServer((req, res) => {
      if (!handler(req, res)) res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
    await Promise.all([disk.close(), netboot.close()]);
    tmp.remove();
  });

  /** The prepared node's boot script, fetched as the machine would; the installer's parameters from it. */
  async function bootScript(): Promise<{ script: string; install: string; sha256: string; report: string }> {
    const script = await (await fetch(`${base}/boot/${MAC}.ipxe`)).text();
    const param = (key: string) => new RegExp(` ${key.replace(/\./g, '\\.')}=(\\S+)`).exec(script)?.[1] ?? '';
    return { script, install: param('muster.install'), sha256: param('muster.install.sha256'), report: param('muster.install.report') };
  }

  it('refuses an image without a disk image, and netboot refuses one with it', async () => {
    const { disk: _none, ...bootOnly } = imageFiles(tmp.dir, 'x');
    const refused = await disk.addImage('x', bootOnly).catch((e: BuildError) => e);
    expect(refused).toBeInstanceOf(BuildError);
    expect((refused as BuildError).message).toContain('the disk build system installs a disk image');
    const netbootRefused = await netboot.addImage('x', imageFiles(tmp.dir, 'x')).catch((e: BuildError) => e.message);
    expect(netbootRefused).toContain('installs no disk images');
    expect(await disk.images()).toEqual([expect.objectContaining({ name: 'deb', kind: 'disk', sha256: createHash('sha256').update('disk of deb').digest('hex') })]);
  });

  it('a prepared node boots the installer with the disk image, its sha256 and its report URL; the report makes it done and its next boot local', async () => {
    await disk.prepare('n021');
    const { script, install, sha256, report } = await bootScript();
    expect(script).toContain(`kernel ${base}/disk/images/deb/kernel initrd=initrd console=ttyS0 muster.controller=mqtt://10.0.2.2:1883`);
    expect(script).toContain(`muster.if=52-54-00-00-00-21:dhcp,mtu=1400`);
    expect(install).toBe(`${base}/disk/images/deb/disk`);
    expect(sha256).toBe(createHash('sha256').update('disk of deb').digest('hex'));
    expect(report).toMatch(new RegExp(`^${base}/disk/install/n021/[0-9a-f]{32}$`));
    // Serving the script moves nothing (anyone may fetch any MAC's); the installer's agent does.
    expect((await disk.status('n021')).state).toBe('prepared');
    expect(await disk.buildStarted('n021', Date.now(), 'its agent booted the installer')).toBe(true);
    expect((await disk.status('n021')).state).toBe('building');
    // The installer fetches the disk image from the URL it was given.
    expect(await (await fetch(install)).text()).toBe('disk of deb');

    // Another token is not this build's: refused, nothing changes.
    const forged = await fetch(report.replace(/[0-9a-f]{32}$/, '0'.repeat(32)), { method: 'POST', body: 'done /dev/vda sha256 x' });
    expect(forged.status).toBe(404);
    expect((await disk.status('n021')).state).toBe('building');
    expect(installed).toEqual([]);
    expect((await fetch(report)).status).toBe(405);

    const ok = await fetch(report, { method: 'POST', body: `done /dev/vda sha256 ${sha256}` });
    expect(ok.status).toBe(200);
    expect(await disk.status('n021')).toMatchObject({ state: 'done', detail: `installed image deb (/dev/vda sha256 ${sha256}); boots its disk` });
    expect((await bootScript()).script).toContain('sanboot');
    expect(installed, 'the machine reboots into its disk now').toEqual(['n021']);
    // The token was used: a second report finds no install waiting.
    expect((await fetch(report, { method: 'POST', body: 'failed late' })).status).toBe(404);
  });

  it('the installer is told the disk rule and the image size, and its progress reports keep the node building with the detail', async () => {
    await disk.configure('n021', { image: 'deb', tags: [], interfaces: [], disk: 'size>=100G,model:SAMSUNG*' });
    await disk.prepare('n021');
    const { script, report } = await bootScript();
    expect(script).toContain(` muster.install.size=${'disk of deb'.length} `);
    expect(script).toContain(' muster.install.disk=size%3E=100G,model:SAMSUNG%2A ');
    for (const [body, detail] of [['progress 0 writing image to /dev/sdb', '0% writing image to /dev/sdb'], ['progress 45 writing image to /dev/sdb', '45% writing image to /dev/sdb']]) {
      expect((await fetch(report, { method: 'POST', body })).status).toBe(200);
      expect(await disk.status('n021')).toMatchObject({ state: 'building', detail });
    }
    expect(progress).toEqual([['n021', '0% writing image to /dev/sdb'], ['n021', '45% writing image to /dev/sdb']]);
    // The installer found no disk the rule chooses: failed, with its reason.
    expect((await fetch(report, { method: 'POST', body: 'failed no disk matches the rule size>=100G,model:SAMSUNG* (disks: vda 10.7 GB)' })).status).toBe(200);
    expect(await disk.status('n021')).toMatchObject({ state: 'failed', detail: 'install failed: no disk matches the rule size>=100G,model:SAMSUNG* (disks: vda 10.7 GB)' });
  });

  it('refuses a disk rule that does not parse', async () => {
    const refused = await disk.configure('n021', { image: 'deb', tags: [], interfaces: [], disk: 'largest' }).catch((e: BuildError) => e);
    expect(refused).toBeInstanceOf(BuildError);
    expect((refused as BuildError).message).toContain('disk: "largest" is not a rule');
  });

  it('a failed install is failed with the installer reason, and the node boots locally', async () => {
    await disk.prepare('n021');
    const { report } = await bootScript();
    const r = await fetch(report, { method: 'POST', body: 'failed checksum mismatch: fetched sha256 00, expected 11' });
    expect(r.status).toBe(200);
    expect(await disk.status('n021')).toMatchObject({ state: 'failed', detail: 'install failed: checksum mismatch: fetched sha256 00, expected 11' });
    expect(installed, 'a failed installer does not reboot').toEqual([]);
    expect(failed).toEqual([['n021', 'install failed: checksum mismatch: fetched sha256 00, expected 11']]);
    expect((await bootScript()).install).toBe('');
    // A new prepare is a new install with a new token.
    await disk.prepare('n021');
    const again = await bootScript();
    expect(again.report).not.toBe(report);
  });
});
