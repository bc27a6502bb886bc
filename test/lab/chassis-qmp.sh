#!/bin/sh
# ipmi_sim chassis_control hook that drives a qemu VM through QMP (the lab's IPMI-powered VM).
#   chassis-qmp.sh DIR QMP_SOCKET NODE get power|boot
#   chassis-qmp.sh DIR QMP_SOCKET NODE set power 0|1 / reset 1 / boot X / shutdown 1 / identify X
# The qemu process stays up across power states so its serial pty (the node's console) stays the
# same: power off = freeze (QMP stop), power on = system_reset + cont (a fresh boot). The chassis
# power state lives in DIR/power; every call is appended to DIR/actions.log.
D=$1; SOCK=$2; N=$3; op=$4; shift 4
echo "$op $*" >> "$D/actions.log"
qmp() {
  { echo '{"execute":"qmp_capabilities"}'; for c in "$@"; do echo "{\"execute\":\"$c\"}"; done; } |
    socat -t 2 - "UNIX-CONNECT:$SOCK" > /dev/null 2>&1 || { echo "QMP $* on $SOCK failed" >&2; exit 1; }
}
case $op in
  get) for p in "$@"; do case $p in
         power) echo "power:$(cat "$D/power" 2>/dev/null || echo 1)" ;;
         boot) echo "boot:$(cat "$D/boot" 2>/dev/null || echo default)" ;;
         *) echo "Invalid parameter: $p"; exit 1 ;;
       esac; done ;;
  set) while [ -n "$1" ]; do p=$1; v=$2; shift 2; case $p in
         power) if [ "$v" = 1 ]; then [ "$(cat "$D/power" 2>/dev/null || echo 1)" = 1 ] || qmp system_reset cont
                else qmp stop; fi
                echo "$v" > "$D/power" ;;
         reset) qmp system_reset cont ;;
         boot) echo "$v" > "$D/boot" ;;
         shutdown) qmp stop; echo 0 > "$D/power" ;;
         identify) ;;
         *) echo "Invalid parameter: $p"; exit 1 ;;
       esac; done ;;
  check) exit 1 ;;
  *) echo "Unknown operation: $op"; exit 1 ;;
esac
exit 0
