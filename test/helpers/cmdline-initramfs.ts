import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

/** What the /init of `cmdlineInitramfs` prints: the kernel command line between the markers. */
export const CMDLINE_LINE = /MUSTER-CMDLINE: (.*) :END/;

/**
 * An initramfs in `dir`: busybox-static and an /init that prints the kernel command line
 * (`CMDLINE_LINE`) and powers off, so a test sees what its boot chain put on the kernel line.
 */
export function cmdlineInitramfs(dir: string): string {
  const root = join(dir, 'root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'proc'));
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  writeFileSync(join(root, 'init'), '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\necho "MUSTER-CMDLINE: $(/bin/busybox cat /proc/cmdline) :END"\n/bin/busybox poweroff -f\n');
  chmodSync(join(root, 'init'), 0o755);
  const out = join(dir, 'initrd.gz');
  execFileSync('sh', ['-c', `cd "${root}" && busybox find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "${out}"`]);
  return out;
}
