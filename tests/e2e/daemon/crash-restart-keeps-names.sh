#!/bin/bash
# daemon/crash-restart-keeps-names.sh — a crash (SIGKILL) leaves dead devices behind; a
# restart clears them, gives every volume its device name back with its data, and leaves no
# stale device.
#   tests/vm/run tests/e2e/daemon/crash-restart-keeps-names.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl cmp dd
require_ublk
D=$W/data
mkdir -p "$D"
# If the script stops between the crash and the restart, a restart (then the usual stop)
# clears the dead devices.
# shellcheck disable=SC2016 # evaluated at exit
on_cleanup '[ -n "$GPID" ] || no_ublk_devices || start_gate'

check "daemon starts" start_gate
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "disk create (two drives)" ok disk create k0 d0 d1
expect "volume create at offset 48M" ok volume create v0 --disk k0 --size 32M --offset 48M --queues 2
expect "volume create v1 at the start of k0" ok volume create v1 --disk k0 --size 32M --offset 0
V0=$(dev_of v0)
V1=$(dev_of v1)
check "write data to v0" dd if=/dev/urandom of="$V0" bs=1M count=4 seek=14 oflag=direct
dd if="$V0" of="$W/v0.before" bs=1M iflag=direct 2>/dev/null
kill -KILL "$GPID"
wait "$GPID" 2>/dev/null
GPID=
check "after SIGKILL the dead device is still there" test -e "/dev/ublkc${V0#/dev/ublkb}"
check "restart after the crash" start_gate
check "v0 keeps its device name ($V0)" test "$(dev_of v0)" = "$V0"
check "v1 keeps its device name ($V1)" test "$(dev_of v1)" = "$V1"
check "v0 data intact after the crash" cmp "$W/v0.before" <(dd if="$V0" bs=1M iflag=direct 2>/dev/null)
nvol=$(ctl --json volume list | grep -o '"device":"/dev/ublkb[0-9]*"' | wc -l)
ndev=$(find /dev -maxdepth 1 -name 'ublkb*' | wc -l)
check "no stale device left: $ndev devices for $nvol volumes" test "$ndev" -eq "$nvol"
summary
