/** Network interfaces from /sys/class/net (and /proc/net/vlan), with their addresses when live. */
import { networkInterfaces } from 'node:os';
import { basename } from 'node:path';
import type { Nic } from '../../shared/protocol.js';
import { normalizeMac } from '../../shared/wire.js';
import type { SysRoot } from './sysfs.js';

const MAX_NICS = 256;
const MAX_ADDRESSES = 64;

/** Addresses by interface name (`10.9.0.5/24`). */
export type InterfaceAddresses = ReadonlyMap<string, readonly string[]>;

/** This machine's addresses, which sysfs does not hold (the kernel keeps them in netlink). */
export function liveAddresses(): InterfaceAddresses {
  return new Map(Object.entries(networkInterfaces()).map(([name, list]) => [name, (list ?? []).map((a) => a.cidr ?? a.address)]));
}

export function readNics(sys: SysRoot, addresses: InterfaceAddresses = new Map()): Nic[] {
  return sys
    .list('sys/class/net')
    .filter((name) => name !== 'lo')
    .slice(0, MAX_NICS)
    .map((name) => readNic(sys, `sys/class/net/${name}`, name, addresses.get(name) ?? []));
}

function readNic(sys: SysRoot, dir: string, name: string, addresses: readonly string[]): Nic {
  // A NIC backed by hardware has a `device` link; bridges, bonds, veth, tun have none.
  const virtual = !sys.exists(`${dir}/device`);
  const driverLink = virtual ? null : sys.link(`${dir}/device/driver`);
  const mtu = sys.int(`${dir}/mtu`);
  const master = sys.link(`${dir}/master`);
  const bondMode = sys.line(`${dir}/bonding/mode`, 64)?.split(' ')[0];
  const vlan = vlanOf(sys.text(`proc/net/vlan/${name}`));
  return {
    name: name.slice(0, 64),
    // A bond member's own address is the bond's while it is one; the kernel keeps its burned-in one.
    mac: macOf(sys.line(`${dir}/bonding_slave/perm_hwaddr`, 64) ?? sys.line(`${dir}/address`, 64)),
    driver: driverLink ? basename(driverLink).slice(0, 64) : null,
    link: linkOf(sys.line(`${dir}/operstate`, 32)),
    speedMbps: speedOf(sys.int(`${dir}/speed`)),
    ...(mtu !== null && mtu > 0 && { mtu }),
    ...(master !== null && { master: basename(master).slice(0, 64) }),
    ...(bondMode && { bondMode: bondMode.slice(0, 32) }),
    ...(vlan && { vlan }),
    ...(addresses.length > 0 && { addresses: addresses.slice(0, MAX_ADDRESSES).map((a) => a.slice(0, 64)) }),
    virtual,
  };
}

/** /proc/net/vlan/<link>: `<link>  VID: 100 ...` and `Device: bond0`. */
function vlanOf(text: string | null): Nic['vlan'] {
  const id = text && /\bVID: (\d+)/.exec(text);
  const parent = text && /^Device: (\S+)/m.exec(text);
  return id && parent ? { id: Number(id[1]), parent: parent[1]!.slice(0, 64) } : undefined;
}

/** Ethernet MACs only (InfiniBand hardware addresses are 20 bytes); all-zero means none. */
function macOf(address: string | null): string | null {
  const mac = address === null ? null : normalizeMac(address);
  return mac === '00:00:00:00:00:00' ? null : mac;
}

function linkOf(operstate: string | null): Nic['link'] {
  if (operstate === 'up') return 'up';
  if (operstate === 'down' || operstate === 'lowerlayerdown' || operstate === 'notpresent' || operstate === 'dormant') return 'down';
  return 'unknown';
}

/** The kernel reports -1 (or refuses the read) when the speed is unknown. */
function speedOf(speed: number | null): number | null {
  return speed !== null && speed > 0 ? speed : null;
}
