#!/bin/bash
# Builds a Debian OS image from Debian's packages for both ways muster puts an OS on a node:
# mmdebstrap (--variant=apt) with systemd, udev, the packages asked for, the kernel's modules, node
# and the muster agent with its systemd units, and systemd-networkd doing DHCP on every en*/eth*
# link (the node's own interfaces from muster.if= come first: muster-network.service).
# - RAM boot (netboot): the root as a gzip'd newc cpio with /init -> systemd: the kernel unpacks it
#   into its tmpfs rootfs and runs systemd from it (no disk, no switch-root).
# - Disk install (disk): muster's initramfs (boot/build-initramfs.sh, with the FAT modules), which
#   installs, and a GPT disk image (boot/build-disk-image.sh) whose root gets an fstab.
# The kernel is Debian's linux-image-<flavour>, fetched without its hooks.
#
#   boot/build-os-image.sh --out DIR [--suite bookworm] [--packages a,b] [--kernel-flavour cloud-amd64] [--agent FILE]
#   (agent-network.js, muster-network.service's bundle, is taken from beside the agent)
#
# Writes DIR/vmlinuz, DIR/root.cpio.gz, DIR/installer.img and DIR/disk.img.gz; progress lines on
# stderr ("step: …"), mmdebstrap's own output in DIR/mmdebstrap.log. The mirror is the first
# Debian URI of apt's own sources. The caller caches: DIR is named by a hash of the inputs and
# BUILD_OS_IMAGE_VERSION.
set -euo pipefail
BUILD_OS_IMAGE_VERSION=2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out= suite=bookworm packages= flavour=cloud-amd64 agent=$repo/dist/agent.js
die() { echo "build-os-image: $*" >&2; exit 1; }
step() { echo "step: $*" >&2; }
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --suite) suite=${2:?--suite needs a name}; shift 2 ;;
    --packages) packages=${2?--packages needs a list}; shift 2 ;;
    --kernel-flavour) flavour=${2:?--kernel-flavour needs a flavour}; shift 2 ;;
    --agent) agent=${2:?--agent needs a file}; shift 2 ;;
    --version) echo "$BUILD_OS_IMAGE_VERSION"; exit 0 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
  esac
done
[ -n "$out" ] || die "--out DIR is required"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap (scripts/deps.sh)"
[ -f "$agent" ] || die "agent bundle $agent is missing: run \`node scripts/build.mjs\`"

# The mirror apt itself uses (deb822 first, then the one-line format), never a hard-coded host.
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n1 || true)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v -- '-security' | head -n1 || true)
[ -n "$mirror" ] || die "no Debian mirror in apt's sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list)"

mkdir -p "$out"
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
step "kernel linux-image-$flavour"
kdir=$(KERNEL_FLAVOUR=$flavour "$here/fetch-kernel.sh" 2>>"$out/mmdebstrap.log") || die "fetching the $flavour kernel failed (see $out/mmdebstrap.log)"
node_bin=$(readlink -f "$(command -v node)") || die "no node binary on PATH"

step "root: mmdebstrap $suite from $mirror"
include=systemd-sysv,udev,kmod${packages:+,$packages}
root=$work/root
mmdebstrap --variant=apt --include="$include" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  "$suite" "$root" "$mirror" >>"$out/mmdebstrap.log" 2>&1 || die "mmdebstrap failed: $(tail -n1 "$out/mmdebstrap.log")"

step "agent, node and units"
cp -a "$kdir/lib/modules" "$root/lib/"
chroot "$root" depmod -a "$(basename "$kdir"/lib/modules/*)"
install -m 755 "$node_bin" "$root/usr/bin/node"
for lib in $(ldd "$node_bin" | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p'); do [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }; done
install -D -m 644 "$agent" "$root/usr/lib/muster/agent.js"
install -m 644 "$(dirname "$agent")/agent-network.js" "$root/usr/lib/muster/agent-network.js"
install -m 755 "$here/systemd/muster-agent-start.sh" "$root/usr/lib/muster/agent-start.sh"
for unit in muster-agent.service muster-agent-run.service; do
  install -m 644 "$here/systemd/$unit" "$root/etc/systemd/system/$unit"
  ln -sf "/etc/systemd/system/$unit" "$root/etc/systemd/system/multi-user.target.wants/$unit"
done
install -m 644 "$here/systemd/muster-network.service" "$root/etc/systemd/system/muster-network.service"
mkdir -p "$root/etc/systemd/system/systemd-networkd.service.wants"
ln -sf /etc/systemd/system/muster-network.service "$root/etc/systemd/system/systemd-networkd.service.wants/muster-network.service"
printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' > "$root/etc/systemd/network/80-muster-dhcp.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
mkdir -p "$root/etc/systemd/system/network-online.target.wants"
ln -sf /lib/systemd/system/systemd-networkd-wait-online.service "$root/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service"
: > "$root/etc/machine-id"          # a new one per boot
echo muster-node > "$root/etc/hostname"
ln -sf /sbin/init "$root/init"      # the kernel runs /init of its initramfs: systemd

step "root.cpio.gz"
(cd "$root" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -1 -n > "$work/root.cpio.gz"
cp "$kdir/vmlinuz" "$work/vmlinuz"

step "installer initramfs"
installer=$("$here/build-initramfs.sh" --kernel-dir "$kdir" --agent "$agent" --modules "virtio_pci virtio_net virtio_blk vfat nls_cp437 nls_ascii efivarfs" --out-dir "$work/initramfs" 2>>"$out/mmdebstrap.log") \
  || die "the installer initramfs failed (see $out/mmdebstrap.log)"
cp "$installer" "$work/installer.img"

step "disk.img.gz"
rm "$root/init"
echo 'LABEL=muster-root / ext4 defaults 0 1' > "$root/etc/fstab"
"$here/build-disk-image.sh" --root "$root" --kernel "$kdir/vmlinuz" --initrd "$work/installer.img" --out "$work/disk.img.gz" 2>>"$out/mmdebstrap.log" \
  || die "the disk image failed (see $out/mmdebstrap.log)"
mv "$work/root.cpio.gz" "$work/vmlinuz" "$work/installer.img" "$work/disk.img.gz" "$out/"
step "done"
