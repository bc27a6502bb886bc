/**
 * qemu's firmware for a VM that PXE-boots as a real machine does: SeaBIOS with qemu's iPXE NIC ROM
 * (BIOS), or OVMF with the firmware's own PXE (UEFI, with or without Secure Boot enforced).
 */
import { copyFileSync } from 'node:fs';

const OVMF = '/usr/share/OVMF';

/** uefi-secureboot: the SMM build of OVMF with Secure Boot on and Microsoft's keys enrolled. */
export type Firmware = 'bios' | 'uefi' | 'uefi-secureboot';

/**
 * qemu's arguments for the firmware. UEFI: the code read-only and a copy of the variables at
 * `varsFile` (each VM writes its own). The Secure Boot build needs at least 512 MiB (with less the
 * kernel resets the VM right after the EFI stub).
 */
export function firmwareArgs(firmware: Firmware, varsFile: string): string[] {
  if (firmware === 'bios') return [];
  const secure = firmware === 'uefi-secureboot';
  copyFileSync(`${OVMF}/${secure ? 'OVMF_VARS_4M.ms.fd' : 'OVMF_VARS_4M.fd'}`, varsFile);
  return [
    // The Secure Boot build guards its variables in SMM: q35 with SMM and a secure flash.
    ...(secure ? ['-machine', 'q35,smm=on', '-global', 'driver=cfi.pflash01,property=secure,value=on'] : []),
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF}/${secure ? 'OVMF_CODE_4M.secboot.fd' : 'OVMF_CODE_4M.fd'}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${varsFile}`,
    // Only IPv4 PXE: an IPv6 attempt costs its timeouts before the next entry.
    '-fw_cfg', 'name=opt/org.tianocore/IPv6PXESupport,string=n',
  ];
}

/**
 * The NIC's qemu device, first in the boot order. UEFI: no option ROM (`romfile=`), so the
 * firmware's own PXE boots (and fetches snponly.efi or shim by TFTP), as on a real machine.
 */
export function pxeNic(firmware: Firmware, mac: string, netdev: string): string {
  return `virtio-net-pci,netdev=${netdev},mac=${mac},bootindex=1${firmware === 'bios' ? '' : ',romfile='}`;
}
