/**
 * The `disk` build system on a UEFI machine with two NICs (OVMF, TCG): the firmware boots its
 * first NIC (qemu's iPXE EFI ROM), which chains to the controller and gets the installer; the
 * installer writes the image onto the empty disk its rule picks by serial (a second disk, as large, is not it), grows the root to the disk, adds
 * a boot entry for the disk's ESP loader and sets BootNext to it (efibootmgr), reports its progress and done and
 * reboots. The firmware then starts the disk without a network boot (BootNext), and Debian comes
 * up under systemd with the node's network: a bond (active-backup) of both NICs with an MTU and
 * DHCP, and a VLAN on the bond with a static address, all checked in the node's own report.
 * Prints the time from power-on to `run` by phase.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { FIRST_BUILD_MS, INSTALL_MS, PhaseClock, gunzippedBytes, prepareDiskNode, rootFsBytes, startDiskVm, useDiskLab } from '../provision/disk-vm.js';

const NIC1 = '52:54:00:21:01:01';
const NIC2 = '52:54:00:21:01:02';
const VLAN_ADDRESS = '10.9.0.5/24';

const t = useDiskLab();

it('installs onto the empty disk, sets BootNext to it, boots Debian from it without the network, with the bond and the VLAN configured', async () => {
  const node = await prepareDiskNode(t.lab, 'u1', NIC1, [
    `if.m1=up,mac=${NIC1}`,
    `if.m2=up,mac=${NIC2}`,
    'if.bond0=dhcp,mtu=1400,bond=m1+m2,mode=active-backup',
    `if.bond0.100=${VLAN_ADDRESS}`,
    // The rule chooses the target by its serial; a second disk, as large, is not it.
    'disk=serial:muster-target*,size>=2G',
  ]);
  const vm = (t.vm = startDiskVm(t.lab, 'uefi', [{ mac: NIC1, boots: true }, { mac: NIC2, boots: false }], [
    { name: 'target', serial: 'muster-target-1', bootable: true },
    { name: 'decoy', serial: 'decoy', bootable: false },
  ]));
  const clock = new PhaseClock(vm.startedAt);
  const at = (pattern: RegExp, since: number) => vm.line(pattern, since, INSTALL_MS).then((l) => l.at);

  // Power-on → the firmware's iPXE has an address → it fetched the node's script → the installer's kernel runs.
  const installerKernel = await at(/Linux version/, vm.startedAt);
  const first = (pattern: RegExp) => vm.linesSince(pattern, vm.startedAt)[0]?.at;
  clock.mark('dhcp', first(/net0: 10\.0\.2\.\d+/));
  clock.mark('loader', first(/\/boot\/\S+\.ipxe\.\.\./));
  clock.mark('kernel+initrd', installerKernel);
  const installed = clock.mark('installer', await at(/muster-init: installed: /, installerKernel));
  const build = await until('u1 installed', async () => { const b = await node.build(); return b.state === 'done' && b; }, 60_000, 250);
  expect(build.detail).toMatch(new RegExp(`^installed image deb \\(/dev/vda sha256 ${node.built.manifest.disk.sha256}, root \\d+ MiB, UEFI: BootNext Boot[0-9A-F]{4} \\(added, /dev/vda1 \\\\EFI\\\\BOOT\\\\BOOTX64\\.EFI\\), BootOrder [0-9A-F,]+\\); boots its disk$`));
  // What it did, in the controller's build history: the root grown, the next boot set.
  const bootNext = /UEFI: BootNext Boot([0-9A-F]{4})/.exec(build.detail!)![1]!;
  const order = /BootOrder ([0-9A-F,]+)/.exec(build.detail!)![1]!.split(',');
  expect(node.progress).toContain(`100% next boot: ${/^installed image deb \(.*?, (UEFI: .*)\); boots its disk$/.exec(build.detail!)![1]}`);
  expect(node.progress.some((p) => /^100% root \/dev\/vda2 grown to \d+ MiB$/.test(p))).toBe(true);
  expect(node.progress[0]).toBe('0% writing image to /dev/vda');
  // The disk's entry comes right after the network's (the controller stays first in line), and not first.
  expect(order.indexOf(bootNext)).toBeGreaterThan(0);

  // The reboot: the firmware starts the entry BootNext names, no network boot, then the disk's kernel.
  const diskKernelAt = await at(/Linux version/, installed);
  const started = vm.linesSince(/BdsDxe: starting Boot/, installed);
  expect(started.map((l) => /Boot[0-9A-F]{4}/.exec(l.text)?.[0])).toEqual([`Boot${bootNext}`]);
  clock.mark('disk firmware', started[0]!.at);
  const diskKernel = clock.mark('disk loader+kernel+initrd', diskKernelAt);
  clock.mark('initramfs', await at(/muster-init: root=LABEL=muster-root/, diskKernel));
  await until('u1 in phase run from its disk', async () => (await node.state()) === 'run', INSTALL_MS, 500);
  const runAt = Date.now();
  // Where systemd's part went, from its console lines (a line not seen sums into the next phase).
  const after = (pattern: RegExp) => vm.linesSince(pattern, diskKernel)[0]?.at;
  clock.mark('hand-over to systemd', after(/Welcome to /));
  // (Once the serial getty starts, systemd's status lines leave the console: networkd's start is the last one kept.)
  clock.mark('systemd to networkd', after(/Started .*systemd-networkd\.service/));
  clock.mark('network, agent and run', runAt);
  console.log(`UEFI disk install, from power-on to run: ${clock.summary()}`);
  expect(vm.linesSince(/iPXE|PXEv4|\.ipxe/, installed)).toEqual([]);

  // The root filesystem fills the 4 GiB disk: larger than the whole image it came from.
  const rootBytes = rootFsBytes(join(t.lab.dir, 'target.raw'));
  expect(rootBytes).toBeGreaterThan(gunzippedBytes(node.built.manifest.disk.path));
  expect(rootBytes).toBeGreaterThan(3.5 * 2 ** 30);
  // The second disk, which the rule did not pick, was not written.
  const decoy = openSync(join(t.lab.dir, 'decoy.raw'), 'r');
  const head = Buffer.alloc(1 << 20);
  readSync(decoy, head, 0, head.length, 0);
  closeSync(decoy);
  expect(head.every((b) => b === 0), 'the decoy disk is untouched').toBe(true);

  // The node's own report under systemd: the bond of both NICs, its MTU and DHCP address, the VLAN with its address.
  const installedHello = node.hellos.filter((h) => h.phase === 'init' || h.phase === 'run').at(-1)!;
  expect(installedHello.fingerprint.firmware?.bootMode).toBe('uefi');
  const nics = installedHello.fingerprint.nics;
  const byMac = (mac: string) => nics.find((n) => !n.virtual && n.mac === mac);
  const bond = nics.find((n) => n.name === 'bond0');
  const vlan = nics.find((n) => n.name === 'bond0.100');
  expect(bond).toMatchObject({ bondMode: 'active-backup', mtu: 1400 });
  expect(bond!.addresses?.some((a) => /^10\.0\.2\.\d+\/24$/.test(a))).toBe(true);
  for (const mac of [NIC1, NIC2]) expect(byMac(mac)).toMatchObject({ master: 'bond0', mtu: 1400 });
  expect(vlan).toMatchObject({ vlan: { id: 100, parent: 'bond0' }, mtu: 1400 });
  expect(vlan!.addresses).toContain(VLAN_ADDRESS);
}, FIRST_BUILD_MS + INSTALL_MS);
