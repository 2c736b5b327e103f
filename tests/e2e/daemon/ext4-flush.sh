#!/bin/bash
# daemon/ext4-flush.sh — ext4 on a volume: files written, fsync reaches the daemon as FLUSH,
# e2fsck -fn is clean after umount, the checksums match after a remount.
#   tests/vm/run tests/e2e/daemon/ext4-flush.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 e2fsck mount umount sha256sum dd
require_ublk
D=$W/data
MNT=$W/mnt
mkdir -p "$D" "$MNT/v1"

check "daemon starts" start_gate
expect "drive add" ok drive add d0 "$D/d0.img" --size 64M
expect "drive add, two" ok drive add d1 "$D/d1.img" --size 64M
expect "disk create (two drives)" ok disk create k0 d0 d1
expect "volume create v1 at the start of k0" ok volume create v1 --disk k0 --size 32M --offset 0
V1=$(dev_of v1)
check "mkfs.ext4" mkfs.ext4 -q -F "$V1"
check "mount" mount "$V1" "$MNT/v1"
flush0=$(json_field "$(ctl --json volume show v1)" flushes)
for i in 1 2 3; do head -c $((512 * 1024)) /dev/urandom >"$MNT/v1/f$i"; done
check "fsync a file" dd if=/dev/urandom of="$MNT/v1/synced" bs=64k count=4 conv=fsync
flush1=$(json_field "$(ctl --json volume show v1)" flushes)
check "fsync reached the daemon as FLUSH ($flush0 -> $flush1)" test "$flush1" -gt "$flush0"
(cd "$MNT/v1" && sha256sum f1 f2 f3 synced) >"$W/sums"
check "umount" umount "$MNT/v1"
check "e2fsck -fn is clean" e2fsck -fn "$V1"
check "remount" mount "$V1" "$MNT/v1"
check "checksums match after remount" sh -c "cd $MNT/v1 && sha256sum -c $W/sums"
check "umount again" umount "$MNT/v1"
summary
