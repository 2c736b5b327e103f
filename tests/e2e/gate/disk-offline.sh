#!/bin/bash
# gate/disk-offline.sh — `disk offline` with a busy volume fails (failed-to-offline-disk, the
# message names the volume) and changes nothing; otherwise it dismounts and gates every volume
# offline (ENODEV), is idempotent, refuses `volume online` while the disk is offline
# (invalid-state), and `disk online` remounts the volumes at their paths.
#   tests/vm/run tests/e2e/gate/disk-offline.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl mkfs.ext4 dd
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
on_cleanup "exec 9>&-"
exec 9>"$MNT/vy/busy"
expect "disk offline with a busy volume" failed-to-offline-disk disk offline k3
msg=$(blkgatectl --socket "$SOCK" disk offline k3 2>&1)
check "the error names the busy volume" sh -c "echo \"$msg\" | grep -q \"volume 'vy'\""
check "vx still online" test "$(state_of vx)" = online
check "vy still mounted" grep -q " $MNT/vy " /proc/mounts
check "disk still online" test "$(json_field "$(ctl --json disk show k3)" state)" = online
exec 9>&-
expect "disk offline" ok disk offline k3
check "vx offline" test "$(state_of vx)" = offline
check "vy dismounted" sh -c "! grep -q ' $MNT/vy ' /proc/mounts"
err=$(dd_err if="$VX" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O to a volume of the offline disk fails with ENODEV" sh -c "echo '$err' | grep -q 'No such device'"
expect "volume online while its disk is offline" invalid-state volume online vx
expect "disk offline again (idempotent)" ok disk offline k3
expect "disk online" ok disk online k3
check "vy remounted at its path" grep -q " $MNT/vy " /proc/mounts
check "vx online again" test "$(state_of vx)" = online
summary
