/**
 * dnsmasq's configuration, rendered from the controller config's `network:` section (the main
 * file) and the node table (the hosts file, re-read on SIGHUP). Pure: text in, text out.
 */
import { inSubnet } from '../../shared/node-network.js';
import type { InterfaceConfig } from '../../shared/node-network.js';
import { subnetParts, type NetworkConfig } from './config.js';

/** The files of muster's dnsmasq, in muster's data dir. */
export interface DnsmasqFiles {
  hostsFile: string;
  leaseFile: string;
  /** The TFTP root muster fills under Secure Boot: the loaders linked in, and grub/grub.cfg. */
  tftpDir: string;
  /** The user dnsmasq runs as after binding its ports: the controller's own, so it reads the 0700 data directory. */
  user: string;
}

/** What the hosts file needs of a node definition. */
export interface NodeAddressing {
  name: string;
  macs: readonly string[];
  interfaces: readonly InterfaceConfig[];
}

/** The first-stage loaders from Debian's ipxe package, by firmware. */
export const LOADERS = { bios: 'undionly.kpxe', efi64: 'snponly.efi' } as const;

/**
 * The Secure Boot chain's files in muster's TFTP root: shim, then grub under the name shim loads
 * from its own directory, then the config grub's network image reads (its prefix is /grub).
 */
export const SIGNED_CHAIN = { shim: 'shimx64.efi', grub: 'grubx64.efi', config: 'grub/grub.cfg' } as const;

/** What a UEFI x86-64 machine loads first: shim under Secure Boot, else iPXE. */
const efiLoader = (net: NetworkConfig) => (net.secureBoot ? SIGNED_CHAIN.shim : LOADERS.efi64);

/** The TFTP root: muster's own directory under Secure Boot (shim, grub and grub.cfg beside the loaders), else the loaders' directory. */
export const tftpRoot = (net: NetworkConfig, files: Pick<DnsmasqFiles, 'tftpDir'>) => (net.secureBoot ? files.tftpDir : net.tftpRoot);

/**
 * grub/grub.cfg: grub's network image reads it over TFTP and goes on with the script of the MAC it
 * booted from, which muster writes beside it (`grubScriptFile`) when it hands that machine shim;
 * retried every 10 s while there is none.
 */
export const GRUB_CONFIG = [
  '# Written by muster; edits here are overwritten.',
  'echo "muster: reading ${prefix}/${net_default_mac}.grub"',
  'source ${prefix}/${net_default_mac}.grub',
  'echo "muster: no boot script for ${net_default_mac} here, retrying in 10 s"',
  'sleep 10',
  'configfile ${prefix}/grub.cfg',
  '',
].join('\n');

/** Where grub/grub.cfg looks for a machine's script, in the TFTP root. */
export const grubScriptFile = (mac: string) => `grub/${mac}.grub`;

/** Where grub scripts find an image's files, in the TFTP root (boot/grub/node.grub). */
export const tftpImageFile = (image: string, part: 'kernel' | 'initrd') => `images/${image}/${part}`;

/**
 * The iPXE script URL. `netX` is the interface iPXE booted from, so a machine with several NICs
 * asks for the script of the MAC that PXE-booted, not its first NIC's.
 */
export function scriptUrl(net: NetworkConfig): string {
  return `${base(net)}/boot/\${netX/mac}.ipxe`;
}

/** Where UEFI HTTP boot fetches the x86-64 loader (firmware HTTP boot runs EFI binaries, not scripts). */
export function httpLoaderUrl(net: NetworkConfig): string {
  return `${base(net)}/loaders/${LOADERS.efi64}`;
}

const base = (net: NetworkConfig) => net.httpUrl.replace(/\/+$/, '');

export function renderDnsmasqConfig(net: NetworkConfig, files: DnsmasqFiles): string {
  const { network, netmask } = subnetParts(net.subnet);
  const lines = [
    '# Written by muster from the controller config (network:); edits here are overwritten.',
    // DNS stays off: muster serves the boot chain, the site keeps its resolvers.
    'port=0',
    // No pid file: muster supervises the process it started.
    'pid-file=',
    `user=${files.user}`,
    'bind-interfaces',
    `interface=${net.interface}`,
    `dhcp-leasefile=${files.leaseFile}`,
    `dhcp-hostsfile=${files.hostsFile}`,
    'log-dhcp',
    'log-facility=-',
    'enable-tftp',
    `tftp-root=${tftpRoot(net, files)}`,
    // A client that is already iPXE (user class 77) gets the script, so it never chain-loads itself again.
    'dhcp-userclass=set:ipxe,iPXE',
  ];
  if (net.mode === 'dhcp') {
    lines.push(
      // Client architecture (option 93): 7 and 9 are x86-64 UEFI; everything else boots the BIOS loader.
      'dhcp-match=set:efi64,option:client-arch,7',
      'dhcp-match=set:efi64,option:client-arch,9',
      'dhcp-vendorclass=set:httpboot,HTTPClient',
      `dhcp-range=${net.pool!.start},${net.pool!.end},${netmask},${net.leaseTime}`,
      // muster owns this subnet's addresses: answer at once after a restart instead of waiting out leases.
      'dhcp-authoritative',
      ...(net.router ? [`dhcp-option=option:router,${net.router}`] : []),
      `dhcp-boot=tag:ipxe,${scriptUrl(net)}`,
      `dhcp-boot=tag:!ipxe,tag:httpboot,${httpLoaderUrl(net)}`,
      // UEFI HTTP boot takes a reply only when it names itself HTTPClient in option 60.
      'dhcp-option-force=tag:!ipxe,tag:httpboot,60,HTTPClient',
      `dhcp-boot=tag:!ipxe,tag:!httpboot,tag:efi64,${efiLoader(net)}`,
      `dhcp-boot=tag:!ipxe,tag:!httpboot,tag:!efi64,${LOADERS.bios}`,
    );
  } else {
    lines.push(
      `dhcp-range=${network},proxy,${netmask}`,
      // PXE client system types (option 93): x86PC is BIOS; BC_EFI (7) and X86-64_EFI (9) are x86-64 UEFI.
      ...pxeServices('tag:!ipxe', (file) => `muster: load ${file === SIGNED_CHAIN.shim ? 'shim' : 'iPXE'}`, { x86PC: LOADERS.bios, BC_EFI: efiLoader(net), 'X86-64_EFI': efiLoader(net) }),
      ...pxeServices('tag:ipxe', () => 'muster: boot script', { x86PC: scriptUrl(net), BC_EFI: scriptUrl(net), 'X86-64_EFI': scriptUrl(net) }),
    );
  }
  return `${lines.join('\n')}\n`;
}

function pxeServices(tag: string, text: (file: string) => string, files: Record<string, string>): string[] {
  return Object.entries(files).map(([csa, file]) => `pxe-service=${tag},${csa},"${text(file)}",${file}`);
}

/**
 * The hosts file: one `dhcp-host` line per MAC of a defined node, with the node's name and, in dhcp
 * mode, its fixed address (the first IPv4 address in the provisioning subnet on the interface with
 * that MAC). A MAC or address claimed twice is left to its first node (by name) and reported.
 */
export function renderDhcpHosts(net: NetworkConfig, nodes: readonly NodeAddressing[]): { text: string; problems: string[] } {
  const lines = ['# Written by muster from the node table; edits here are overwritten.'];
  const problems: string[] = [];
  const macOwner = new Map<string, string>();
  const addressOwner = new Map<string, string>();
  for (const node of [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const macs = new Set([...node.macs, ...node.interfaces.flatMap((i) => (i.mac ? [i.mac] : []))]);
    for (const mac of [...macs].sort()) {
      const owner = macOwner.get(mac);
      if (owner) {
        problems.push(`node ${node.name}: MAC ${mac} is also node ${owner}'s; dnsmasq knows it as ${owner}`);
        continue;
      }
      macOwner.set(mac, node.name);
      let address = net.mode === 'dhcp' ? fixedAddress(net, node.interfaces, mac) : null;
      const holder = address ? addressOwner.get(address) : undefined;
      if (address && holder) {
        problems.push(`node ${node.name}: address ${address} (MAC ${mac}) is also node ${holder}'s; ${node.name} gets a pool address`);
        address = null;
      }
      if (address) addressOwner.set(address, node.name);
      const name = HOST_NAME.test(node.name) ? node.name : null;
      if (address || name) lines.push([mac, address, name].filter(Boolean).join(','));
    }
  }
  return { text: `${lines.join('\n')}\n`, problems };
}

/** dnsmasq refuses a dhcp-host whose name is not one host-name label; such nodes go unnamed there. */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function fixedAddress(net: NetworkConfig, interfaces: readonly InterfaceConfig[], mac: string): string | null {
  for (const i of interfaces) {
    if (i.mac !== mac) continue;
    for (const cidr of i.addresses) {
      const ip = cidr.split('/')[0]!;
      if (!ip.includes(':') && inSubnet(ip, net.subnet)) return ip;
    }
  }
  return null;
}
