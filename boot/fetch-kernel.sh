#!/bin/bash
# Fetches the Debian cloud kernel for lab VMs without installing it (no initramfs hooks, ~3 s):
# `apt-get download` + `dpkg-deb -x` into a cache directory, once per kernel ABI.
#   boot/fetch-kernel.sh [CACHE_DIR]      (default: .lab/kernel beside this repo's boot/)
# KERNEL_FLAVOUR=cloud-amd64 (default) picks linux-image-<flavour>.
# Prints the kernel directory: DIR/vmlinuz and DIR/lib/modules/<version>/.
# The cloud kernel is LZ4-compressed (quick to unpack under TCG) and has virtio_net as a module.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-$here/../.lab/kernel}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# Which ABI the meta package points at; with empty apt lists (fresh CI image) update them once.
flavour=${KERNEL_FLAVOUR:-cloud-amd64}
resolve() { apt-cache depends "linux-image-$flavour" 2>/dev/null | sed -n "s/^ *Depends: \(linux-image-[^ ]*-$flavour\)\$/\1/p" | head -n1; }
pkg=$(resolve)
if [ -z "$pkg" ]; then
  echo "fetch-kernel: apt lists do not know linux-image-$flavour; running apt-get update" >&2
  apt-get update -qq >&2 || { echo "fetch-kernel: apt-get update failed (run it as root)" >&2; exit 1; }
  pkg=$(resolve)
fi
[ -n "$pkg" ] || { echo "fetch-kernel: cannot resolve the kernel package (apt-cache depends linux-image-$flavour)" >&2; exit 1; }

dir=$cache/$pkg
# Concurrent callers wait for one download instead of racing.
exec 9> "$cache/.lock"
flock 9
if [ ! -f "$dir/vmlinuz" ]; then
  work=$(mktemp -d "$cache/.fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download "$pkg" >&2) || { echo "fetch-kernel: apt-get download $pkg failed" >&2; exit 1; }
  dpkg-deb -x "$work"/*.deb "$work/x"
  mkdir -p "$work/k/lib"
  mv "$work"/x/boot/vmlinuz-* "$work/k/vmlinuz"
  mv "$work/x/lib/modules" "$work/k/lib/modules"
  rm -rf "$dir"            # a leftover without vmlinuz (interrupted by hand)
  mv "$work/k" "$dir"      # a rename: a half-fetched kernel never looks complete
fi
# The plain path older callers (test/provision/netboot-qemu.test.ts) look for.
[ -f "$cache/vmlinuz" ] || { cp "$dir/vmlinuz" "$cache/.vmlinuz.tmp" && mv "$cache/.vmlinuz.tmp" "$cache/vmlinuz"; }
echo "$dir"
