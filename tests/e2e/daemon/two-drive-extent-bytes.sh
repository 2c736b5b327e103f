#!/bin/bash
# daemon/two-drive-extent-bytes.sh — a volume at a non-zero offset of a two-drive disk has the
# right size and writes exactly the right bytes of each backing file (also across the drive
# boundary), nothing outside its extent; reads come back through the device.
#   tests/vm/run tests/e2e/daemon/two-drive-extent-bytes.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl blockdev cmp dd
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "disk create (two drives)" ok disk create k0 d0 d1
# k0 = d0 [0, 64M) + d1 [64M, 128M). v0 = [48M, 80M): d0 [48M, 64M) then d1 [0, 16M).
expect "volume create at offset 48M" ok volume create v0 --disk k0 --size 32M --offset 48M --queues 2
V0=$(dev_of v0)
check "device node exists" test -b "$V0"
check "device size is 32M" test "$(blockdev --getsize64 "$V0")" = $((32 * MiB))
head -c $((2 * MiB)) /dev/urandom >"$W/pat"
# Straddle the drive boundary: volume [15M, 17M) = d0 [63M, 64M) + d1 [0, 1M).
check "write across the drive boundary" dd if="$W/pat" of="$V0" bs=1M seek=15 oflag=direct conv=notrunc
check "write at the volume start" dd if="$W/pat" of="$V0" bs=1M count=1 oflag=direct
check "d0 [63M,64M) holds the first half" cmp -n $MiB "$W/pat" "$D/d0.img" 0 $((63 * MiB))
check "d1 [0,1M) holds the second half" cmp -n $MiB "$W/pat" "$D/d1.img" $MiB 0
check "d0 [48M,49M) holds the volume's first MiB" cmp -n $MiB "$W/pat" "$D/d0.img" 0 $((48 * MiB))
check "d0 before the extent is untouched" cmp -n $((48 * MiB)) /dev/zero "$D/d0.img"
check "d1 after the extent is untouched" cmp -n $((48 * MiB)) /dev/zero "$D/d1.img" 0 $((16 * MiB))
check "read back through the device" cmp -n $((2 * MiB)) "$W/pat" "$V0" 0 $((15 * MiB))
summary
