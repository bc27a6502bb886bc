/** Network interfaces from /sys/class/net. */
import { basename } from 'node:path';
import type { Nic } from '../../shared/protocol.js';
import { normalizeMac } from '../../shared/wire.js';
import type { SysRoot } from './sysfs.js';

const MAX_NICS = 256;

export function readNics(sys: SysRoot): Nic[] {
  return sys
    .list('sys/class/net')
    .filter((name) => name !== 'lo')
    .slice(0, MAX_NICS)
    .map((name) => readNic(sys, `sys/class/net/${name}`, name));
}

function readNic(sys: SysRoot, dir: string, name: string): Nic {
  // A NIC backed by hardware has a `device` link; bridges, bonds, veth, tun have none.
  const virtual = !sys.exists(`${dir}/device`);
  const driverLink = virtual ? null : sys.link(`${dir}/device/driver`);
  const mtu = sys.int(`${dir}/mtu`);
  return {
    name: name.slice(0, 64),
    mac: macOf(sys.line(`${dir}/address`, 64)),
    driver: driverLink ? basename(driverLink).slice(0, 64) : null,
    link: linkOf(sys.line(`${dir}/operstate`, 32)),
    speedMbps: speedOf(sys.int(`${dir}/speed`)),
    ...(mtu !== null && mtu > 0 && { mtu }),
    virtual,
  };
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
