#!/bin/bash
# Builds a bootable GPT disk image from a root directory, without loop devices or mounts:
#   partition 1  ESP (FAT, "MUSTER-ESP"): the kernel, the initramfs and syslinux, for BIOS
#                (syslinux's gptmbr.bin in the MBR boots the partition marked LegacyBIOSBootable)
#                and UEFI (EFI/BOOT/BOOTX64.EFI, syslinux.efi); both read one syslinux.cfg
#   partition 2  root (ext4, "muster-root"), filled by `mkfs.ext4 -d` from the directory
# The kernel command line is `root=LABEL=muster-root rootfstype=ext4 console=ttyS0`;
# muster's installer appends the node's own parameters (muster.controller=, muster.if=) on the disk.
#
#   boot/build-disk-image.sh --root DIR --kernel FILE --initrd FILE --out FILE.img.gz
#
# The output is the raw disk gzip'd (an installer streams it through gunzip onto the disk).
set -euo pipefail
root= kernel= initrd= out=
die() { echo "build-disk-image: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    --kernel) kernel=${2:?--kernel needs a file}; shift 2 ;;
    --initrd) initrd=${2:?--initrd needs a file}; shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
  esac
done
[ -d "$root" ] && [ -f "$kernel" ] && [ -f "$initrd" ] && [ -n "$out" ] || die "--root DIR, --kernel FILE, --initrd FILE and --out FILE are required"
for tool in sfdisk:fdisk mkfs.vfat:dosfstools mcopy:mtools syslinux:syslinux mkfs.ext4:e2fsprogs; do
  command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is missing: apt-get install ${tool##*:} (scripts/deps.sh)"
done
gptmbr=/usr/lib/syslinux/mbr/gptmbr.bin
efi=/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi
ldlinux_e64=/usr/lib/syslinux/modules/efi64/ldlinux.e64
for f in "$gptmbr" "$efi" "$ldlinux_e64"; do [ -f "$f" ] || die "$f is missing: apt-get install syslinux-common syslinux-efi"; done

work=$(mktemp -d "${TMPDIR:-/tmp}/muster-disk.XXXXXX")
trap 'rm -rf "$work"' EXIT
mib() { echo $(( ($(stat -c %s "$1") + 1048575) / 1048576 )); }

# ESP: the boot files and 16 MiB to spare. Hidden sectors = the partition's start (sector 2048),
# where syslinux's boot sector looks for itself.
esp_mib=$(( $(mib "$kernel") + $(mib "$initrd") + 16 ))
cat > "$work/syslinux.cfg" <<'EOF'
DEFAULT muster
TIMEOUT 0
PROMPT 0
LABEL muster
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL=muster-root rootfstype=ext4 console=ttyS0
EOF
mkfs.vfat -C -F 32 -h 2048 -n MUSTER-ESP "$work/esp.img" $((esp_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$kernel" ::/vmlinuz
mcopy -i "$work/esp.img" "$initrd" ::/initrd.img
mcopy -i "$work/esp.img" "$work/syslinux.cfg" ::/syslinux.cfg
mcopy -i "$work/esp.img" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$work/esp.img" "$ldlinux_e64" ::/EFI/BOOT/ldlinux.e64
mcopy -i "$work/esp.img" "$work/syslinux.cfg" ::/EFI/BOOT/syslinux.cfg
syslinux --install "$work/esp.img"

# Root: what the directory holds, a quarter more and 64 MiB for the running system.
used_mib=$(( $(du -s --block-size=1M "$root" | cut -f1) ))
root_mib=$(( used_mib + used_mib / 4 + 64 ))
mkfs.ext4 -q -F -L muster-root -d "$root" "$work/root.ext4" "${root_mib}M" >/dev/null

# GPT: 1 MiB before the first partition, 1 MiB after the last for the backup table.
disk=$work/disk.img
truncate -s $(( (1 + esp_mib + root_mib + 1) * 1048576 )) "$disk"
sfdisk --quiet "$disk" <<EOF
label: gpt
start=2048, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp, attrs=LegacyBIOSBootable
start=$(( (1 + esp_mib) * 2048 )), size=$((root_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root
EOF
dd if="$work/esp.img" of="$disk" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$disk" bs=1M seek=$((1 + esp_mib)) conv=notrunc,sparse status=none
dd if="$gptmbr" of="$disk" bs=440 count=1 conv=notrunc status=none
gzip -1 -n -c "$disk" > "$work/disk.img.gz"
mv "$work/disk.img.gz" "$out"
echo "build-disk-image: $out: ESP ${esp_mib} MiB, root ${root_mib} MiB (${used_mib} MiB used)" >&2
