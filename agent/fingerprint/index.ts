/** The whole hardware fingerprint of the machine under `root`. */
import type { Fingerprint, LldpNeighbour } from '../../shared/protocol.js';
import { bootParams } from '../cmdline.js';
import { readCpu, readMemoryBytes } from './cpu-memory.js';
import { readDisks } from './disks.js';
import { readDmi } from './dmi.js';
import { readFirmware } from './firmware.js';
import { readIbPorts } from './infiniband.js';
import { liveAddresses, readNics } from './nics.js';
import { SysRoot } from './sysfs.js';

/** Addresses are read only from a live root (`/`): a captured tree holds none. */
export function readFingerprint(root: string): Fingerprint {
  const sys = new SysRoot(root);
  return {
    nics: readNics(sys, root === '/' ? liveAddresses() : undefined),
    dmi: readDmi(sys),
    cpu: readCpu(sys),
    memoryBytes: readMemoryBytes(sys),
    disks: readDisks(sys),
    ib: readIbPorts(sys),
    bootMac: bootParams(sys.text('proc/cmdline') ?? '').bootMac,
    firmware: readFirmware(sys),
  };
}

/** The fingerprint with each NIC's LLDP neighbour (by interface name) where one was heard. */
export function withNeighbours(fp: Fingerprint, lldp: ReadonlyMap<string, LldpNeighbour>): Fingerprint {
  return {
    ...fp,
    nics: fp.nics.map((nic) => {
      const neighbour = lldp.get(nic.name);
      return neighbour ? { ...nic, lldp: neighbour } : nic;
    }),
  };
}

/** Seconds since the machine booted, from ROOT/proc/uptime (0 when unreadable). */
export function readUptime(root: string): number {
  const first = new SysRoot(root).line('proc/uptime', 64)?.split(' ')[0];
  const seconds = Number(first);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : 0;
}
