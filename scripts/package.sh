#!/usr/bin/env bash
# Builds the Debian package muster_VERSION_ARCH.deb with dpkg-deb from the bundles in dist/ (run
# `node scripts/build.mjs` first; `npm run package` does both):
#   /usr/bin/muster                         the CLI (node on /usr/share/muster/bin/muster.js)
#   /usr/share/muster/{package.json,bin,dist,boot}  the bundles, the agent and boot files; the
#                                           controller finds them by walking up to package.json + boot/
#   /usr/lib/muster/node_modules            the runtime dependencies: dist/muster.mjs keeps them
#                                           external, and serialport has a native addon (hence ARCH)
#   /lib/systemd/system/muster-controller.service, /etc/muster/controller.yaml (a conffile),
#   bash completion; the maintainer scripts create the muster user and /var/lib/muster (0700).
# It depends on nodejs (>= 20.11): the bundle uses import.meta.dirname (Debian 13 has it, 12 has 18).
# Usage: scripts/package.sh [OUT_DIR]   (default dist/deb); prints the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-dist/deb}")
die() { echo "package: $*" >&2; exit 1; }
for f in dist/muster.mjs dist/agent.js dist/agent-network.js dist/dashboard/app.js; do
  [ -f "$f" ] || die "$f is missing: run \`node scripts/build.mjs\` first"
done
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (a Debian system's dpkg)"
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
case $arch in amd64) node_arch=x64 ;; arm64) node_arch=arm64 ;; armhf) node_arch=arm ;; *) die "no serialport prebuild for $arch" ;; esac
modules=$(readlink -f node_modules)
[ -d "$modules" ] || die "node_modules is missing: the runtime dependencies are copied from it"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
share=$root/usr/share/muster
lib=$root/usr/lib/muster
src=packaging/debian
install -d -m 755 "$root/DEBIAN" "$root/usr/bin" "$share/bin" "$lib" "$root/etc/muster" "$root/lib/systemd/system" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/doc/muster" "$root/usr/share/lintian/overrides"

# What the controller and agent run, and what nodes boot (boot/ holds templates and build scripts).
cp package.json "$share/"
cp bin/muster.js "$share/bin/"
cp -r dist "$share/dist"
rm -rf "$share/dist/deb"
cp -r boot "$share/boot"

# The runtime dependencies: package-lock's non-dev packages, as installed (nested ones come with their parent).
node -e '
  const lock = require("./package-lock.json");
  for (const [path, p] of Object.entries(lock.packages))
    if (path && !p.dev && !p.devOptional && !path.slice("node_modules/".length).includes("/node_modules/")) console.log(path.slice("node_modules/".length));
' | while read -r pkg; do
  [ -d "$modules/$pkg" ] || continue # an optional dependency for another platform
  mkdir -p "$lib/node_modules/$(dirname "$pkg")"
  cp -r "$modules/$pkg" "$lib/node_modules/$pkg"
done
# Only this architecture's glibc build of serialport's addon; its C++ sources are not needed at run time.
bindings=$lib/node_modules/@serialport/bindings-cpp
[ -d "$bindings/prebuilds/linux-$node_arch" ] || die "serialport has no prebuilt addon for linux-$node_arch"
find "$bindings/prebuilds" -mindepth 1 -maxdepth 1 ! -name "linux-$node_arch" -exec rm -rf {} +
rm -f "$bindings/prebuilds/linux-$node_arch/"*.musl.node
rm -rf "$bindings/src" "$bindings/binding.gyp" "$lib/node_modules/node-addon-api" # headers for building the addon
# What no module loads at run time: dotfiles, types, source maps, docs, benchmarks. Scripts (#!) stay
# executable, nothing else is.
find "$lib/node_modules" -mindepth 2 \( -name '.*' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.md' -o -name '*.html' \
  -o -type d \( -name benchmarks -o -name benchmark \) \) -prune -exec rm -rf {} +
node -e '
  const fs = require("node:fs"), path = require("node:path");
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else if (e.isFile()) fs.chmodSync(p, fs.readFileSync(p).subarray(0, 2).toString() === "#!" ? 0o755 : 0o644); } };
  walk(process.argv[1]);
' "$lib/node_modules"
ln -s ../../lib/muster/node_modules "$share/node_modules"

install -m 755 "$src/muster" "$root/usr/bin/muster"
install -m 644 "$src/muster-controller.service" "$root/lib/systemd/system/"
install -m 644 "$src/controller.yaml" "$root/etc/muster/controller.yaml"
install -m 644 "$src/copyright" "$root/usr/share/doc/muster/copyright"
install -m 644 "$src/lintian-overrides" "$root/usr/share/lintian/overrides/muster"
node bin/muster.js completion bash > "$root/usr/share/bash-completion/completions/muster"
# The maintainer as Debian's tools take it (DEBFULLNAME, DEBEMAIL), else the last commit's author.
maintainer="${DEBFULLNAME:-$(git log -1 --format=%an)} <${DEBEMAIL:-$(git log -1 --format=%ae)}>"
printf 'muster (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
  "$version" "$version" "$maintainer" "$(date -R -d "@$(git log -1 --format=%ct)")" | gzip -9n > "$root/usr/share/doc/muster/changelog.gz"

# Files as root-owned, directories 0755, nothing group/world-writable; scripts keep their x bit.
chmod -R u+rwX,go+rX,go-w "$root"

for script in postinst prerm postrm; do install -m 755 "$src/$script" "$root/DEBIAN/$script"; done
echo /etc/muster/controller.yaml > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s|@MAINTAINER@|$maintainer|" "$src/control" > "$root/DEBIAN/control"

mkdir -p "$out"
deb=$out/muster_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz -z3 --build "$root" "$deb" >/dev/null
echo "$deb"
