#!/bin/bash
# Builds what an FAI server serves to install a machine, with FAI's own fai-make-nfsroot, from
# Debian's packages, and caches it by its inputs:
# - tftp/: FAI's TFTP root as fai-make-nfsroot sets it up (vmlinuz-*, initrd.img-* made by dracut
#   with livenet, pxelinux.0 = lpxelinux.0, ldlinux.c32); fai-chboot writes pxelinux.cfg/ beside them
# - squashfs.img: the nfsroot as a squashfs, for dracut's root=live:http://… (no NFS server needed)
# - base/DEBIAN.tar.zst: the installed system's base file (FAI's basefiles/CLASS.tar.zst):
#   systemd, the kernel and grub-pc, so an install fetches no packages
#
#   boot/build-fai-nfsroot.sh [--cache DIR] [--suite bookworm] [--kernel-flavour cloud-amd64]
#
# Prints the cache entry's directory on stdout; progress ("step: …") on stderr, fai-make-nfsroot's
# and mmdebstrap's output in build.log there. The nfsroot's base comes from mmdebstrap
# (fai-make-nfsroot -B) and its packages from the mirror of apt's own sources, as the OS images'
# (build-os-image.sh). The key is a hash of this script, the suite, the flavour and the mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=/var/cache/muster-test/fai suite=bookworm flavour=cloud-amd64
die() { echo "build-fai-nfsroot: $*" >&2; exit 1; }
step() { echo "step: $*" >&2; }
while [ $# -gt 0 ]; do
  case $1 in
    --cache) cache=${2:?--cache needs a directory}; shift 2 ;;
    --suite) suite=${2:?--suite needs a name}; shift 2 ;;
    --kernel-flavour) flavour=${2:?--kernel-flavour needs a flavour}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "needs root (fai-make-nfsroot chroots and mounts)"
for tool in fai-make-nfsroot mmdebstrap mksquashfs zstd; do
  command -v $tool >/dev/null || die "$tool is missing: apt-get install fai-server mmdebstrap squashfs-tools zstd"
done

# The mirror apt itself uses (deb822 first, then the one-line format), never a hard-coded host.
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n1 || true)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -v -- '-security' | head -n1 || true)
[ -n "$mirror" ] || die "no Debian mirror in apt's sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list)"

key=$({ sha256sum "$0" | cut -c1-64; echo "$suite $flavour $mirror"; } | sha256sum | cut -c1-16)
out=$cache/$key
if [ -f "$out/done" ]; then
  echo "build-fai-nfsroot: $out (cached)" >&2
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
exec 9> "$cache/.lock"
flock 9
[ -f "$out/done" ] && { echo "$out"; exit 0; }
started=$(date +%s)
rm -rf "$out.building"
work=$out.building
mkdir -p "$work/etc/apt" "$work/tftp" "$work/base"
log=$work/build.log
# Only the nfsroot tree's mounts are undone on failure; the half-built entry stays for a look.
trap 'for m in proc sys dev/pts var/lib/dpkg var/cache; do umount "$work/nfsroot/$m" 2>/dev/null || true; done' EXIT

step "fai configuration: nfsroot from $mirror ($suite), kernel linux-image-$flavour"
cat > "$work/etc/nfsroot.conf" <<EOF
FAI_DEBOOTSTRAP="$suite $mirror"
NFSROOT=$work/nfsroot
TFTPROOT=$work/tftp
NFSROOT_HOOKS=
FAI_DEBOOTSTRAP_OPTS=
FAI_CONFIGDIR=/srv/fai/config
EOF
printf 'LOGUSER=\n' > "$work/etc/fai.conf"
printf 'deb %s %s main\n' "$mirror" "$suite" > "$work/etc/apt/sources.list"
# FAI's own list, cut to what an install here needs: dracut with livenet (root=live:http://…),
# nc for sendmon, the partitioning and file system tools, pxelinux for the TFTP root.
cat > "$work/etc/NFSROOT" <<EOF
PACKAGES install-norec
fai-nfsroot fai-setup-storage
dracut live-boot- initramfs-tools-
dracut-config-generic dracut-network dracut-live dracut-squash
sysvinit-core systemd-sysv-
linux-image-$flavour
netcat-traditional curl lftp
pxelinux syslinux-common
procps psmisc less
e2fsprogs dosfstools parted fdisk
xz-utils zstd gpg
EOF

step "nfsroot base: mmdebstrap --variant=minbase $suite"
mmdebstrap --variant=minbase "$suite" "$work/nfsroot-base.tar.zst" "$mirror" >>"$log" 2>&1 || die "mmdebstrap (nfsroot base) failed: $(tail -n1 "$log")"

step "nfsroot: fai-make-nfsroot"
mkdir -p /var/log/fai
fai-make-nfsroot -v -C "$work/etc" -B "$work/nfsroot-base.tar.zst" >>"$log" 2>&1 || die "fai-make-nfsroot failed: $(tail -n3 "$log" | tr '\n' ' ')"
ls "$work/tftp"/vmlinuz-* "$work/tftp"/initrd.img-* "$work/tftp/pxelinux.0" >/dev/null || die "fai-make-nfsroot left no kernel, initrd or pxelinux.0 in $work/tftp"
# An installed system gets no sources from the nfsroot (it has no network beyond the lab's):
# its packages come with its base file.
: > "$work/nfsroot/etc/apt/sources.list"
rm -f "$work/nfsroot/var/tmp/base.tar.zst" "$work/nfsroot/var/tmp/base.tar.xz"

step "squashfs.img"
mksquashfs "$work/nfsroot" "$work/squashfs.img" -comp zstd -noappend >>"$log" 2>&1 || die "mksquashfs failed: $(tail -n1 "$log")"
rm -rf "$work/nfsroot" "$work/nfsroot-base.tar.zst"

step "base file: mmdebstrap $suite with systemd, linux-image-$flavour, grub-pc"
mmdebstrap --variant=apt --include="systemd-sysv,udev,kmod,ifupdown,linux-image-$flavour,grub-pc,initramfs-tools" \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  --customize-hook='rm -f "$1/etc/apt/sources.list"; : > "$1/etc/machine-id"' \
  "$suite" "$work/base/DEBIAN.tar.zst" "$mirror" >>"$log" 2>&1 || die "mmdebstrap (base file) failed: $(tail -n1 "$log")"

echo "$(( $(date +%s) - started ))" > "$work/build-seconds"
touch "$work/done"
mv "$work" "$out"
echo "build-fai-nfsroot: $out built in $(cat "$out/build-seconds") s" >&2
echo "$out"
