#!/bin/bash
# recovery/sigterm-keeps-busy-mount.sh — a clean stop never leaves a dead mount: SIGTERM
# unmounts every file system it can and deletes those devices; a volume whose file system is
# still in use keeps its device, mount and open files (said in the log), and the next start
# recovers it and mounts the others at their access paths again.
#   tests/vm/run tests/e2e/recovery/sigterm-keeps-busy-mount.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source-path=SCRIPTDIR source=crash-helpers.bash
. "$(dirname "$0")/crash-helpers.bash"
require mkfs.ext4 cmp
M0=$W/m0
M1=$W/m1
mkdir -p "$M0" "$M1"
HPID=

gate_with_v0 64M --size 16M --offset 0
expect "volume create v1" ok volume create v1 --disk k0 --size 16M --offset 32M
V1=$(dev_of v1)
check "mkfs v0" mkfs.ext4 -q -F "$V0"
check "mkfs v1" mkfs.ext4 -q -F "$V1"
expect "v0 at its access path" ok volume path add v0 "$M0"
expect "v1 at its access path" ok volume path add v1 "$M1"
head -c $((1 << 20)) /dev/urandom >"$W/f"
cp "$W/f" "$M0/f"
cp "$W/f" "$M1/g"
sync
# A process keeps a file of v0 open: v0 is in use, v1 is not.
# shellcheck disable=SC2217 # the open descriptor is the point
sleep 1000 <"$M0/f" &
HPID=$!

check "SIGTERM: the daemon exits 0" stop_gate
check "the log says v0 stays mounted and keeps its device" \
	grep -q "volume 'v0' stays mounted .*: its device is kept for the next daemon to recover" "$W/gate.log"
check "v0's device is still there" test -b "$V0"
check "v0 is still mounted" grep -q " $M0 " /proc/mounts
check "v1 was unmounted" sh -c "! grep -q ' $M1 ' /proc/mounts"
check "v1's device was deleted" test ! -e "$V1"

check "the next start" start_gate
check "v0 is recovered, same device" test "$(dev_of v0)" = "$V0"
check "the log says so" grep -q "volume v0: recovered $V0 in" "$W/gate.log"
check "v0 is mounted once, as before" test "$(grep -c " $M0 " /proc/mounts)" = 1
check "v1 is mounted at its access path again" grep -q " $M1 " /proc/mounts
echo 3 >/proc/sys/vm/drop_caches
check "v0's file reads back through the recovered device" cmp "$W/f" "$M0/f"
check "v1's file too" cmp "$W/f" "$M1/g"
kill "$HPID"
wait "$HPID" 2>/dev/null
HPID=
check "SIGTERM with nothing in use" stop_gate
check "both unmounted" sh -c "! grep -q ' $W/m' /proc/mounts"
check "no device left" no_ublk_devices
summary
