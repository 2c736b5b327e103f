#!/bin/bash
# gate/dismount-not-supported.sh — a file system without a shutdown ioctl (minix) cannot be
# force-dismounted: not-supported, and it stays mounted.
#   tests/vm/run tests/e2e/gate/dismount-not-supported.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.minix
require_ublk
require_module minix
MNT=$W/mnt
mkdir -p "$MNT/vg"

check "daemon starts" start_gate
check "create volume vg" mkvol vg 32M
VG=$(dev_of vg)
check "mkfs.minix vg" mkfs.minix "$VG"
expect "path add (minix)" ok volume path add vg "$MNT/vg"
on_cleanup "exec 8<&-"
exec 8<"$MNT/vg"
expect "forced dismount of a file system without shutdown" not-supported volume dismount vg --force
check "still mounted after not-supported" grep -q " $MNT/vg " /proc/mounts
exec 8<&-
expect "path remove vg" ok volume path remove vg "$MNT/vg"
summary
