/**
 * The `disk` build system end to end in a qemu VM (BIOS, TCG) with an empty virtio disk: iPXE
 * chains to the controller, gets the installer (muster's initramfs with muster.install=), which
 * streams the image's disk onto the disk, checks its sha256, grows the root, reports done and
 * reboots; the next network boot is sent to the local disk (sanboot), which boots Debian under
 * systemd to `run`. The node's interface (by MAC, MTU 1400) is applied by systemd-networkd from
 * muster.if=, checked in the node's own report. The node's disk rule picks the target by its serial
 * (a second disk is not it) and the installer's progress reaches the controller. Shared setup:
 * disk-vm.ts; the UEFI machine with two NICs is test/e2e/disk-uefi.test.ts.
 */
import { expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { FIRST_BUILD_MS, INSTALL_MS, PhaseClock, prepareDiskNode, startDiskVm, useDiskLab } from './disk-vm.js';

const MAC = '52:54:00:21:00:02';

const t = useDiskLab();

it('installs the image onto an empty disk, is recorded as installed, and boots Debian from the disk to run with its network configuration', async () => {
  // The rule chooses the target by its serial; a second disk, as large, is not it.
  const node = await prepareDiskNode(t.lab, 'd1', MAC, [`if.nic0=dhcp,mtu=1400,mac=${MAC}`, 'disk=serial:muster-target*,size>=2G']);
  // -boot n: every boot starts with the network; once installed, muster sends it to its disk.
  const vm = (t.vm = startDiskVm(t.lab, 'bios', [{ mac: MAC, boots: true }], [
    { name: 'target', serial: 'muster-target-1', bootable: true },
    { name: 'decoy', serial: 'decoy', bootable: false },
  ]));
  const clock = new PhaseClock(vm.startedAt);
  await until('d1 in its build phase (the installer)', async () => (await node.state()) === 'build', INSTALL_MS, 1000);
  clock.mark('installer');
  await until('d1 installed', async () => (await node.build()).state === 'done', INSTALL_MS, 1000);
  clock.mark('installed');
  expect((await node.build()).detail).toMatch(new RegExp(`^installed image deb \\(/dev/vda sha256 ${node.built.manifest.disk.sha256}, root \\d+ MiB, BIOS: no UEFI boot entries to set, the network boot sends it to its disk\\); boots its disk$`));
  expect(node.progress[0]).toBe('0% writing image to /dev/vda');
  console.log(`progress reported: ${node.progress.join(' | ')}`);
  await vm.proc.waitFor(/muster-init: root=LABEL=muster-root/, INSTALL_MS);
  clock.mark('disk boot');
  await until('d1 in phase run from its disk', async () => (await node.state()) === 'run', INSTALL_MS, 1000);
  clock.mark('run');
  console.log(`BIOS disk install of ${node.built.manifest.key}, from qemu start: ${clock.summary()}`);

  const phases = (await t.lab.c.client.request('history', { node: 'd1', axis: 'phase' })).transitions.map((t) => t.to);
  expect(phases.slice(-4)).toEqual(['build', 'kernel', 'init', 'run']);
  // Recorded as installed: the next network boot goes to the disk.
  expect((await node.build()).state).toBe('done');
  expect(await (await fetch(`http://127.0.0.1:${t.lab.httpPort}/boot/${MAC}.ipxe`)).text()).toContain('sanboot --no-describe --drive 0x80');
  // The node's own reports: its NIC had the initramfs's MTU, and under systemd the one muster set
  // (systemd-networkd applied muster.if=, matching the NIC by its MAC).
  const mtuIn = (phases: string[]) => node.hellos.filter((h) => phases.includes(h.phase)).map((h) => h.fingerprint.nics.find((n) => n.mac === MAC)?.mtu);
  expect(mtuIn(['kernel']).at(-1)).toBe(1500);
  expect(mtuIn(['init', 'run']).at(-1)).toBe(1400);
}, FIRST_BUILD_MS + INSTALL_MS);
