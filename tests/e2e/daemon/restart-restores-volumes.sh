#!/bin/bash
# daemon/restart-restores-volumes.sh — SIGTERM stops the daemon cleanly (exit 0, no device
# left, state file written); a restart restores every volume (file and null backends) online
# with its data, and ext4 on one of them is still clean.
#   tests/vm/run tests/e2e/daemon/restart-restores-volumes.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 e2fsck mount umount cmp dd
require_ublk
D=$W/data
MNT=$W/mnt
mkdir -p "$D" "$MNT/v1"

check "daemon starts" start_gate
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "disk create (two drives)" ok disk create k0 d0 d1
expect "volume create at offset 48M" ok volume create v0 --disk k0 --size 32M --offset 48M --queues 2
expect "volume create v1 at the start of k0" ok volume create v1 --disk k0 --size 32M --offset 0
V0=$(dev_of v0)
V1=$(dev_of v1)
check "write data to v0" dd if=/dev/urandom of="$V0" bs=1M count=4 seek=14 oflag=direct
check "mkfs.ext4" mkfs.ext4 -q -F "$V1"
check "mount" mount "$V1" "$MNT/v1"
for i in 1 2 3; do head -c $((512 * 1024)) /dev/urandom >"$MNT/v1/f$i"; done
check "umount" umount "$MNT/v1"
expect "a null volume" ok volume create vn --disk k0 --size 8M --offset 32M --backend null
# What each volume holds, read O_DIRECT through the device (compared byte for byte after the
# restart: cmp is much cheaper than sha256sum under emulation).
dd if="$V0" of="$W/v0.before" bs=1M iflag=direct 2>/dev/null
dd if="$V1" of="$W/v1.before" bs=1M iflag=direct 2>/dev/null
check "SIGTERM stops the daemon cleanly" stop_gate
check "no device left after SIGTERM" no_ublk_devices
check "state file written" test -s "$STATE/state.json"
check "daemon restarts" start_gate
for v in v0 v1 vn; do
	check "volume $v restored and online" test "$(state_of $v)" = online
done
V0=$(dev_of v0)
V1=$(dev_of v1)
check "v0 data intact after restart" cmp "$W/v0.before" <(dd if="$V0" bs=1M iflag=direct 2>/dev/null)
check "v1 data intact after restart" cmp "$W/v1.before" <(dd if="$V1" bs=1M iflag=direct 2>/dev/null)
check "ext4 on v1 still clean" e2fsck -fn "$V1"
summary
