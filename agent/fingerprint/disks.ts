/** Block devices from /sys/block, with model and serial from sysfs or udev's database. */
import type { Fingerprint } from '../../shared/protocol.js';
import { sanitizeText } from './sanitize.js';
import type { SysRoot } from './sysfs.js';

type DiskInfo = Fingerprint['disks'][number];

/** Devices that are not disks: loop, RAM disks, device-mapper, zram, md arrays, network block. */
const NOT_A_DISK = /^(loop|ram|zram|dm-|md|nbd)/;
const MAX_DISKS = 256;
const SECTOR_BYTES = 512;

export function readDisks(sys: SysRoot): DiskInfo[] {
  return sys
    .list('sys/block')
    .filter((name) => !NOT_A_DISK.test(name))
    .slice(0, MAX_DISKS)
    .map((name) => readDisk(sys, name));
}

function readDisk(sys: SysRoot, name: string): DiskInfo {
  const dir = `sys/block/${name}`;
  const udev = udevProperties(sys, sys.line(`${dir}/dev`, 32));
  const sectors = sys.int(`${dir}/size`);
  return {
    name: name.slice(0, 64),
    // SCSI/SATA/NVMe expose device/model; virtio-blk has none, udev may know it.
    model: sys.line(`${dir}/device/model`) ?? sanitizeText(udev.get('ID_MODEL')?.replace(/_/g, ' ') ?? null),
    // NVMe: device/serial; virtio-blk: <dev>/serial; SATA/SCSI: only udev (from VPD pages).
    serial: sys.line(`${dir}/device/serial`) ?? sys.line(`${dir}/serial`) ?? sanitizeText(udev.get('ID_SERIAL_SHORT') ?? null),
    sizeBytes: sectors !== null && sectors > 0 ? sectors * SECTOR_BYTES : 0,
  };
}

/** `E:KEY=value` lines of /run/udev/data/b<major>:<minor>, when udev ran. */
function udevProperties(sys: SysRoot, devNumbers: string | null): Map<string, string> {
  const props = new Map<string, string>();
  if (devNumbers === null || !/^\d+:\d+$/.test(devNumbers)) return props;
  for (const line of (sys.text(`run/udev/data/b${devNumbers}`) ?? '').split('\n')) {
    const m = /^E:([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) props.set(m[1]!, m[2]!);
  }
  return props;
}
