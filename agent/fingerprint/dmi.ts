/** SMBIOS/DMI identity from /sys/class/dmi/id. */
import type { Dmi } from '../../shared/protocol.js';
import { dmiText, dmiUuid } from './sanitize.js';
import type { SysRoot } from './sysfs.js';

export function readDmi(sys: SysRoot): Dmi {
  const field = (name: string) => dmiText(sys.buffer(`sys/class/dmi/id/${name}`));
  return {
    vendor: field('sys_vendor'),
    product: field('product_name'),
    serial: field('product_serial'),
    uuid: dmiUuid(sys.buffer('sys/class/dmi/id/product_uuid')),
    biosVersion: field('bios_version'),
    boardSerial: field('board_serial'),
  };
}
