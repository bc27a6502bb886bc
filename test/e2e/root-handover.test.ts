/**
 * The netboot image's hand-over to an installed root (`root=`): /init starts the agent (phase
 * kernel), mounts the root, moves /run into it and switch_roots; the root's init finds the same
 * boot id under /run/muster, so the installed system's agent continues the same boot.
 * A real qemu VM (TCG, direct kernel boot) with an ext4 root disk made by mke2fs -d.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { start, type Proc } from '../helpers/proc.js';
import { requireBuild } from '../helpers/controller.js';
import { tempDir } from '../helpers/tmp.js';
import { labImage } from '../lab/image.js';

const tmp = tempDir('muster-root-');
let vm: Proc | undefined;

afterAll(async () => {
  await vm?.stop('SIGKILL');
  tmp.remove();
});

/** A root filesystem whose /sbin/init reports what it inherited from the initramfs, then powers off. */
function rootDisk(): string {
  const root = join(tmp.dir, 'root');
  for (const d of ['bin', 'sbin', 'dev', 'proc', 'sys', 'run']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  writeFileSync(
    join(root, 'sbin', 'init'),
    '#!/bin/sh\nB=/bin/busybox\necho "ROOT-INIT pid=$$ boot-id=$($B cat /run/muster/boot-id) phase=$($B cat /run/muster/phase) root=$($B stat -c %m /)"\n$B poweroff -f\n',
  );
  chmodSync(join(root, 'sbin', 'init'), 0o755);
  const disk = join(tmp.dir, 'root.ext4');
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', root, disk, '16M']);
  return disk;
}

it('hands over to root= with the boot id of the kernel phase', async () => {
  requireBuild();
  const image = labImage();
  const disk = rootDisk();
  vm = start('qemu-system-x86_64', [
    '-accel', 'tcg', '-m', '512', '-display', 'none', '-vga', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', image.kernel, '-initrd', image.initrd,
    // Port 9 (discard) is closed: the agent keeps retrying, which is all this test needs of it.
    '-append', 'console=ttyS0 root=/dev/vda rootfstype=ext4 muster.controller=mqtt://10.0.2.2:9 muster.interval=1',
    '-drive', `file=${disk},if=virtio,format=raw`,
    '-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:6c:61:10',
  ]);
  const agent = (await vm.waitFor(/muster-agent: \S+ \(from [^)]+\), boot ([0-9a-f]{32}), phase kernel/, 90_000)) as RegExpMatchArray;
  // ` root=` ends the phase: the console arrives in chunks, and `(\w+)` alone matched a half-arrived `kerne`.
  const root = (await vm.waitFor(/ROOT-INIT pid=(\d+) boot-id=([0-9a-f]{32}) phase=(\w+) root=/, 60_000)) as RegExpMatchArray;
  expect(root[1]).toBe('1'); // switch_root exec'd the root's init as PID 1
  expect(root[2]).toBe(agent[1]); // one boot, one id, across the switch
  expect(root[3]).toBe('kernel');
  expect(vm.output()).toContain('muster-init: root=/dev/vda');
}, 150_000);
