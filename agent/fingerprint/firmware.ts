/** How the machine booted (UEFI or BIOS) and whether Secure Boot is on, as the OS sees it. */
import type { Firmware } from '../../shared/protocol.js';
import type { SysRoot } from './sysfs.js';

/** efivarfs file of the UEFI global variable `SecureBoot`. */
export const SECURE_BOOT_VAR = 'sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e39ec3ed2bfe';

export function readFirmware(sys: SysRoot): Firmware {
  // The kernel has /sys/firmware/efi only when UEFI started it; a BIOS boot has no Secure Boot.
  if (!sys.exists('sys/firmware/efi')) return { bootMode: 'bios', secureBoot: 'disabled' };
  // efivarfs: 4 bytes of attributes, then the variable's one byte (1: on).
  const value = sys.buffer(SECURE_BOOT_VAR);
  const secureBoot = value && value.length === 5 ? (value[4] === 1 ? 'enabled' : 'disabled') : null;
  return { bootMode: 'uefi', secureBoot };
}
