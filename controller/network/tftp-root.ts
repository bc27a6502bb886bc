import { access, mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { NetworkConfig } from './config.js';
import { LOADERS, SIGNED_CHAIN } from './dnsmasq-config.js';

/**
 * Fills muster's TFTP root for Secure Boot: links to the iPXE loaders (BIOS machines still load
 * them), to shim and to grub under the names the chain asks for, and grub/grub.cfg. Returns what
 * is missing on this machine (a package not installed), one line each; dnsmasq serves the rest.
 */
export async function fillTftpRoot(net: NetworkConfig, dir: string, grubConfig: string): Promise<string[]> {
  const links: Array<[name: string, target: string, pkg: string]> = [
    [LOADERS.bios, join(net.tftpRoot, LOADERS.bios), 'ipxe'],
    [LOADERS.efi64, join(net.tftpRoot, LOADERS.efi64), 'ipxe'],
    [SIGNED_CHAIN.shim, net.shim, 'shim-signed'],
    [SIGNED_CHAIN.grub, net.grub, 'grub-efi-amd64-signed'],
  ];
  await mkdir(join(dir, dirname(SIGNED_CHAIN.config)), { recursive: true, mode: 0o700 });
  const missing: string[] = [];
  for (const [name, target, pkg] of links) {
    const link = join(dir, name);
    await rm(link, { force: true });
    await symlink(target, link);
    if (!(await access(target).then(() => true, () => false))) missing.push(`${target} (TFTP ${name}) is missing: install Debian's ${pkg} package or set the path in network:`);
  }
  await writeFileAtomic(join(dir, SIGNED_CHAIN.config), grubConfig);
  return missing;
}
