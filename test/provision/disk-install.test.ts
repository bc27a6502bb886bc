/**
 * The `disk` build system end to end in a qemu VM (BIOS, TCG) with an empty virtio disk: iPXE
 * chains to the controller, gets the installer (muster's initramfs with muster.install=), which
 * streams the image's disk onto the disk, checks its sha256, reports done and reboots; the next
 * network boot is sent to the local disk (sanboot), which boots Debian under systemd to `run`.
 * The node's interface (by MAC, MTU 1400) is applied by systemd-networkd from muster.if=, checked
 * in the node's own report. The node's disk rule picks the target by its serial (a second disk is
 * not it) and the installer's progress reaches the controller. The image comes from the same cache as os-image.test.ts
 * (MUSTER_TEST_IMAGE_DIR, default /var/cache/muster-test/images).
 */
import { writeFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Hello } from '../../shared/protocol.js';
import { ensureBuilt } from '../helpers/bundle.js';
import { requireBuild } from '../helpers/controller.js';
import { startInProc, type InProc } from '../helpers/inproc.js';
import { freePort } from '../helpers/ports.js';
import { start, type Proc } from '../helpers/proc.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';
import { ipxeChainDir } from '../lab/vm.js';

const TEST_IMAGE_DIR = process.env.MUSTER_TEST_IMAGE_DIR ?? '/var/cache/muster-test/images';
const FIRST_BUILD_MS = 30 * 60_000;
/** Install (a 170 MB gzip'd disk through qemu's user network) and two boots under TCG on a loaded 2-core machine. */
const INSTALL_MS = 20 * 60_000;
const MAC = '52:54:00:21:00:02';

const tmp = tempDir('muster-disk-vm-');
let c: InProc;
let vm: Proc | undefined;
let httpPort = 0;

beforeAll(async () => {
  ensureBuilt('agent');
  requireBuild();
  const mqttPort = await freePort();
  httpPort = await freePort();
  c = await startInProc({ mqttPort, httpPort, advertiseUrl: `mqtt://10.0.2.2:${mqttPort}`, build: { imageDir: TEST_IMAGE_DIR, default: 'disk' } } as never);
}, 120_000);

afterAll(async () => {
  await vm?.stop('SIGKILL');
  await c?.stop();
  tmp.remove();
}, 120_000);

it('installs the image onto an empty disk, is recorded as installed, and boots Debian from the disk to run with its network configuration', async () => {
  const built = await c.client.request('image-build', { name: 'deb', suite: 'bookworm', packages: [] }, FIRST_BUILD_MS);
  console.log(`image ${built.manifest.key}: ${built.cached ? 'cached' : `built in ${built.manifest.buildMs} ms`}; disk ${built.manifest.disk.sizeBytes} B gzip'd`);
  expect(built.diskImage).toMatchObject({ name: 'deb', kind: 'disk', sha256: built.manifest.disk.sha256 });
  await c.client.request('define', { range: 'd1', settings: [`mac=${MAC}`] });
  // The rule chooses the target by its serial; a second disk, as large, is not it.
  await c.client.request('set', { range: 'd1', settings: ['image=deb', `if.nic0=dhcp,mtu=1400,mac=${MAC}`, 'disk=serial:muster-target*,size>=2G'] });
  const prepared = await c.client.request('build', { range: 'd1' });
  expect(prepared.results).toEqual([{ node: 'd1', ok: true, system: 'disk' }]);

  // The node's own reports: every hello (the installer's, the disk's initramfs's, the installed system's).
  const hellos: Hello[] = [];
  await c.client.stream([`${c.client.topics.prefix}/agents/+/hello`], (_t, payload) => hellos.push(JSON.parse(payload.toString()) as Hello));
  // The installer's progress, as the controller publishes it.
  const progress: string[] = [];
  await c.client.stream([`${c.client.topics.prefix}/events/build`], (_t, payload) => {
    const e = JSON.parse(payload.toString()) as { details?: { progress?: string } };
    if (e.details?.progress) progress.push(e.details.progress);
  });
  const disk = join(tmp.dir, 'disk.raw');
  const decoy = join(tmp.dir, 'decoy.raw');
  for (const file of [disk, decoy]) {
    writeFileSync(file, '');
    truncateSync(file, 4 * 2 ** 30);
  }
  const t0 = Date.now();
  const at: Record<string, number> = {};
  // -boot n: every boot starts with the network; once installed, muster sends it to its disk.
  vm = start('qemu-system-x86_64', [
    '-accel', 'tcg', '-m', '2048', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-boot', 'n',
    '-netdev', `user,id=n0,tftp=${ipxeChainDir(join(tmp.dir, 'tftp'), httpPort)},bootfile=boot.ipxe`,
    '-device', `virtio-net-pci,netdev=n0,mac=${MAC}`,
    '-drive', `file=${disk},if=none,id=target,format=raw`, '-device', 'virtio-blk-pci,drive=target,serial=muster-target-1',
    '-drive', `file=${decoy},if=none,id=decoy,format=raw`, '-device', 'virtio-blk-pci,drive=decoy,serial=decoy',
  ]);
  const state = async () => (await c.client.request('show', { node: 'd1' })).state?.phase;
  const build = async () => (await c.client.request('build-status', { range: 'd1' }))[0]!;
  await until('d1 in its build phase (the installer)', async () => (await state()) === 'build', INSTALL_MS, 1000);
  at.installer = Date.now() - t0;
  await until('d1 installed', async () => (await build()).state === 'done', INSTALL_MS, 1000);
  at.installed = Date.now() - t0;
  expect((await build()).detail).toMatch(new RegExp(`^installed image deb \\(/dev/vda sha256 ${built.manifest.disk.sha256}\\); boots its disk$`));
  expect(progress[0]).toBe('0% writing image to /dev/vda');
  console.log(`progress reported: ${progress.join(' | ')}`);
  await vm.waitFor(/muster-init: root=LABEL=muster-root/, INSTALL_MS);
  at.diskBoot = Date.now() - t0;
  await until('d1 in phase run from its disk', async () => (await state()) === 'run', INSTALL_MS, 1000);
  at.run = Date.now() - t0;
  console.log(`disk install of ${built.manifest.key}, ms from qemu start: ${JSON.stringify(at)}`);

  const phases = (await c.client.request('history', { node: 'd1', axis: 'phase' })).transitions.map((t) => t.to);
  expect(phases.slice(-4)).toEqual(['build', 'kernel', 'init', 'run']);
  // Recorded as installed: the next network boot goes to the disk.
  expect((await build()).state).toBe('done');
  expect(await (await fetch(`http://127.0.0.1:${httpPort}/boot/${MAC}.ipxe`)).text()).toContain('sanboot --no-describe --drive 0x80');
  // The node's own reports: its NIC had the initramfs's MTU, and under systemd the one muster set
  // (systemd-networkd applied muster.if=, matching the NIC by its MAC).
  const mtuIn = (phases: string[]) => hellos.filter((h) => phases.includes(h.phase)).map((h) => h.fingerprint.nics.find((n) => n.mac === MAC)?.mtu);
  expect(mtuIn(['kernel']).at(-1)).toBe(1500);
  expect(mtuIn(['init', 'run']).at(-1)).toBe(1400);
}, FIRST_BUILD_MS + INSTALL_MS);
