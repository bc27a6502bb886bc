#!/bin/sh
# A tiny "nodeset" behind muster's `command` build system: the protocol in docs/build-systems.md,
# with state in a directory instead of a real provisioning tool. Copy it and replace the bodies
# of prepare/release with calls to xCAT (`nodeset NODE osimage=IMAGE`), Warewulf or Cobbler.
#
#   build-command-example.sh images | configure NODE | prepare NODE | status NODE | release NODE
#
# stdin: JSON ({"node": "...", "config": {...} | null}); stdout: JSON; exit 0 on success.
# On failure: exit non-zero, stdout {"error":{"code":"...","message":"..."}}, a line on stderr.
#
# State directory: $MUSTER_NODESET_DIR (default /var/lib/muster-nodeset)
#   images/<name>             one entry per image this tool can install
#   nodes/<node>/config.json  the node's config as muster sent it
#   nodes/<node>/state        idle | prepared | building | done | failed
#   nodes/<node>/since        milliseconds since the epoch when the state was entered
set -eu

STATE_DIR=${MUSTER_NODESET_DIR:-/var/lib/muster-nodeset}
cmd=${1:-}
node=${2:-}

fail() { # CODE MESSAGE
  printf '{"error":{"code":"%s","message":"%s"}}\n' "$1" "$2"
  echo "nodeset: ${node:+$node: }$2" >&2
  exit 1
}

# Replace a file in one step, so a concurrent reader never sees half of it.
write_file() { # PATH CONTENT
  printf '%s\n' "$2" >"$1.tmp.$$"
  mv -f "$1.tmp.$$" "$1"
}

set_state() { # STATE
  write_file "$dir/since" "$(date +%s%3N)"
  write_file "$dir/state" "$1"
}

if [ "$cmd" != images ]; then
  case $node in
    '' | .* | *[!A-Za-z0-9_.-]*) fail bad-config "node name is not valid (letters, digits, _ . - only)" ;;
  esac
  dir=$STATE_DIR/nodes/$node
fi
input=$(cat)

case $cmd in
  images)
    printf '{"images":['
    sep=
    for f in "$STATE_DIR"/images/*; do
      [ -e "$f" ] || continue
      printf '%s{"name":"%s"}' "$sep" "${f##*/}"
      sep=,
    done
    printf ']}\n'
    ;;
  configure)
    # muster sends compact JSON and image ids are [A-Za-z0-9_.-]: sed is enough here.
    image=$(printf '%s' "$input" | sed -n 's/.*"image":"\([A-Za-z0-9_.-]*\)".*/\1/p')
    [ -n "$image" ] || fail bad-config "no image in the config"
    [ -e "$STATE_DIR/images/$image" ] || fail unknown-image "image $image is not in $STATE_DIR/images"
    mkdir -p "$dir"
    write_file "$dir/config.json" "$input"
    [ -f "$dir/state" ] || set_state idle
    echo '{}'
    ;;
  prepare)
    [ -f "$dir/config.json" ] || fail unknown-node "not configured (configure it first)"
    set_state prepared
    echo '{}'
    ;;
  status)
    [ -f "$dir/config.json" ] || fail unknown-node "not configured (configure it first)"
    printf '{"state":"%s","since":%s}\n' "$(cat "$dir/state")" "$(cat "$dir/since")"
    ;;
  release)
    [ -f "$dir/config.json" ] || fail unknown-node "not configured (configure it first)"
    case $(cat "$dir/state") in
      building) set_state done ;;
      done | failed) ;;
      *) set_state idle ;;
    esac
    echo '{}'
    ;;
  *)
    fail bad-config "unknown subcommand $cmd (images, configure, prepare, status, release)"
    ;;
esac
