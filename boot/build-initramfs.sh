#!/bin/bash
# Builds muster's netboot initramfs: busybox, node (stripped), Debian's lldpd and lldpcli (the agent
# learns each NIC's switch port through them), the installer's disk tools (sfdisk and resize2fs grow
# the installed root, efibootmgr sets UEFI's next boot) with the libraries ldd lists, the agent bundle, the
# NIC modules of a kernel (with their dependencies, in load order) and /init (boot/initramfs/init). The image is cached under .lab/initramfs/, keyed by a hash of every input,
# so a rebuild with the same inputs costs one hash.
#
#   boot/build-initramfs.sh [--kernel-dir DIR] [--agent FILE] [--modules "virtio_pci virtio_net virtio_blk"]
#                           [--compress gzip|lz4|zstd|xz] [--out-dir DIR]
#
# --kernel-dir: holds lib/modules/<version>/ (default: the cloud kernel boot/fetch-kernel.sh fetches).
# Prints the image path on stdout; its size (and whether it came from the cache) on stderr.
# Use it with netboot: muster image add lab --kernel DIR/vmlinuz --initrd IMAGE --cmdline "console=ttyS0"
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
kernel_dir=
agent=$repo/dist/agent.js
modules="virtio_pci virtio_net virtio_blk"
compress=gzip
out_dir=$repo/.lab/initramfs
die() { echo "build-initramfs: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --kernel-dir) kernel_dir=${2:?--kernel-dir needs a directory}; shift 2 ;;
    --agent) agent=${2:?--agent needs a file}; shift 2 ;;
    --modules) modules=${2?--modules needs a list}; shift 2 ;;
    --compress) compress=${2:?--compress needs gzip, lz4, zstd or xz}; shift 2 ;;
    --out-dir) out_dir=${2:?--out-dir needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument \"$1\" (see --help)" ;;
  esac
done
case $compress in
  gzip) compressor="gzip -9 -n" ;;
  lz4) compressor="lz4 -l -9 -q" ;;       # -l: the legacy frame format the kernel unpacks
  zstd) compressor="zstd -19 -q -T0" ;;
  xz) compressor="xz --check=crc32 -9 -T0" ;;
  *) die "--compress \"$compress\" must be gzip, lz4, zstd or xz" ;;
esac
[ -n "$kernel_dir" ] || kernel_dir=$("$here/fetch-kernel.sh")
[ -f "$agent" ] || die "agent bundle $agent is missing: run \`node scripts/build.mjs\` (or npm run build)"
[ -x /bin/busybox ] || die "/bin/busybox is missing: apt-get install busybox-static"
lldp_bins="/usr/sbin/lldpd /usr/sbin/lldpcli"
for b in $lldp_bins; do [ -x "$b" ] || die "$b is missing: apt-get install lldpd"; done
install_bins="/usr/sbin/sfdisk /usr/sbin/resize2fs /usr/bin/efibootmgr"
for b in $install_bins; do [ -x "$b" ] || die "$b is missing: apt-get install fdisk e2fsprogs efibootmgr"; done
node_bin=$(readlink -f "$(command -v node)") || die "no node binary on PATH"
mod_root=$(echo "$kernel_dir"/lib/modules/*/)
[ -d "$mod_root" ] || die "no lib/modules/<version>/ under $kernel_dir"

# Module name → file (names use _ where file names may use -).
declare -A mod_file
while IFS= read -r f; do
  n=${f##*/}; n=${n%%.ko*}; mod_file[${n//-/_}]=$f
done < <(find "$mod_root" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst')
mod_bytes() { case $1 in *.xz) xz -dc "$1" ;; *.zst) zstd -dcq "$1" ;; *) cat "$1" ;; esac; }
# Load order: each module after its `depends=` (from the module's own .modinfo), depth first.
declare -A seen
order=()
add_module() {
  local name=${1//-/_} dep
  [ -n "${seen[$name]:-}" ] && return 0
  seen[$name]=1
  local f=${mod_file[$name]:-}
  if [ -z "$f" ]; then
    grep -q "/$name.ko" "$mod_root/modules.builtin" 2>/dev/null && return 0   # built into the kernel
    die "kernel module $name not found under $mod_root"
  fi
  for dep in $(mod_bytes "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '); do add_module "$dep"; done
  order+=("$name")
}
for m in $modules; do add_module "$m"; done

libs=$(for b in "$node_bin" $lldp_bins $install_bins; do ldd "$b"; done | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' | sort -u)
key=$( {
  sha256sum "$0" "$here/initramfs/init" "$here/initramfs/udhcpc.script" /bin/busybox "$node_bin" $lldp_bins $install_bins "$agent" $libs
  for m in "${order[@]}"; do echo "$m"; sha256sum "${mod_file[$m]}"; done
  echo "$compress"
} | sha256sum | cut -c1-16)
image=$out_dir/muster-initramfs-$key.img
# ICU's data (31 MB, 12 MB gzipped: libxml2 needs libicuuc, lldpcli libxml2) serves only XML
# encoding conversions, which lldpcli's JSON output never makes: a stand-in holding the one symbol
# libicuuc binds at load goes in instead. Without binutils' as/ld the real library goes in.
icu_data_stand_in() {
  local sym
  sym=$(nm -D --defined-only "$1" 2>/dev/null | awk '$3 ~ /^icudt[0-9]+_dat$/ { print $3 }')
  if [ -z "$sym" ] || ! command -v as >/dev/null || ! command -v ld >/dev/null; then
    echo "build-initramfs: ICU's data goes in whole (no binutils, or no icudt*_dat in $1)" >&2
    cp -L "$1" "$2"
    return
  fi
  printf '.globl %s\n.section .rodata\n.type %s,@object\n.size %s,32\n%s: .zero 32\n' "$sym" "$sym" "$sym" "$sym" | as -o "$stage/icudata.o" -
  ld -shared -soname "$(basename "$1")" -o "$2" "$stage/icudata.o"
  rm -f "$stage/icudata.o"
}
size_of() { local b; b=$(stat -c %s "$1"); echo "$((b / 1048576)).$(((b % 1048576) * 10 / 1048576)) MB"; }
mkdir -p "$out_dir"
# Concurrent builds (test files in parallel) wait for each other instead of building twice.
exec 9> "$out_dir/.lock"
flock 9
if [ -f "$image" ]; then
  echo "build-initramfs: $image ($(size_of "$image"), $compress; cached)" >&2
  echo "$image"
  exit 0
fi

started=$(date +%s%N)
stage=$(mktemp -d "$out_dir/.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root"/{bin,dev,proc,sys,run,tmp,etc/muster,lib/modules,muster,newroot,usr/bin,usr/sbin}
ln -s bin "$root/sbin"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"; done
# The kernel opens /dev/console before /init runs; without the node early output is lost.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
if command -v strip >/dev/null; then strip --strip-all -o "$root/usr/bin/node" "$node_bin"
else echo "build-initramfs: no strip (binutils): node goes in unstripped" >&2; cp "$node_bin" "$root/usr/bin/node"; fi
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  case $lib in
    */libicudata.so.*) icu_data_stand_in "$lib" "$root$lib" ;;
    *) cp -L "$lib" "$root$lib" ;;
  esac
done
cp $lldp_bins "$root/usr/sbin/"
for b in $install_bins; do cp "$b" "$root$b"; done
# lldpd drops its privileges to _lldpd (and chroots into /run/lldpd, which it makes itself).
printf 'root:x:0:0:root:/:/bin/sh\n_lldpd:x:101:101::/run/lldpd:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\n_lldpd:x:101:\n' > "$root/etc/group"
cp "$agent" "$root/muster/agent.js"
for m in "${order[@]}"; do mod_bytes "${mod_file[$m]}" > "$root/lib/modules/$m.ko"; done
printf '%s\n' "${order[@]}" > "$root/etc/muster/modules"
install -m 755 "$here/initramfs/init" "$root/init"
install -m 755 "$here/initramfs/udhcpc.script" "$root/etc/muster/udhcpc.script"
(cd "$root" && find . | sort | /bin/busybox cpio -o -H newc 2>/dev/null) | $compressor > "$stage/image"
mv "$stage/image" "$image"   # atomic: a half-written image is never found in the cache
# Keep the cache bounded: the four newest images (other variants, older inputs) stay.
ls -t "$out_dir"/muster-initramfs-*.img | tail -n +5 | xargs -r rm -f
raw=$(du -sm "$root" | cut -f1)
echo "build-initramfs: $image ($(size_of "$image"), $compress; ${raw} MB unpacked; modules: ${order[*]}; built in $((($(date +%s%N) - started) / 1000000)) ms)" >&2
echo "$image"
