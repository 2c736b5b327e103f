#!/bin/bash
# daemon/delete-refused-while-mounted.sh — `volume delete` is refused while the volume is
# mounted (device-in-use), then deletes it and its device; `disk delete` of a disk with
# volumes is device-in-use.
#   tests/vm/run tests/e2e/daemon/delete-refused-while-mounted.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 mount umount
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
V1=$(dev_of v1)
check "mkfs.ext4" mkfs.ext4 -q -F "$V1"
check "mount v1" mount "$V1" "$MNT/v1"
expect "delete a mounted volume" device-in-use volume delete v1
check "umount v1" umount "$MNT/v1"
expect "delete v1" ok volume delete v1
expect "v1 is gone" not-found volume show v1
check "v1's device is gone" test ! -e "$V1"
expect "delete disk with volumes" device-in-use disk delete k0
summary
