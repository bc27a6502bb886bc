#!/bin/sh
# ipmi_sim chassis_control hook for tests: the power state and the next-boot device live in files
# beside this script, and every call is appended to actions.log there. A boot (power on from off,
# or a reset) uses the boot device up and clears it, as IPMI boot flags valid for one boot are.
# Called as: chassis.sh NODE get power|boot  /  chassis.sh NODE set power 0|1 / reset 1 / boot X
N=$1; op=$2; shift 2
D=$(dirname "$0")
echo "$op $*" >> "$D/actions.log"
case $op in
 get) for p in "$@"; do case $p in
        power) echo "power:$(cat "$D/power" 2>/dev/null || echo 0)";;
        boot) echo "boot:$(cat "$D/boot" 2>/dev/null || echo default)";;
        *) echo "Invalid parameter: $p"; exit 1;; esac; done;;
 set) while [ -n "$1" ]; do p=$1; v=$2; shift 2; case $p in
        power) was=0; [ -f "$D/power" ] && read -r was < "$D/power"
               echo "$v" > "$D/power"
               [ "$v" = 1 ] && [ "$was" = 0 ] && rm -f "$D/boot";;
        reset) rm -f "$D/boot";;
        boot) echo "$v" > "$D/boot";;
        shutdown|identify) ;;
        *) echo "Invalid parameter: $p"; exit 1;; esac; done;;
 check) exit 1;;
 *) echo "Unknown operation: $op"; exit 1;;
esac
exit 0
