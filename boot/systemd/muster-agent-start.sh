#!/bin/sh
# Starts the muster agent under systemd (muster-agent.service), in phase `init` — unless this boot
# already got further: a restarted agent resumes `run` instead of going back to `init`.
# /run/muster/phase is the agent's record of this boot's phase (kept from muster's initramfs).
# Settings (optional) in /etc/default/muster: MUSTER_CONTROLLER=mqtt://HOST:PORT, MUSTER_INTERVAL=S,
# MUSTER_LIVENESS=S (default: the interval).
set -eu
AGENT=${MUSTER_AGENT:-/usr/lib/muster/agent.js}
case $(cat /run/muster/phase 2>/dev/null || true) in
  init|run) set -- ;;
  *) set -- --phase init ;;
esac
[ -n "${MUSTER_CONTROLLER:-}" ] && set -- "$@" --controller "$MUSTER_CONTROLLER"
exec /usr/bin/node "$AGENT" --interval "${MUSTER_INTERVAL:-5}" --liveness "${MUSTER_LIVENESS:-${MUSTER_INTERVAL:-5}}" "$@"
