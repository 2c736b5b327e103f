#!/bin/bash
# gate/drive-offline.sh — `drive set-status D offline` (caches flushed first): I/O touching the
# drive fails with ENODEV while volumes on the disk's other drive keep working, for the first
# and for the second drive of a disk (its gate slot is the drive's position); the disk and the
# volumes on the drive read offline meanwhile (the others online); online restores.
#   tests/vm/run tests/e2e/gate/drive-offline.sh
set -u
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
require blkgate blkgatectl dd
require_ublk
D=$W/data
mkdir -p "$D"

check "daemon starts" start_gate
check "a two-drive disk: va on drive a, vb on drive b" sh -c "blkgatectl --socket $SOCK drive add a $D/a.img --size 32M && blkgatectl --socket $SOCK drive add b $D/b.img --size 32M && blkgatectl --socket $SOCK disk create kab a b && blkgatectl --socket $SOCK volume create va --disk kab --size 16M && blkgatectl --socket $SOCK volume create vb --disk kab --size 16M --offset 32M"
VA=$(dev_of va)
VB=$(dev_of vb)
check "write a pattern to va" dd if=/dev/urandom of="$VA" bs=1M count=2 oflag=direct
expect "drive a offline (caches flushed first)" ok drive set-status a offline
err=$(dd_err if="$VA" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O touching an offline drive fails with ENODEV" sh -c "echo '$err' | grep -q 'No such device'"
check "I/O to the other drive still works" dd if="$VB" of=/dev/null bs=64k count=4 iflag=direct
check "va's state reads offline while its drive is" test "$(state_of va)" = offline
check "... so does the disk's" test "$(json_field "$(ctl --json disk show kab)" state)" = offline
check "vb's stays online" test "$(state_of vb)" = online
expect "drive a online" ok drive set-status a online
check "va's state online again" test "$(state_of va)" = online
check "va works again" dd if="$VA" of=/dev/null bs=64k count=4 iflag=direct
# vb lies on the disk's second drive only: its gate slot is that drive's position.
expect "drive b offline" ok drive set-status b offline
err=$(dd_err if="$VB" of=/dev/null bs=4k count=1 iflag=direct)
check "I/O to a volume on the second drive fails with ENODEV" sh -c "echo '$err' | grep -q 'No such device'"
check "while the first drive's volume still works" dd if="$VA" of=/dev/null bs=64k count=4 iflag=direct
expect "drive b online" ok drive set-status b online
check "vb works again" dd if="$VB" of=/dev/null bs=64k count=4 iflag=direct
summary
