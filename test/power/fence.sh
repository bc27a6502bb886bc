#!/bin/sh
# Test fence script for the command: driver. Called as `fence.sh ACTION NODE`; appends
# "ACTION NODE" to $FENCE_DIR/actions.log and keeps each node's power in $FENCE_DIR/NODE.
# A node named fail-* fails every action; hang-* never answers.
D=${FENCE_DIR:?FENCE_DIR must be set}
echo "$1 $2" >> "$D/actions.log"
case $2 in
  fail-*) echo "BMC for $2 unreachable" >&2; exit 3;;
  hang-*) sleep 30; exit 0;;
esac
case $1 in
  status) cat "$D/$2" 2>/dev/null || echo off;;
  on|off) echo "$1" > "$D/$2";;
  reset|cycle) echo on > "$D/$2";;
  *) echo "unknown action $1" >&2; exit 2;;
esac
