#!/usr/bin/env bash
# Installs the Debian packages muster's tests and lab use, when any is missing.
set -euo pipefail
PKGS=(mosquitto mosquitto-clients socat openipmi ipmitool qemu-system-x86 ipxe-qemu busybox-static chromium binutils e2fsprogs dnsmasq ipxe isc-dhcp-server kea-dhcp4-server ovmf grub-efi-amd64-signed shim-signed lldpd fence-agents faketime mmdebstrap python3-sushy fdisk dosfstools mtools syslinux syslinux-common syslinux-efi efibootmgr fai-server netcat-openbsd lintian postgresql squashfs-tools)
# Command each package provides (to check without dpkg locks).
declare -A PROBE=([mosquitto]=/usr/sbin/mosquitto [mosquitto-clients]=mosquitto_sub [socat]=socat [openipmi]=ipmi_sim [ipmitool]=ipmitool
  [qemu-system-x86]=qemu-system-x86_64 [ipxe-qemu]=/usr/lib/ipxe/qemu/efi-virtio.rom [busybox-static]=/bin/busybox [chromium]=/usr/bin/chromium [binutils]=strip [e2fsprogs]=/sbin/mke2fs
  [dnsmasq]=/usr/sbin/dnsmasq [ipxe]=/usr/lib/ipxe/snponly.efi [isc-dhcp-server]=/usr/sbin/dhcpd [kea-dhcp4-server]=/usr/sbin/kea-dhcp4 [ovmf]=/usr/share/OVMF/OVMF_CODE_4M.fd
  [grub-efi-amd64-signed]=/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed [shim-signed]=/usr/lib/shim/shimx64.efi.signed [lldpd]=/usr/sbin/lldpd [fence-agents]=/usr/sbin/fence_ipmilan
  [faketime]=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 [mmdebstrap]=/usr/bin/mmdebstrap [python3-sushy]=/usr/lib/python3/dist-packages/sushy/__init__.py
  [fdisk]=/usr/sbin/sfdisk [dosfstools]=/usr/sbin/mkfs.vfat [mtools]=mcopy [syslinux]=/usr/bin/syslinux [syslinux-common]=/usr/lib/syslinux/mbr/gptmbr.bin
  [syslinux-efi]=/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi [efibootmgr]=/usr/bin/efibootmgr [fai-server]=/usr/sbin/fai-chboot [netcat-openbsd]=nc [lintian]=lintian [postgresql]=/usr/lib/postgresql [squashfs-tools]=/usr/bin/mksquashfs)
missing=()
for p in "${PKGS[@]}"; do
  probe=${PROBE[$p]}
  if [[ $probe == /* ]]; then [ -e "$probe" ] || missing+=("$p"); else command -v "$probe" >/dev/null 2>&1 || missing+=("$p"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
line="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "muster tests need Debian packages that are missing: ${missing[*]}" >&2
  echo "install them as root:  $line" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The DHCP servers' and lldpd's packages start system-wide services; the tests run their own, inside
# network namespaces, so the packaged ones must never serve (or listen on) this machine's interfaces.
# PostgreSQL's too: the tests start a throwaway cluster of their own (test/helpers/postgres.ts).
for svc in dnsmasq isc-dhcp-server kea-dhcp4-server lldpd postgresql; do
  [[ " ${missing[*]} " == *" $svc "* ]] || continue
  if [ -d /run/systemd/system ]; then
    systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
  else
    [ -x "/etc/init.d/$svc" ] && "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null 2>&1 && update-rc.d "$svc" disable >/dev/null 2>&1 || true
    # systemd installed but not running (a container): drop the unit's boot-time link all the same.
    command -v systemctl >/dev/null 2>&1 && systemctl disable "$svc.service" >/dev/null 2>&1 || true
  fi
done
