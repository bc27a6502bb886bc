/**
 * The node's interfaces (muster.if= on the kernel command line, the controller's `if.*` settings)
 * as systemd-networkd files (pure: interfaces in, file names and contents out). Each file is
 * named `10-muster-<label>.*` so it sorts before the image's catch-all DHCP file (80-muster-dhcp):
 * networkd applies the first .network file that matches a link.
 */
import { interfaceLabel, type InterfaceConfig } from '../shared/node-network.js';

export interface NetworkdFile {
  name: string;
  content: string;
}

/** Files this module writes, so a rewrite can remove the ones it wrote before. */
export const NETWORKD_FILE_PREFIX = '10-muster-';

interface NetworkFile {
  match: string[];
  network: string[];
  link: string[];
}

export function renderNetworkd(interfaces: readonly InterfaceConfig[]): NetworkdFile[] {
  const netdevs: NetworkdFile[] = [];
  const networks = new Map<string, NetworkFile>();
  /** The .network of a link by name: the configured one, or one made for a bond member or VLAN parent. */
  const byName = (name: string): NetworkFile => {
    let file = networks.get(name);
    if (!file) {
      file = { match: [`Name=${name}`], network: ['LinkLocalAddressing=no'], link: [] };
      networks.set(name, file);
    }
    return file;
  };
  for (const i of interfaces) {
    const label = fileLabel(interfaceLabel(i));
    const virtual = i.vlan !== undefined || i.bond !== undefined;
    // A real NIC known by its MAC is matched by it: the installed OS names NICs its own way.
    const match = i.mac && !virtual ? [`MACAddress=${i.mac}`] : [`Name=${i.name}`];
    const network: string[] = [];
    if (i.dhcp) network.push('DHCP=yes');
    for (const a of i.addresses) network.push(`Address=${a}`);
    for (const g of [i.gateway, i.gateway6]) if (g) network.push(`Gateway=${g}`);
    if (!i.dhcp && i.addresses.length === 0) network.push('LinkLocalAddressing=no');
    const file: NetworkFile = { match, network, link: i.mtu === undefined ? [] : [`MTUBytes=${i.mtu}`] };
    networks.set(i.name ?? label, file);
    if (i.bond) {
      netdevs.push({ name: `${NETWORKD_FILE_PREFIX}${label}.netdev`, content: sections([['NetDev', [`Name=${i.name}`, 'Kind=bond']], ['Bond', [`Mode=${i.bond.mode}`]]]) });
    }
    if (i.vlan) {
      netdevs.push({ name: `${NETWORKD_FILE_PREFIX}${label}.netdev`, content: sections([['NetDev', [`Name=${i.name}`, 'Kind=vlan']], ['VLAN', [`Id=${i.vlan.id}`]]]) });
    }
  }
  // Members and parents after every interface is known, so a configured one gets the line in its own file.
  for (const i of interfaces) {
    for (const member of i.bond?.members ?? []) {
      const file = byName(member);
      file.network.push(`Bond=${i.name}`);
      // An enslaved NIC takes the bond's MAC: matched by its burned-in one, it stays matched.
      file.match = file.match.map((m) => m.replace(/^MACAddress=/, 'PermanentMACAddress='));
    }
    if (i.vlan) byName(i.vlan.parent).network.push(`VLAN=${i.name}`);
  }
  const networkFiles = [...networks].map(([name, f]) => ({
    name: `${NETWORKD_FILE_PREFIX}${fileLabel(name)}.network`,
    content: sections([['Match', f.match], ['Link', f.link], ['Network', f.network]]),
  }));
  return [...netdevs, ...networkFiles];
}

/** A MAC-only interface's label has `:`; file names get `-`. */
function fileLabel(label: string): string {
  return label.replace(/:/g, '-');
}

function sections(list: Array<[string, string[]]>): string {
  return list
    .filter(([, lines]) => lines.length > 0)
    .map(([title, lines]) => `[${title}]\n${lines.join('\n')}\n`)
    .join('\n');
}
