#!/bin/bash
# gate/disk-read-only.sh — `disk set-readonly` is refused while a volume of the disk is
# mounted (device-in-use); on: blockdev --getro reports 1 on every volume, reads work, writes
# and discards fail; off: --getro 0 and writes work again.
#   tests/vm/run tests/e2e/gate/disk-read-only.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 blockdev blkdiscard dd
require_ublk
D=$W/data
MNT=$W/mnt
mkdir -p "$D" "$MNT/vy"

check "daemon starts" start_gate
check "a disk with two volumes" sh -c "blkgatectl --socket $SOCK drive add d-k3 $D/k3.img --size 64M && blkgatectl --socket $SOCK disk create k3 d-k3 && blkgatectl --socket $SOCK volume create vx --disk k3 --size 16M && blkgatectl --socket $SOCK volume create vy --disk k3 --size 16M --offset 32M"
VX=$(dev_of vx)
VY=$(dev_of vy)
check "mkfs vy" mkfs.ext4 -q -F "$VY"
expect "path add vy" ok volume path add vy "$MNT/vy"
expect "read-only refused while a volume is mounted" device-in-use disk set-readonly k3 on
check "blockdev --getro vx = 0 after the refusal" test "$(blockdev --getro "$VX")" = 0
expect "path remove vy" ok volume path remove vy "$MNT/vy"
expect "disk set-readonly on" ok disk set-readonly k3 on
check "blockdev --getro vx = 1" test "$(blockdev --getro "$VX")" = 1
check "blockdev --getro vy = 1" test "$(blockdev --getro "$VY")" = 1
check "reads work on a read-only disk" dd if="$VX" of=/dev/null bs=64k count=4 iflag=direct
check_not "writes fail on a read-only disk" dd if=/dev/zero of="$VX" bs=4k count=1 oflag=direct
check_not "discards fail on a read-only disk" blkdiscard -o 0 -l $MiB "$VX"
expect "disk set-readonly off" ok disk set-readonly k3 off
check "blockdev --getro vx = 0" test "$(blockdev --getro "$VX")" = 0
check "writes work again" dd if=/dev/zero of="$VX" bs=4k count=1 oflag=direct
summary
