import { access, mkdir, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../store/atomic-file.js';
import type { NetworkConfig } from './config.js';
import { GRUB_CONFIG, LOADERS, SIGNED_CHAIN, grubScriptFile, tftpImageFile } from './dnsmasq-config.js';

/** What the Secure Boot chain needs of the build layer: a machine's grub script, and the image files scripts name. */
export interface GrubScripts {
  grubBoot(mac: string): Promise<{ script: string; images: ReadonlyArray<{ name: string; kernel: string; initrd: string }> }>;
}

/**
 * Fills muster's TFTP root for Secure Boot: links to the iPXE loaders (BIOS machines still load
 * them), to shim and to grub under the names the chain asks for, and grub/grub.cfg. Returns what
 * is missing on this machine (a package not installed), one line each; dnsmasq serves the rest.
 */
export async function fillTftpRoot(net: NetworkConfig, dir: string): Promise<string[]> {
  const links: Array<[name: string, target: string, pkg: string]> = [
    [LOADERS.bios, join(net.tftpRoot, LOADERS.bios), 'ipxe'],
    [LOADERS.efi64, join(net.tftpRoot, LOADERS.efi64), 'ipxe'],
    [SIGNED_CHAIN.shim, net.shim, 'shim-signed'],
    [SIGNED_CHAIN.grub, net.grub, 'grub-efi-amd64-signed'],
  ];
  const missing: string[] = [];
  for (const [name, target, pkg] of links) {
    await link(dir, name, target);
    if (!(await access(target).then(() => true, () => false))) missing.push(`${target} (TFTP ${name}) is missing: install Debian's ${pkg} package or set the path in network:`);
  }
  await writePublic(join(dir, SIGNED_CHAIN.config), GRUB_CONFIG);
  return missing;
}

/**
 * A machine's grub script where grub.cfg looks for it, and every netboot image's files where the
 * scripts name them: grub's network image reads files over TFTP only (it has no HTTP).
 */
export async function writeGrubBoot(dir: string, mac: string, boot: Awaited<ReturnType<GrubScripts['grubBoot']>>): Promise<void> {
  for (const image of boot.images) {
    for (const part of ['kernel', 'initrd'] as const) await link(dir, tftpImageFile(image.name, part), image[part]);
  }
  await writePublic(join(dir, grubScriptFile(mac)), boot.script);
}

async function link(dir: string, name: string, target: string): Promise<void> {
  const path = join(dir, name);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await rm(path, { force: true });
  await symlink(target, path);
}

/** dnsmasq running as root serves only world-readable files; boot scripts hold nothing secret. */
async function writePublic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, text, 0o644);
}
